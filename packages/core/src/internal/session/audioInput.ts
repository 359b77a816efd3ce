/** The session's audio input: validate, resample, chunk and append; commit and clear with the 100 ms rule. */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as AudioFrame from "../../AudioFrame.js"
import * as AudioInput from "../../AudioInput.js"
import type { FatalError, ProtocolError } from "../../Errors.js"
import type * as Protocol from "../../Protocol.js"
import { OUTPUT_RATE } from "./state.js"

/** The audio methods of a session. */
export interface SessionAudio {
  readonly push: (frame: AudioFrame.AudioFrame) => Effect.Effect<void, FatalError | AudioFrame.AudioFrameError>
  readonly commit: Effect.Effect<void, FatalError>
  readonly clear: Effect.Effect<void, FatalError>
}

/**
 * Makes the audio input over `send`. It has its own small state (the resampler, the milliseconds
 * pushed since the last commit or clear), guarded by a semaphore: `pushAudio` may be called from any fiber.
 */
export const make = (send: (event: Protocol.ClientEvent) => Effect.Effect<void, FatalError | ProtocolError>) =>
  Effect.gen(function*() {
    const input = yield* AudioInput.make
    const lock = yield* Effect.makeSemaphore(1)
    let pushedMs = 0

    // Appends are built by the session itself: an encoding failure would be a defect, not the caller's error.
    const sendOwn = (event: Protocol.ClientEvent) =>
      Effect.catchTag(send(event), "ProtocolError", (error) => Effect.die(error))

    const append = (chunk: Int16Array) => {
      pushedMs += (chunk.length * 1000) / OUTPUT_RATE
      return sendOwn({ type: "input_audio_buffer.append", audio: AudioFrame.encodeBase64(chunk) })
    }

    const push = (frame: AudioFrame.AudioFrame) =>
      Effect.suspend((): Effect.Effect<void, FatalError | AudioFrame.AudioFrameError> => {
        // A frame that cannot be audio is refused with a typed error before it touches the pipeline.
        const valid = AudioFrame.validate(frame.data, frame.sampleRate, frame.channels)
        if (Either.isLeft(valid)) return Effect.fail(valid.left)
        return lock.withPermits(1)(
          input.push(frame).pipe(Effect.flatMap((chunks) => Effect.forEach(chunks, append, { discard: true })))
        )
      })

    const commit = lock.withPermits(1)(Effect.gen(function*() {
      const rest = yield* input.flush
      if (rest !== undefined && rest.length > 0) yield* append(rest)
      if (pushedMs > 100) {
        yield* sendOwn({ type: "input_audio_buffer.commit" })
        pushedMs = 0
      }
    }))

    const clear = lock.withPermits(1)(Effect.gen(function*() {
      yield* input.clear
      yield* sendOwn({ type: "input_audio_buffer.clear" })
      pushedMs = 0
    }))

    return { push, commit, clear } satisfies SessionAudio
  })
