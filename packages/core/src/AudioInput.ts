/**
 * The session's input path: frames of any rate and channel count in, 100 ms chunks of 24 kHz mono
 * PCM16 out (ready for `input_audio_buffer.append`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as AudioFrame from "./AudioFrame.js"
import * as chunker from "./internal/audioChunker.js"
import { Resampler, type StreamResampler } from "./Resampler.js"

/**
 * Samples in one appended chunk: 100 ms at 24 kHz.
 *
 * @since 0.1.0
 * @category constants
 */
export const CHUNK_SAMPLES = 2400

/**
 * The input path of one session. Not shared across fibers (the session serialises calls).
 *
 * - `push` mixes the frame to mono, resamples it to 24 kHz (a new converter whenever the input rate
 *   changes; the old one's tail is kept) and returns the complete 2,400-sample chunks now available.
 *   A chunk may be a view of the pushed frame's memory (24 kHz mono input): encode it before reusing
 *   that buffer.
 * - `flush` returns the partial remainder (1..2,399 samples) or `undefined`, and empties it. The
 *   resampler keeps its few samples of filter delay, so the stream stays continuous.
 * - `clear` drops the remainder and resets the resampler.
 *
 * @since 0.1.0
 * @category models
 */
export interface AudioInput {
  readonly push: (frame: AudioFrame.AudioFrame) => Effect.Effect<ReadonlyArray<Int16Array>>
  readonly flush: Effect.Effect<Int16Array | undefined>
  readonly clear: Effect.Effect<void>
}

/**
 * A pure fixed-size chunker (no sample lost or duplicated across pushes), as used by `AudioInput`.
 *
 * @since 0.1.0
 * @category models
 */
export type Chunker = chunker.Chunker

/**
 * Makes a chunker of `size` samples (default 2,400).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeChunker = (size: number = CHUNK_SAMPLES): Chunker => chunker.make(size)

interface Current {
  readonly rate: number
  readonly resampler: StreamResampler
  readonly scope: Scope.CloseableScope
}

/**
 * Makes the input path. Converters live in sub-scopes of the given Scope: the one for an old rate is
 * closed when the rate changes, the last one when the Scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<AudioInput, never, Resampler | Scope.Scope> = Effect.gen(function*() {
  const service = yield* Resampler
  const parent = yield* Effect.scope
  const chunks = chunker.make(CHUNK_SAMPLES)
  let current: Current | undefined

  const resamplerFor = (rate: number): Effect.Effect<StreamResampler> => {
    if (current !== undefined && current.rate === rate) return Effect.succeed(current.resampler)
    return Effect.gen(function*() {
      const previous = current
      current = undefined
      if (previous !== undefined) yield* Scope.close(previous.scope, Exit.void)
      const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
      const resampler = yield* Scope.extend(service.make(rate, AudioFrame.WIRE_SAMPLE_RATE), scope)
      current = { rate, resampler, scope }
      return resampler
    })
  }

  const push = (frame: AudioFrame.AudioFrame): Effect.Effect<ReadonlyArray<Int16Array>> =>
    Effect.suspend(() => {
      const mono = AudioFrame.mixToMono(frame).data
      if (current !== undefined && current.rate === frame.sampleRate) {
        return Effect.succeed(chunks.push(current.resampler.process(mono)))
      }
      // rate change: the old converter's tail belongs before the new rate's audio
      const tail = current !== undefined ? current.resampler.flush() : undefined
      return Effect.map(resamplerFor(frame.sampleRate), (resampler) => {
        const before = tail !== undefined && tail.length > 0 ? chunks.push(tail) : []
        const after = chunks.push(resampler.process(mono))
        return before.length === 0 ? after : after.length === 0 ? before : [...before, ...after]
      })
    })

  const flush: Effect.Effect<Int16Array | undefined> = Effect.sync(() => chunks.flush())

  const clear: Effect.Effect<void> = Effect.sync(() => {
    chunks.clear()
    if (current !== undefined) current.resampler.flush()
  })

  return { push, flush, clear } satisfies AudioInput
})
