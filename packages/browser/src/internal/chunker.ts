/**
 * Frame chunking of the microphone: the capture worklet's 128-sample render quanta, mixed down to
 * mono, become PCM16 frames of a fixed length. Self-contained (no imports, no outer names): the
 * class's source is also the worklet's (see worklets.ts).
 *
 * @since 0.2.0
 */

/**
 * The frames in a duration at a sample rate, rounded (the microphone's chunk, the speaker's jitter lead).
 *
 * @internal
 */
export const frameSamples = (sampleRate: number, frameMs: number): number => Math.round((sampleRate * frameMs) / 1000)

/**
 * Cuts mono PCM16 frames of `size` samples out of the render quanta it is given.
 *
 * @internal
 */
export class FrameChunker {
  readonly size: number
  private buffer: Int16Array
  private filled = 0
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`frame size must be a positive integer, got ${size}`)
    this.size = size
    this.buffer = new Int16Array(size)
  }
  /** Samples held for the next frame. */
  get pending(): number {
    return this.filled
  }
  /**
   * Mixes the channels of one block down to mono (their mean), converts to PCM16 (clamped) and
   * returns the frames completed by it, each a fresh array (transferable).
   */
  push(channels: ReadonlyArray<Float32Array>): Array<Int16Array> {
    const out: Array<Int16Array> = []
    if (channels.length === 0) return out
    const length = channels[0]!.length
    const count = channels.length
    for (let i = 0; i < length; i++) {
      let sum = 0
      for (let c = 0; c < count; c++) sum += channels[c]![i] ?? 0
      const v = Math.round((sum / count) * 32768)
      this.buffer[this.filled++] = v > 32767 ? 32767 : v < -32768 ? -32768 : v
      if (this.filled === this.size) {
        out.push(this.buffer)
        this.buffer = new Int16Array(this.size)
        this.filled = 0
      }
    }
    return out
  }
}
