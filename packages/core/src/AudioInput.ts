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
 *   A push that changes the rate is uninterruptible: the old tail, the new converter and the frame
 *   go together, so an interruption loses none of them.
 *   When the converter can read interleaved input (`StreamResampler.processInterleaved`, e.g. the
 *   half-band decimator for 48 kHz), the mix happens inside it, in the same pass, without a mono copy;
 *   a converter with the pull form (`StreamResampler.write`/`readInto`, as the half-band decimator)
 *   writes its output straight into the chunk being filled.
 *   A chunk may be a view of the pushed frame's memory (24 kHz mono input): encode it before reusing
 *   that buffer.
 * - `flush` ends the stream: it flushes the resampler's filter delay (its last few samples) and
 *   returns them after the partial remainder, as one array (1 sample to a little over 2,400), or
 *   `undefined` when nothing is left; the total output since the previous flush is then exactly
 *   `round(input * 24000 / rate)` samples. The next push starts a fresh stream.
 * - `clear` drops the remainder and resets the resampler.
 *
 * @since 0.1.0
 * @category models
 */
export interface AudioInput {
  readonly push: (frame: AudioFrame.AudioFrame) => Effect.Effect<ReadonlyArray<Int16Array>>
  /**
   * `push`, synchronously, when the frame's rate has its converter already (the common case): the
   * chunks now complete. `undefined` (and nothing done) when the rate changed and a new converter
   * must be made: call `push` then.
   *
   * @since 0.2.0
   */
  readonly unsafePush: (frame: AudioFrame.AudioFrame) => ReadonlyArray<Int16Array> | undefined
  /**
   * `unsafePush` handing each chunk to `each` as it completes. With a pull-form converter (the
   * half-band decimator) there is no allocation per chunk: the chunk's memory is reused for the next
   * one; otherwise it may be the converter's output or the frame's own. Either way `each` must be
   * done with it (encode it) before it returns. `false` (and nothing done) when the frame's rate has
   * no converter yet (the first push, a rate change): call `push` then.
   *
   * @since 0.2.0
   */
  readonly unsafePushEach: (frame: AudioFrame.AudioFrame, each: (chunk: Int16Array) => void) => boolean
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

const EMPTY = new Int16Array(0)

/** The converter's output for one frame: interleaved straight in when it can, else mixed first. */
const convert = (resampler: StreamResampler, frame: AudioFrame.AudioFrame): Int16Array =>
  frame.channels > 1 && resampler.processInterleaved !== undefined
    ? resampler.processInterleaved(frame.data, frame.channels)
    : resampler.process(AudioFrame.mixToMono(frame).data)

/**
 * Frames a pull-form converter takes in one `write` at most: a longer frame goes in pieces, each
 * read out before the next, so the converter's working memory stays bounded by this size rather
 * than by the longest frame ever pushed.
 */
const MAX_WRITE_FRAMES = 8192

/** One frame through the converter into the chunker: the chunks it completes. */
const convertInto = (resampler: StreamResampler, chunks: chunker.Chunker, frame: AudioFrame.AudioFrame) => {
  const { readInto, write } = resampler
  if (write === undefined || readInto === undefined) return chunks.push(convert(resampler, frame))
  const { channels, data } = frame
  if (data.length <= MAX_WRITE_FRAMES * channels) {
    write(data, channels)
    return chunks.pull(readInto)
  }
  const done: Array<Int16Array> = []
  for (let at = 0; at < data.length; at += MAX_WRITE_FRAMES * channels) {
    write(data.subarray(at, at + MAX_WRITE_FRAMES * channels), channels)
    done.push(...chunks.pull(readInto))
  }
  return done
}

/** `convertInto`, each chunk handed to `each` as it completes (in a reused buffer where it can). */
const convertEach = (
  resampler: StreamResampler,
  chunks: chunker.Chunker,
  frame: AudioFrame.AudioFrame,
  each: (chunk: Int16Array) => void
): void => {
  const { readInto, write } = resampler
  if (write === undefined || readInto === undefined) {
    for (const chunk of chunks.push(convert(resampler, frame))) each(chunk)
    return
  }
  const { channels, data } = frame
  const step = MAX_WRITE_FRAMES * channels
  for (let at = 0; at < data.length; at += step) {
    write(at === 0 && data.length <= step ? data : data.subarray(at, at + step), channels)
    chunks.pullEach(readInto, each)
  }
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
  // true once the current converter has taken input since its last flush (it may hold a tail)
  let fed = false

  const converterFor = (rate: number): Effect.Effect<Current> => {
    if (current !== undefined && current.rate === rate) return Effect.succeed(current)
    return Effect.gen(function*() {
      const previous = current
      current = undefined
      if (previous !== undefined) yield* Scope.close(previous.scope, Exit.void)
      const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
      const resampler = yield* Scope.extend(service.make(rate, AudioFrame.WIRE_SAMPLE_RATE), scope)
      const next: Current = { rate, resampler, scope }
      current = next
      return next
    })
  }

  const unsafePush = (frame: AudioFrame.AudioFrame): ReadonlyArray<Int16Array> | undefined => {
    if (current === undefined || current.rate !== frame.sampleRate) return undefined
    fed = true
    return convertInto(current.resampler, chunks, frame)
  }

  const unsafePushEach = (frame: AudioFrame.AudioFrame, each: (chunk: Int16Array) => void): boolean => {
    if (current === undefined || current.rate !== frame.sampleRate) return false
    fed = true
    convertEach(current.resampler, chunks, frame, each)
    return true
  }

  const push = (frame: AudioFrame.AudioFrame): Effect.Effect<ReadonlyArray<Int16Array>> =>
    Effect.suspend(() => {
      const done = unsafePush(frame)
      if (done !== undefined) return Effect.succeed(done)
      // rate change: the old converter's tail belongs before the new rate's audio. Uninterruptible
      // from the taking of the tail: the new converter is made and the frame converted, or both
      // would be lost.
      return Effect.uninterruptible(Effect.suspend(() => {
        const tail = current !== undefined && fed ? current.resampler.flush() : undefined
        return Effect.map(converterFor(frame.sampleRate), (next) => {
          const before = tail !== undefined && tail.length > 0 ? chunks.push(tail) : []
          fed = true
          const after = convertInto(next.resampler, chunks, frame)
          return before.length === 0 ? after : after.length === 0 ? before : [...before, ...after]
        })
      }))
    })

  const flush: Effect.Effect<Int16Array | undefined> = Effect.sync(() => {
    // the filter's delay first: its tail is the end of the audio pushed so far
    const tail = current !== undefined && fed ? current.resampler.flush() : EMPTY
    fed = false
    const rest = chunks.flush()
    if (tail.length === 0) return rest
    if (rest === undefined) return tail
    const all = new Int16Array(rest.length + tail.length)
    all.set(rest)
    all.set(tail, rest.length)
    return all
  })

  const clear: Effect.Effect<void> = Effect.sync(() => {
    chunks.clear()
    if (current !== undefined && fed) current.resampler.flush()
    fed = false
  })

  return { push, unsafePush, unsafePushEach, flush, clear } satisfies AudioInput
})
