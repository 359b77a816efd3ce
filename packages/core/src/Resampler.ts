/**
 * The Resampler service: streaming sample-rate converters for mono PCM16, scoped so that their
 * native memory is freed with the Scope.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/audioResampler.js"
import * as halfband from "./internal/halfband.js"

/**
 * A stateful converter for one (input rate, output rate) pair. `process` converts the next block
 * (filter state is kept across calls, so a stream in many small blocks equals the one-shot result);
 * `flush` returns the tail held in the filter, so that the total output is exactly
 * `round(totalInput * outputRate / inputRate)` samples, and resets the state. With equal rates both
 * are pass-through: `process` returns its input itself (no copy).
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamResampler {
  readonly process: (input: Int16Array) => Int16Array
  readonly flush: () => Int16Array
  /**
   * Optional: converts an interleaved block of `channels` channels, averaging them to mono on the
   * way (as `AudioFrame.mixToMono`), without an intermediate mono array. The output equals
   * `process(mixToMono(block))`. `AudioInput` uses it when present.
   *
   * @since 0.2.0
   */
  readonly processInterleaved?: (input: Int16Array, channels: number) => Int16Array
  /**
   * Optional, with `readInto`: the pull form of `processInterleaved` (no output array). `write`
   * takes an interleaved block of `channels` channels (1 for mono); `readInto` writes at most `max`
   * ready outputs into `target` from `offset` and returns how many. Reading in any pieces gives the
   * same samples as `process`. `AudioInput` reads straight into its chunks when both are present,
   * writing at most 8192 frames at a time (a longer frame in pieces, each read out before the next),
   * so a converter holds no more than that between a `write` and its reads.
   *
   * @since 0.2.0
   */
  readonly write?: (input: Int16Array, channels: number) => void
  readonly readInto?: (target: Int16Array, offset: number, max: number) => number
}

/**
 * Makes converters. The converter lives in the Scope; its memory is freed when the Scope closes.
 * Rates must be positive integers (an `AudioFrame` guarantees that); anything else is a defect.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResamplerService {
  readonly make: (inputRate: number, outputRate: number) => Effect.Effect<StreamResampler, never, Scope.Scope>
}

/**
 * Quality of the libsamplerate converter: `"fastest"` (SRC_SINC_FASTEST, the default: about 97 dB
 * SNR, 80% bandwidth), `"medium"` or `"best"` (slower). An exact 2:1 downsampling (e.g. 48 kHz to
 * 24 kHz) uses a half-band FIR decimator instead under `"fastest"` and `"medium"` (see
 * `makeLibsamplerate`); `"best"` always uses libsamplerate.
 *
 * @since 0.1.0
 * @category models
 */
export type Quality = internal.Quality

const EMPTY = new Int16Array(0)

const passThrough: StreamResampler = {
  process: (input) => input,
  flush: () => EMPTY
}

const checkRates = (inputRate: number, outputRate: number): Effect.Effect<void> =>
  Number.isInteger(inputRate) && inputRate > 0 && Number.isInteger(outputRate) && outputRate > 0 &&
    outputRate / inputRate <= 256 && inputRate / outputRate <= 256
    ? Effect.void
    : Effect.dieMessage(`Resampler: unsupported rates ${inputRate} -> ${outputRate} Hz`)

const fromEngine = (
  acquire: Effect.Effect<internal.Engine>,
  inputRate: number,
  outputRate: number
): Effect.Effect<StreamResampler, never, Scope.Scope> =>
  inputRate === outputRate
    ? Effect.as(checkRates(inputRate, outputRate), passThrough)
    : Effect.zipRight(
      checkRates(inputRate, outputRate),
      Effect.map(
        Effect.acquireRelease(
          Effect.map(acquire, (engine) => internal.streaming(engine, inputRate, outputRate)),
          (stream) => Effect.sync(() => stream.dispose())
        ),
        (stream): StreamResampler => ({ process: stream.process, flush: stream.flush })
      )
    )

/**
 * The exact 2:1 decimator (`inputRate === 2 * outputRate`): a 79-tap linear-phase half-band
 * Kaiser-windowed sinc low-pass (flat within 0.001 dB up to 10/24 of the output rate, at least
 * 98 dB down from 7/12 of it), its delay compensated; pure TypeScript, no native memory.
 */
const halfbandStream = (inputRate: number, outputRate: number): Effect.Effect<StreamResampler> =>
  Effect.zipRight(checkRates(inputRate, outputRate), Effect.sync((): StreamResampler => {
    const decimator = halfband.make()
    return {
      process: decimator.process,
      processInterleaved: decimator.processInterleaved,
      write: decimator.write,
      readInto: decimator.readInto,
      flush: decimator.flush
    }
  }))

/**
 * A service backed by libsamplerate (`@alexanderolsen/libsamplerate-js`): band-limited sinc
 * conversion, compiled to JavaScript (no WebAssembly, nothing to fetch: works in Node and browsers).
 * Each converter holds a ~26 MB heap, so released converters are pooled (at most 4 idle) and reused
 * for the next `make`, whatever the rates; the pool is freed when the given Scope closes.
 *
 * Exact 2:1 downsampling (48 kHz microphones to the 24 kHz wire rate, the common case) skips
 * libsamplerate under `"fastest"` and `"medium"`: a 79-tap half-band FIR decimator does it several
 * times faster with a flatter pass band than SRC_SINC_FASTEST (within 0.001 dB up to 10 kHz at
 * 48 kHz in) and at least 98 dB of rejection from 14 kHz (the band that would alias). `"best"` keeps
 * libsamplerate for every ratio (SRC_SINC_BEST_QUALITY's wider pass band, up to about 97% of Nyquist).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeLibsamplerate = (quality: Quality = "fastest"): Effect.Effect<ResamplerService, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => internal.libsampleratePool(quality)),
      (pool) => Effect.sync(() => pool.close())
    ),
    (pool): ResamplerService => ({
      make: (inputRate, outputRate) =>
        quality !== "best" && inputRate === 2 * outputRate
          ? halfbandStream(inputRate, outputRate)
          : fromEngine(Effect.promise(() => pool.acquire(inputRate, outputRate)), inputRate, outputRate)
    })
  )

/**
 * The pure-TypeScript fallback: a 65-tap Kaiser-windowed sinc low-pass (when downsampling) then linear
 * interpolation. Synchronous and dependency-free; about 60 dB of stop-band rejection, softer pass band
 * than libsamplerate.
 *
 * @since 0.1.0
 * @category constructors
 */
export const linearService: ResamplerService = {
  make: (inputRate, outputRate) =>
    fromEngine(Effect.sync(() => internal.linear(inputRate, outputRate)), inputRate, outputRate)
}

/**
 * The Resampler service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class Resampler extends Context.Tag("@realtime-fx/core/Resampler")<Resampler, ResamplerService>() {
  /**
   * Production layer: libsamplerate, SRC_SINC_FASTEST (exact 2:1 downsampling: the half-band decimator),
   * converters pooled for the layer's lifetime.
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layer: Layer.Layer<Resampler> = Layer.scoped(Resampler, makeLibsamplerate("fastest"))

  /**
   * libsamplerate at a chosen quality.
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layerQuality = (quality: Quality): Layer.Layer<Resampler> =>
    Layer.scoped(Resampler, makeLibsamplerate(quality))

  /**
   * The pure-TypeScript fallback (windowed-sinc low-pass + linear interpolation).
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layerLinear: Layer.Layer<Resampler> = Layer.succeed(Resampler, linearService)
}

/**
 * Production layer: libsamplerate, SRC_SINC_FASTEST (exact 2:1 downsampling: the half-band
 * decimator), converters pooled for the layer's lifetime. The same layer as `Resampler.layer` on
 * the tag class.
 *
 * @example
 * ```ts
 * import * as Resampler from "@realtime-fx/core/Resampler"
 * import * as Xai from "@realtime-fx/core/Xai"
 * import * as Layer from "effect/Layer"
 *
 * // What a session needs besides its Transport: the model and the resampler.
 * const layer = Layer.mergeAll(Xai.layerConfig(), Resampler.layer)
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<Resampler> = Resampler.layer

/**
 * libsamplerate at a chosen quality (the same as `Resampler.layerQuality` on the tag class).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerQuality: (quality: Quality) => Layer.Layer<Resampler> = Resampler.layerQuality

/**
 * The pure-TypeScript fallback, windowed-sinc low-pass + linear interpolation (the same as
 * `Resampler.layerLinear` on the tag class).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerLinear: Layer.Layer<Resampler> = Resampler.layerLinear
