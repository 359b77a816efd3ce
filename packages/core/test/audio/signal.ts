// Signal helpers shared by the audio tests: test tones, concatenation, RMS, SNR and one DFT bin.

/** A sine of `freq` Hz at `rate`, `length` samples, as PCM16. */
export const sine = (freq: number, rate: number, length: number, amplitude = 0.5): Int16Array => {
  const out = new Int16Array(length)
  for (let i = 0; i < length; i++) out[i] = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * freq * i) / rate))
  return out
}

/** Joins PCM blocks. */
export const concat = (parts: ReadonlyArray<Int16Array>): Int16Array => {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** RMS of `xs` over [from, to). */
export const rms = (xs: Int16Array, from: number, to: number): number => {
  let sum = 0
  for (let i = from; i < to; i++) sum += xs[i]! * xs[i]!
  return Math.sqrt(sum / (to - from))
}

/** SNR (dB) of `actual` against `ideal` over [from, to). */
export const snrDb = (actual: Int16Array, ideal: Int16Array, from: number, to: number): number => {
  let signal = 0
  let noise = 0
  for (let i = from; i < to; i++) {
    signal += ideal[i]! * ideal[i]!
    noise += (actual[i]! - ideal[i]!) ** 2
  }
  return 10 * Math.log10(signal / Math.max(noise, 1e-9))
}

/** Magnitude of the DFT bin at `freq` (Hz), normalised to a sine's amplitude. */
export const binAmplitude = (xs: Int16Array, rate: number, freq: number, from: number, to: number): number => {
  let re = 0
  let im = 0
  for (let i = from; i < to; i++) {
    re += xs[i]! * Math.cos((2 * Math.PI * freq * i) / rate)
    im += xs[i]! * Math.sin((2 * Math.PI * freq * i) / rate)
  }
  return (2 * Math.hypot(re, im)) / (to - from)
}
