/** Streaming resampler engines: libsamplerate (its wasm2js JavaScript build) and a windowed-sinc FIR + linear fallback. */
import type LibSampleRateModule from "@alexanderolsen/libsamplerate-js"
import { inBlocks } from "./blocks.js"

/** A resampling engine: `process` keeps state across calls; `reset` forgets it. */
export interface Engine {
  readonly process: (input: Int16Array) => Int16Array
  readonly reset: () => void
  readonly dispose: () => void
}

/** The streaming contract over an engine: exact total length at `flush`, then a reset. */
export interface Streaming {
  readonly process: (input: Int16Array) => Int16Array
  readonly flush: () => Int16Array
  readonly dispose: () => void
}

const EMPTY = new Int16Array(0)

/** Zero block fed to an engine while flushing its filter delay. */
const FLUSH_BLOCK = 256

/**
 * Wraps an engine: counts samples in and out; `flush` feeds silence until the output reaches
 * `round(totalIn * outRate / inRate)` samples, returns the tail cut to exactly that, and resets.
 */
export const streaming = (engine: Engine, inputRate: number, outputRate: number): Streaming => {
  let totalIn = 0
  let totalOut = 0
  const zeros = new Int16Array(FLUSH_BLOCK)
  return {
    process: (input) => {
      if (input.length === 0) return EMPTY
      totalIn += input.length
      const out = engine.process(input)
      totalOut += out.length
      return out
    },
    flush: () => {
      const expected = Math.round((totalIn * outputRate) / inputRate)
      const parts: Array<Int16Array> = []
      let produced = totalOut
      // bounded: every engine's delay is far below this many blocks
      for (let i = 0; produced < expected && i < 256; i++) {
        const out = engine.process(zeros)
        if (out.length > 0) {
          parts.push(out)
          produced += out.length
        }
      }
      const tailLength = Math.max(0, Math.min(produced, expected) - totalOut)
      const tail = new Int16Array(tailLength)
      let o = 0
      for (const part of parts) {
        if (o >= tailLength) break
        const take = Math.min(part.length, tailLength - o)
        tail.set(take === part.length ? part : part.subarray(0, take), o)
        o += take
      }
      totalIn = 0
      totalOut = 0
      engine.reset()
      return tail
    },
    dispose: () => engine.dispose()
  }
}

const toInt16 = (samples: Float32Array, length: number): Int16Array => {
  const out = new Int16Array(length)
  for (let i = 0; i < length; i++) {
    const v = Math.round(samples[i]! * 32768)
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v
  }
  return out
}

/** Largest block handed to libsamplerate at once (its internal buffers hold about a million floats). */
const LIBSAMPLERATE_BLOCK = 65536

/** libsamplerate's converters, by quality. */
export type Quality = "best" | "medium" | "fastest"

const converterTypes = { best: 0, medium: 1, fastest: 2 } as const

type Src = Awaited<ReturnType<typeof LibSampleRateModule.create>>

/**
 * Loads libsamplerate on first use (a dynamic import: bundlers split its 2 MB out of the main chunk,
 * and apps on the fallback never load it). Its CommonJS exports arrive as the default export.
 */
let loading: Promise<typeof LibSampleRateModule> | undefined
const loadLibSampleRate = (): Promise<typeof LibSampleRateModule> => {
  if (loading === undefined) {
    loading = import("@alexanderolsen/libsamplerate-js").then((mod) => mod.default)
  }
  return loading
}

/** Re-initialises a converter through the library's documented setter (src_delete + src_new). */
const reinit = (src: Src): void => {
  const rate = src.inputSampleRate
  src.inputSampleRate = rate
}

/** A pool of libsamplerate converters of one quality, reused across rates and sessions. */
export interface SrcPool {
  readonly acquire: (inputRate: number, outputRate: number) => Promise<Engine>
  readonly close: () => void
}

/**
 * A pool of libsamplerate converters (mono). The module is compiled to JavaScript (emscripten's
 * wasm2js: no WebAssembly, nothing to fetch), so it loads the same way in Node (ESM or CJS) and in a
 * bundled browser app; but every converter instantiates its own module with a heap of about 26 MB.
 * Hence the pool: a released converter is re-initialised (all state dropped) and kept for the next
 * `acquire` (at most `maxIdle` of them); `close` frees them all.
 */
export const libsampleratePool = (quality: Quality, maxIdle = 4): SrcPool => {
  const idle: Array<Src> = []
  let closed = false
  const configure = (src: Src, inputRate: number, outputRate: number): Src => {
    // each setter re-initialises the converter (src_delete + src_new); the library does not update
    // `ratio` itself, which it uses to size its output
    if (src.inputSampleRate !== inputRate) src.inputSampleRate = inputRate
    if (src.outputSampleRate !== outputRate) src.outputSampleRate = outputRate
    src.ratio = outputRate / inputRate
    return src
  }
  const release = (src: Src): void => {
    if (!closed && idle.length < maxIdle) {
      reinit(src)
      idle.push(src)
    } else if (!src.isDestroyed) {
      src.destroy()
    }
  }
  return {
    acquire: async (inputRate, outputRate) => {
      const reused = idle.pop()
      const src = reused !== undefined
        ? configure(reused, inputRate, outputRate)
        : await (await loadLibSampleRate()).create(1, inputRate, outputRate, {
          converterType: converterTypes[quality]
        })
      return libsamplerateEngine(src, inputRate, outputRate, release)
    },
    close: () => {
      closed = true
      for (const src of idle.splice(0)) if (!src.isDestroyed) src.destroy()
    }
  }
}

const libsamplerateEngine = (
  src: Src,
  inputRate: number,
  outputRate: number,
  release: (src: Src) => void
): Engine => {
  const ratio = outputRate / inputRate
  let scratchIn = new Float32Array(0)
  let scratchOut = new Float32Array(0)
  const frames = { frames: 0 }
  let released = false
  const run = (input: Int16Array): Int16Array => {
    const n = input.length
    if (scratchIn.length < n) scratchIn = new Float32Array(n)
    const outCap = Math.ceil(n * ratio) + 64
    if (scratchOut.length < outCap) scratchOut = new Float32Array(outCap)
    const view = scratchIn.length === n ? scratchIn : scratchIn.subarray(0, n)
    for (let i = 0; i < n; i++) view[i] = input[i]! / 32768
    src.full(view, scratchOut, frames)
    return toInt16(scratchOut, Math.min(frames.frames, outCap))
  }
  return {
    process: (input) => inBlocks(input, LIBSAMPLERATE_BLOCK, run),
    reset: () => reinit(src),
    dispose: () => {
      if (released) return
      released = true
      release(src)
    }
  }
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

/** Half-length (taps each side) of the fallback's anti-aliasing filter. */
const HALF_TAPS = 32

/** Zeroth-order modified Bessel function of the first kind (for the Kaiser window). */
const bessel0 = (x: number): number => {
  let sum = 1
  let term = 1
  for (let k = 1; k < 30; k++) {
    term *= (x / (2 * k)) * (x / (2 * k))
    sum += term
  }
  return sum
}

/** Kaiser-windowed sinc low-pass, `2 * HALF_TAPS + 1` taps, cutoff `cutoff` (fraction of the input rate). */
const lowPassTaps = (cutoff: number): Float64Array => {
  const n = 2 * HALF_TAPS + 1
  const beta = 8.6
  const taps = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) {
    const m = i - HALF_TAPS
    const x = 2 * Math.PI * cutoff * m
    const sinc = m === 0 ? 1 : Math.sin(x) / x
    const r = m / HALF_TAPS
    const window = bessel0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / bessel0(beta)
    taps[i] = sinc * window
    sum += taps[i]!
  }
  for (let i = 0; i < n; i++) taps[i] = taps[i]! / sum
  return taps
}

/**
 * The fallback: when downsampling, a 65-tap Kaiser-windowed sinc low-pass (cutoff 0.45 of the output
 * rate, centred so it adds no delay) before linear interpolation; integer position arithmetic, so
 * no drift. Pure TypeScript, synchronous.
 */
export const linear = (inputRate: number, outputRate: number): Engine => {
  const g = gcd(inputRate, outputRate)
  const step = inputRate / g // input advance per output sample, in units of 1/up
  const up = outputRate / g // positions per input sample
  const filtered = outputRate < inputRate
  const taps = filtered ? lowPassTaps((0.45 * outputRate) / inputRate) : undefined
  const width = 2 * HALF_TAPS + 1
  // FIR history: the last `width - 1` raw samples, and how many filtered samples to skip (the delay)
  let history = new Float64Array(width - 1)
  let skip = filtered ? HALF_TAPS : 0
  // interpolation state: previous (filtered) sample, position of the next output relative to it
  let prev = 0
  let pos = up // in units of 1/up; index 0 is `prev`, index k is the k-th new sample
  let started = false
  let scratch = new Float64Array(0)

  const filter = (input: Int16Array): { readonly data: Float64Array; readonly length: number } => {
    if (taps === undefined) {
      if (scratch.length < input.length) scratch = new Float64Array(input.length)
      for (let i = 0; i < input.length; i++) scratch[i] = input[i]!
      return { data: scratch, length: input.length }
    }
    const h = history.length
    const all = new Float64Array(h + input.length)
    all.set(history)
    for (let i = 0; i < input.length; i++) all[h + i] = input[i]!
    const produced = input.length
    if (scratch.length < produced) scratch = new Float64Array(produced)
    let o = 0
    for (let i = 0; i < produced; i++) {
      if (skip > 0) {
        skip--
        continue
      }
      let acc = 0
      for (let t = 0; t < width; t++) acc += taps[t]! * all[i + t]!
      scratch[o++] = acc
    }
    history = all.slice(all.length - h)
    return { data: scratch, length: o }
  }

  return {
    process: (input) => {
      const { data, length } = filter(input)
      if (length === 0) return EMPTY
      let offset = 0
      if (!started) {
        // the first output sits exactly on the first sample
        started = true
        prev = data[0]!
        offset = 1
        pos = 0
      }
      const n = length - offset // new samples at indices 1..n
      const limit = n * up
      const count = pos < limit ? Math.ceil((limit - pos) / step) : 0
      const out = new Int16Array(count)
      let p = pos
      for (let k = 0; k < count; k++, p += step) {
        const i = Math.floor(p / up)
        const frac = (p - i * up) / up
        const a = i === 0 ? prev : data[offset + i - 1]!
        const b = data[offset + i]!
        const v = Math.round(a + (b - a) * frac)
        out[k] = v > 32767 ? 32767 : v < -32768 ? -32768 : v
      }
      pos = p - limit
      if (n > 0) prev = data[offset + n - 1]!
      return out
    },
    reset: () => {
      history = new Float64Array(width - 1)
      skip = filtered ? HALF_TAPS : 0
      prev = 0
      pos = up
      started = false
    },
    dispose: () => {}
  }
}
