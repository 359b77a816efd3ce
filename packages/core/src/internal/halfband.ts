/** A streaming 2:1 decimator for Int16 mono PCM: a linear-phase half-band FIR low-pass, filtered and decimated in one pass. */

/**
 * Non-zero taps on each side of the centre (at odd offsets 1, 3, …, 2·SIDE_TAPS − 1). The filter loop
 * in `make` is unrolled for exactly this many: change both together.
 */
const SIDE_TAPS = 20

/** Kaiser window shape parameter. */
const BETA = 10

/**
 * Offset of the centre tap from either end: the filter has `2 * CENTRE + 1` taps (79) and a group
 * delay of `CENTRE` input samples, which the decimator compensates (output `k` is centred on input `2k`).
 */
export const CENTRE = 2 * SIDE_TAPS - 1

/** Zeroth-order modified Bessel function of the first kind (for the Kaiser window). */
const bessel0 = (x: number): number => {
  let sum = 1
  let term = 1
  for (let k = 1; k < 40; k++) {
    term *= (x / (2 * k)) * (x / (2 * k))
    sum += term
  }
  return sum
}

/**
 * The odd-offset taps `g[m]` (offset `2m − 1`, m = 1…SIDE_TAPS) of a Kaiser-windowed ideal half-band
 * low-pass (cut-off at a quarter of the input rate); the centre tap is exactly 1/2 and every other
 * even-offset tap is 0. The odd taps are scaled to sum to 1/4 per side, so the DC gain is exactly 1.
 * Measured response at 48 kHz in: within 1e-4 dB up to 10 kHz, at least 98 dB down from 14 kHz.
 */
export const sideTaps: Float64Array = (() => {
  const taps = new Float64Array(SIDE_TAPS)
  const norm = bessel0(BETA)
  let sum = 0
  for (let m = 1; m <= SIDE_TAPS; m++) {
    const n = 2 * m - 1
    const r = n / (CENTRE + 1)
    const window = bessel0(BETA * Math.sqrt(1 - r * r)) / norm
    const value = (Math.sin((Math.PI * n) / 2) / (Math.PI * n)) * window
    taps[m - 1] = value
    sum += 2 * value
  }
  for (let m = 0; m < SIDE_TAPS; m++) taps[m] = (taps[m]! * 0.5) / sum
  return taps
})()

/** A stateful 2:1 decimator (the `StreamResampler` contract, plus `reset`). */
export interface Halfband {
  /** Decimates the next block; the filter state carries over, so blocks join seamlessly. */
  readonly process: (input: Int16Array) => Int16Array
  /**
   * Like `process` for an interleaved block of `channels` channels: the channels are averaged (as
   * `AudioFrame.mixToMono` does) straight into the filter's working buffer, then filtered and
   * decimated; no intermediate mono array.
   */
  readonly processInterleaved: (input: Int16Array, channels: number) => Int16Array
  /** Returns the tail held in the filter (total output exactly `round(totalIn / 2)`), then resets. */
  readonly flush: () => Int16Array
  /** Forgets all state. */
  readonly reset: () => void
}

const EMPTY = new Int16Array(0)

/**
 * Makes a half-band decimator. Conceptually the input is preceded by `CENTRE` zeros and, at `flush`,
 * followed by `CENTRE` zeros; output `k` is the filter centred on input `2k`, so the output is aligned
 * with the input (no delay) and the last output needs `CENTRE` samples of look-ahead, which is what
 * the decimator holds back between calls. Output samples are rounded and clamped to Int16.
 *
 * The working buffer holds the unconsumed history (at most `2 * CENTRE + 1` samples) followed by the
 * new block; it grows only when a larger block arrives. One output array per call.
 */
export const make = (): Halfband => {
  const [g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, g13, g14, g15, g16, g17, g18, g19] = sideTaps
  let buffer = new Int16Array(4096)
  let filled = CENTRE // buffer[0, CENTRE) is the leading zero padding
  let next = CENTRE // buffer index of the next output's centre sample
  let totalIn = 0
  let totalOut = 0

  const ensure = (capacity: number): void => {
    if (buffer.length >= capacity) return
    const grown = new Int16Array(Math.max(capacity, buffer.length * 2))
    grown.set(buffer.subarray(0, filled))
    buffer = grown
  }

  /** Computes every output whose window lies inside `buffer[0, filled)`, then drops consumed history. */
  const drain = (limit: number): Int16Array => {
    const available = next + CENTRE < filled ? ((filled - 1 - CENTRE - next) >> 1) + 1 : 0
    const count = Math.min(available, limit)
    if (count === 0) return EMPTY
    const out = new Int16Array(count)
    const b = buffer
    let p = next
    // the hot loop, unrolled over the 20 symmetric tap pairs (about 1.6x faster than a tap loop in V8)
    for (let k = 0; k < count; k++, p += 2) {
      const acc = 0.5 * b[p]! +
        g0 * (b[p - 1]! + b[p + 1]!) +
        g1 * (b[p - 3]! + b[p + 3]!) +
        g2 * (b[p - 5]! + b[p + 5]!) +
        g3 * (b[p - 7]! + b[p + 7]!) +
        g4 * (b[p - 9]! + b[p + 9]!) +
        g5 * (b[p - 11]! + b[p + 11]!) +
        g6 * (b[p - 13]! + b[p + 13]!) +
        g7 * (b[p - 15]! + b[p + 15]!) +
        g8 * (b[p - 17]! + b[p + 17]!) +
        g9 * (b[p - 19]! + b[p + 19]!) +
        g10 * (b[p - 21]! + b[p + 21]!) +
        g11 * (b[p - 23]! + b[p + 23]!) +
        g12 * (b[p - 25]! + b[p + 25]!) +
        g13 * (b[p - 27]! + b[p + 27]!) +
        g14 * (b[p - 29]! + b[p + 29]!) +
        g15 * (b[p - 31]! + b[p + 31]!) +
        g16 * (b[p - 33]! + b[p + 33]!) +
        g17 * (b[p - 35]! + b[p + 35]!) +
        g18 * (b[p - 37]! + b[p + 37]!) +
        g19 * (b[p - 39]! + b[p + 39]!)
      const v = Math.round(acc)
      out[k] = v > 32767 ? 32767 : v < -32768 ? -32768 : v
    }
    // keep the samples the next output still needs: from its centre minus CENTRE onwards
    const drop = p - CENTRE
    buffer.copyWithin(0, drop, filled)
    filled -= drop
    next = p - drop
    totalOut += count
    return out
  }

  const reset = (): void => {
    buffer.fill(0, 0, CENTRE)
    filled = CENTRE
    next = CENTRE
    totalIn = 0
    totalOut = 0
  }

  /** Averages the channels of `input` into `buffer` from `filled` on (the mono mix, no other copy). */
  const mixIn = (input: Int16Array, channels: number): number => {
    const n = (input.length / channels) | 0
    ensure(filled + n)
    const b = buffer
    let o = filled
    if (channels === 2) {
      for (let j = 0; j < 2 * n; j += 2, o++) b[o] = (input[j]! + input[j + 1]!) >> 1
    } else {
      for (let i = 0, j = 0; i < n; i++, o++) {
        let sum = 0
        for (let c = 0; c < channels; c++, j++) sum += input[j]!
        b[o] = Math.floor(sum / channels)
      }
    }
    return n
  }

  /** Takes `n` new samples already written at `filled` and decimates what is ready. */
  const take = (n: number): Int16Array => {
    if (n === 0) return EMPTY
    filled += n
    totalIn += n
    return drain(Number.MAX_SAFE_INTEGER)
  }

  const process = (input: Int16Array): Int16Array => {
    ensure(filled + input.length)
    buffer.set(input, filled)
    return take(input.length)
  }

  return {
    process,
    processInterleaved: (input, channels) => channels === 1 ? process(input) : take(mixIn(input, channels)),
    flush: () => {
      const expected = Math.round(totalIn / 2)
      ensure(filled + CENTRE)
      buffer.fill(0, filled, filled + CENTRE)
      filled += CENTRE
      const tail = drain(expected - totalOut)
      reset()
      return tail
    },
    reset
  }
}
