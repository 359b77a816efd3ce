/**
 * Audio machinery of the fake server: PCM16 base64 codec, level metering, a rolling input buffer
 * and a deterministic synthesized voice.
 *
 * @internal
 */

/** Output/input sample rate of the fake server (PCM16 mono). */
export const SAMPLE_RATE = 24_000

/** Samples in one millisecond at 24 kHz. */
export const SAMPLES_PER_MS = SAMPLE_RATE / 1000

/** Converts a sample count to whole milliseconds (floored). */
export const samplesToMs = (samples: number): number => Math.floor(samples / SAMPLES_PER_MS)

/** Converts milliseconds to a sample count. */
export const msToSamples = (ms: number): number => Math.round(ms * SAMPLES_PER_MS)

/** Encodes PCM16 samples as base64 little-endian bytes without copying them. */
export const encodePcm16 = (samples: Int16Array): string =>
  Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString("base64")

/**
 * Decodes base64 PCM16 (little-endian) into samples. An odd trailing byte is returned separately
 * so that the caller can prepend it to the next chunk.
 */
export const decodePcm16 = (base64: string, carry?: number): { samples: Int16Array; carry: number | undefined } => {
  let bytes: Buffer = Buffer.from(base64, "base64")
  if (carry !== undefined) bytes = Buffer.concat([Buffer.from([carry]), bytes])
  const even = bytes.length & ~1
  const samples = new Int16Array(even / 2)
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2)
  return { samples, carry: even < bytes.length ? bytes[even] : undefined }
}

/**
 * RMS level of samples `[start, end)` in dBFS (0 dBFS = full-scale square wave; silence = -Infinity).
 */
export const rmsDbfs = (samples: Int16Array, start = 0, end = samples.length): number => {
  if (end <= start) return -Infinity
  let sum = 0
  for (let i = start; i < end; i++) {
    const v = samples[i]! / 32768
    sum += v * v
  }
  const rms = Math.sqrt(sum / (end - start))
  return rms === 0 ? -Infinity : 20 * Math.log10(rms)
}

/**
 * The input audio buffer: chunks addressed by absolute sample position (samples since the
 * connection opened), so that VAD times and buffer slices share one clock.
 */
export class PcmBuffer {
  private chunks: Array<{ start: number; samples: Int16Array }> = []
  /** Absolute position of the first buffered sample. */
  start = 0
  /** Absolute position after the last buffered sample (= total samples ever appended). */
  end = 0

  append(samples: Int16Array): void {
    if (samples.length === 0) return
    this.chunks.push({ start: this.end, samples })
    this.end += samples.length
  }

  /** Buffered length in samples. */
  get length(): number {
    return this.end - this.start
  }

  /** Drops everything before absolute position `pos`. */
  dropBefore(pos: number): void {
    const to = Math.min(Math.max(pos, this.start), this.end)
    while (this.chunks.length > 0) {
      const c = this.chunks[0]!
      if (c.start + c.samples.length <= to) this.chunks.shift()
      else break
    }
    this.start = to
  }

  /** Drops everything. */
  clear(): void {
    this.chunks = []
    this.start = this.end
  }

  /** Copies the absolute range `[from, to)` (clamped to what is buffered). */
  slice(from: number, to: number): Int16Array {
    const a = Math.max(from, this.start)
    const b = Math.min(to, this.end)
    const out = new Int16Array(Math.max(0, b - a))
    for (const c of this.chunks) {
      const cEnd = c.start + c.samples.length
      if (cEnd <= a || c.start >= b) continue
      const s = Math.max(a, c.start)
      const e = Math.min(b, cEnd)
      out.set(c.samples.subarray(s - c.start, e - c.start), s - a)
    }
    return out
  }
}

const TWO_PI = 2 * Math.PI
// Pitch contour: f0(t) = F0 + DEV * sin(2π·RATE·t); its phase integral has a closed form, so any
// sample can be computed independently of the others (chunks need no shared state).
const F0 = 140
const DEV = 28
const RATE = 0.6
// Harmonic amplitudes shaped by two rough formants (around 500 Hz and 1500 Hz).
const HARMONICS: ReadonlyArray<number> = Array.from({ length: 16 }, (_, i) => {
  const f = (i + 1) * F0
  const formant = (fc: number, bw: number) => 1 / (1 + ((f - fc) / bw) ** 2)
  return (0.6 / (i + 1)) * (0.25 + formant(500, 220) + 0.6 * formant(1500, 300))
})
const HARMONIC_SUM = HARMONICS.reduce((a, b) => a + b, 0)
const SYLLABLE_HZ = 4.2
// One cycle of the harmonic waveform, sampled once: a sample then costs one table lookup.
const TABLE_SIZE = 4096
const TABLE = Float64Array.from({ length: TABLE_SIZE + 1 }, (_, j) => {
  let v = 0
  for (let k = 0; k < HARMONICS.length; k++) v += HARMONICS[k]! * Math.sin((TWO_PI * (k + 1) * j) / TABLE_SIZE)
  return v / HARMONIC_SUM
})
// The envelope is evaluated every ENVELOPE_STEP samples (2 ms) and held in between.
const ENVELOPE_STEP = 48

const envelope = (n: number): number => {
  const syllable = ((n - (n % ENVELOPE_STEP)) / SAMPLE_RATE) * SYLLABLE_HZ
  const index = Math.floor(syllable)
  return index % 6 === 5 ? 0 : Math.sqrt(Math.sin(Math.PI * (syllable - index)))
}

/**
 * One sample of the synthesized voice at absolute sample index `n`, in [-1, 1]: a harmonic
 * (glottal-pulse-like) tone shaped by two rough formants, with a slow pitch contour, a syllable-rate
 * amplitude envelope and a short pause after every fifth syllable. Deterministic: the same `n`
 * always gives the same value, so chunks can be generated independently.
 */
export const synthSample = (n: number): number => {
  const t = n / SAMPLE_RATE
  const phase = F0 * t - (DEV / (TWO_PI * RATE)) * Math.cos(TWO_PI * RATE * t)
  const x = (phase - Math.floor(phase)) * TABLE_SIZE
  const i = Math.floor(x)
  const v = TABLE[i]! + (TABLE[i + 1]! - TABLE[i]!) * (x - i)
  return 0.45 * envelope(n) * v
}

/** `count` samples of the synthesized voice starting at absolute sample `from`, as PCM16. */
export const synthesize = (from: number, count: number): Int16Array => {
  const out = new Int16Array(count)
  for (let i = 0; i < count; i++) out[i] = Math.round(synthSample(from + i) * 32767)
  return out
}

const CACHE_LIMIT = SAMPLE_RATE * 300
let cache = new Int16Array(0)

/**
 * The first `count` samples of the synthesized voice, memoized (up to 5 minutes) so that repeated
 * replies cost a copy-free view. The returned array must not be modified.
 */
export const voice = (count: number): Int16Array => {
  if (count > CACHE_LIMIT) return synthesize(0, count)
  if (count > cache.length) {
    const grown = new Int16Array(Math.min(CACHE_LIMIT, Math.max(count, cache.length * 2)))
    grown.set(cache)
    grown.set(synthesize(cache.length, grown.length - cache.length), cache.length)
    cache = grown
  }
  return cache.subarray(0, count)
}
