/** The half-band decimator's filter loop in WebAssembly SIMD (halfband.wat), where the host runs it. */
import { decodeBytesTableInto, decodedLength } from "./audioCodec.js"
import { base64 } from "./halfbandWasm.js"

/** Stream memory for the decimator and the filter loop over it. */
export interface Store {
  /** Whether `run` is the WebAssembly SIMD loop (else the JavaScript one). */
  readonly simd: boolean
  /** The even input stream (`capacity` samples). */
  readonly even: Float64Array
  /** The odd input stream (`capacity` samples). */
  readonly odd: Float64Array
  /** Writes outputs `start .. start + count - 1` (stream indices) into `target` from `offset` on. */
  readonly run: (start: number, count: number, target: Int16Array, offset: number) => void
  /**
   * Optional: mixes the `n` stereo frames of `input` from frame `from` on (`n` a multiple of 4) to
   * mono, alternately into `even` from `evenAt` and `odd` from `oddAt`, as the JavaScript mix does.
   */
  readonly mix2?: (input: Int16Array, from: number, n: number, evenAt: number, oddAt: number) => void
}

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer; readonly grow: (pages: number) => number }
  readonly run: (even: number, odd: number, out: number, count: number) => void
  readonly mix2: (src: number, n: number, even: number, odd: number) => void
}

interface WasmApi {
  readonly Module: new(bytes: Uint8Array) => object
  readonly Instance: new(module: object, imports: object) => { readonly exports: Exports }
}

/** The module's bytes, through the core's own base64 table codec (no host helper). */
const decode = (text: string): Uint8Array => {
  const bytes = new Uint8Array(decodedLength(text))
  decodeBytesTableInto(text, bytes)
  return bytes
}

/** The compiled module: undefined until first asked, null where the host cannot run it (no WebAssembly or no SIMD). */
let compiled: { readonly api: WasmApi; readonly module: object } | null | undefined

const load = () => {
  if (compiled !== undefined) return compiled
  try {
    const api = (globalThis as unknown as { readonly WebAssembly?: WasmApi }).WebAssembly
    // small enough (about 1 kB) for a synchronous compile on a browser's main thread
    compiled = api === undefined ? null : { api, module: new api.Module(decode(base64)) }
  } catch {
    compiled = null
  }
  return compiled
}

/** Whether this host runs the SIMD loop. */
export const available = (): boolean => load() !== null

/** Room past each region's end for the loop's reads and writes of the outputs past the last of a pass. */
const SLACK = 8

/** Stereo frames `mix2` takes per call (its input region: 16 kB). */
const MIX_FRAMES = 4096

/** A fresh instance with at least `pages` pages of memory (throws if the host refuses). */
const instantiate = (wasm: { readonly api: WasmApi; readonly module: object }, pages: number) => {
  const exports = new wasm.api.Instance(wasm.module, {}).exports
  const have = exports.memory.buffer.byteLength / 65536
  if (pages > have) exports.memory.grow(pages - have)
  return exports
}

/**
 * Stream memory of `capacity` samples per stream in a fresh instance of the module, the taps
 * `taps` in place, the loop reading one output's window of `span` odd samples; undefined where the
 * host cannot run it.
 */
export const store = (capacity: number, taps: Float64Array, span: number): Store | undefined => {
  const wasm = load()
  if (wasm === null) return undefined
  const evenAt = 8 * (taps.length + SLACK)
  const oddAt = evenAt + 8 * (capacity + SLACK)
  const outAt = oddAt + 8 * (capacity + span + SLACK)
  const inAt = outAt + 2 * (capacity + SLACK) + 16
  let exports: ReturnType<typeof instantiate>
  try {
    exports = instantiate(wasm, Math.ceil((inAt + 4 * MIX_FRAMES) / 65536))
  } catch {
    // an instance or memory the host refuses (e.g. a huge block): the JavaScript loop instead
    return undefined
  }
  const { memory, mix2, run } = exports
  new Float64Array(memory.buffer, 0, taps.length).set(taps)
  const out = new Int16Array(memory.buffer, outAt, capacity + SLACK)
  // the view handed to `set`, kept while the count repeats (it does: one per block size)
  let view = out.subarray(0, 0)
  const stereo = new Int16Array(memory.buffer, inAt, 2 * MIX_FRAMES)
  return {
    simd: true,
    even: new Float64Array(memory.buffer, evenAt, capacity),
    odd: new Float64Array(memory.buffer, oddAt, capacity),
    run: (start, count, target, offset) => {
      run(evenAt + 8 * start, oddAt + 8 * start, outAt, count)
      if (view.length !== count) view = out.subarray(0, count)
      target.set(view, offset)
    },
    mix2: (input, from, n, evenIndex, oddIndex) => {
      for (let done = 0; done < n;) {
        const k = Math.min(n - done, MIX_FRAMES)
        const first = from + done
        stereo.set(first === 0 && 2 * k === input.length ? input : input.subarray(2 * first, 2 * (first + k)))
        mix2(inAt, k, evenAt + 8 * (evenIndex + done / 2), oddAt + 8 * (oddIndex + done / 2))
        done += k
      }
    }
  }
}
