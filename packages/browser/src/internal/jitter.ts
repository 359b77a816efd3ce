/**
 * The speaker's jitter buffer: queued PCM16 chunks rendered into the playback worklet's output,
 * holding playback until a small lead is buffered, counting the frames actually played.
 * Self-contained (no imports, no outer names): the class's source is also the worklet's.
 *
 * @since 0.2.0
 */

/**
 * Milliseconds of audio in a number of frames at a sample rate (rounded to the nearest ms).
 *
 * @internal
 */
export const framesToMs = (frames: number, sampleRate: number): number => Math.round((frames * 1000) / sampleRate)

/**
 * A FIFO of PCM chunks with a start threshold. `render` fills an output block: while priming (less
 * than `startFrames` buffered and the stream not ended) it outputs silence; once playing it drains
 * the queue, and an underrun (the queue empty before the stream ended) goes back to priming.
 * `played` counts the frames taken from the queue since the last `reset`/`clear`.
 *
 * @internal
 */
export class JitterBuffer {
  readonly startFrames: number
  private chunks: Array<Float32Array> = []
  /** Read position inside `chunks[0]`. */
  private offset = 0
  buffered = 0
  played = 0
  underruns = 0
  playing = false
  ended = false
  /** RMS of the samples played in the last rendered block (0 when none), for the level meter. */
  lastRms = 0
  constructor(startFrames: number) {
    this.startFrames = startFrames
  }
  /** Queues PCM16 samples (mono). A push after `end` starts a new stream. */
  push(pcm: Int16Array): void {
    if (pcm.length === 0) return
    const f = new Float32Array(pcm.length)
    for (let i = 0; i < pcm.length; i++) f[i] = pcm[i]! / 32768
    this.chunks.push(f)
    this.buffered += f.length
    this.ended = false
  }
  /** No more audio for this stream: what is queued plays out without waiting for the threshold. */
  end(): void {
    this.ended = true
  }
  /** Nothing queued and nothing more to come. */
  get drained(): boolean {
    return this.ended && this.buffered === 0
  }
  /** Drops what is queued at once; returns the frames played, then starts counting from zero. */
  clear(): number {
    const played = this.played
    this.chunks = []
    this.offset = 0
    this.buffered = 0
    this.playing = false
    this.ended = true
    this.played = 0
    return played
  }
  /** Starts counting a new stream from zero (the queue is kept). */
  reset(): void {
    this.played = 0
  }
  /** Fills `out` (silence where there is nothing to play); returns the frames taken from the queue. */
  render(out: Float32Array): number {
    if (!this.playing && (this.buffered >= this.startFrames || (this.ended && this.buffered > 0))) this.playing = true
    let written = 0
    let squares = 0
    if (this.playing) {
      while (written < out.length && this.chunks.length > 0) {
        const chunk = this.chunks[0]!
        const n = Math.min(out.length - written, chunk.length - this.offset)
        for (let i = 0; i < n; i++) {
          const v = chunk[this.offset + i]!
          out[written + i] = v
          squares += v * v
        }
        written += n
        this.offset += n
        if (this.offset === chunk.length) {
          this.chunks.shift()
          this.offset = 0
        }
      }
      this.buffered -= written
      this.played += written
      if (this.buffered === 0) {
        if (!this.ended && written < out.length) this.underruns++
        this.playing = false
      }
    }
    out.fill(0, written)
    this.lastRms = written > 0 ? Math.sqrt(squares / written) : 0
    return written
  }
}
