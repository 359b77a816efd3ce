/**
 * The microphone: `getUserMedia` through an AudioWorklet, as a scoped stream of `AudioFrame`s.
 *
 * @since 0.2.0
 */
import * as AudioFrame from "@realtime-fx/core/AudioFrame"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { AudioDeviceError } from "./AudioDeviceError.js"
import { frameSamples } from "./internal/chunker.js"
import * as Context from "./internal/context.js"
import * as Errors from "./internal/deviceErrors.js"
import * as Worklets from "./internal/worklets.js"

/**
 * Options of the microphone. Every field is optional.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Frame length, 10 to 20 ms (default 20). */
  readonly frameMs?: number | undefined
  /**
   * The rate of the frames: the AudioContext's (default: the browser's own, often 48 kHz; the session
   * resamples). Ignored when `context` is given.
   */
  readonly sampleRate?: number | undefined
  /** What to ask `getUserMedia` for (default `true`: the default microphone with the browser's processing). */
  readonly constraints?: MediaTrackConstraints | boolean | undefined
  /** An AudioContext to use (it stays open); default: one of its own, closed with the stream. */
  readonly context?: AudioContext | undefined
  /** How long a suspended context may take to resume before the stream fails (default 2 seconds). */
  readonly resumeTimeout?: Duration.DurationInput | undefined
}

/**
 * The microphone as a `Stream` of mono PCM16 frames of `frameMs` at the context's rate. Running the
 * stream asks for the microphone; ending it stops the track, disconnects the worklet and closes
 * its own context. Fails with `AudioDeviceError`: `PermissionDenied` (`NotAllowedError`), `NoDevice`
 * (`NotFoundError`), `Suspended` (the context did not resume: start from a user gesture),
 * `Unsupported` (not a secure context), `Worklet`.
 *
 * @example
 * ```ts
 * import * as Microphone from "@realtime-fx/browser/Microphone"
 * import type { RealtimeSessionService } from "@realtime-fx/core/RealtimeSession"
 * import * as Stream from "effect/Stream"
 *
 * // 20 ms frames at the browser's rate; the session resamples them to 24 kHz.
 * const talk = (session: RealtimeSessionService) =>
 *   Microphone.source({ frameMs: 20 }).pipe(Stream.runForEach(session.pushAudio))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const source = (options: Options = {}): Stream.Stream<AudioFrame.AudioFrame, AudioDeviceError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const frameMs = options.frameMs ?? 20
    if (!(frameMs >= 10 && frameMs <= 20)) {
      return yield* new AudioDeviceError({ reason: "Unsupported", message: `frameMs must be 10 to 20, got ${frameMs}` })
    }
    if (typeof navigator === "undefined" || navigator.mediaDevices?.getUserMedia === undefined) {
      return yield* Effect.fail(Errors.unsupported("getUserMedia"))
    }
    const media = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => navigator.mediaDevices.getUserMedia({ audio: options.constraints ?? true }),
        catch: Errors.fromGetUserMedia
      }),
      (media) => Effect.sync(() => media.getTracks().forEach((track) => track.stop()))
    )
    const context = yield* Context.acquire({
      device: "microphone",
      context: options.context,
      sampleRate: options.sampleRate,
      resumeTimeout: options.resumeTimeout ?? "2 seconds"
    })
    yield* Context.load(context, Worklets.captureProcessorName, Worklets.captureSource)
    const sampleRate = context.sampleRate
    const node = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const input = context.createMediaStreamSource(media)
        const worklet = new AudioWorkletNode(context, Worklets.captureProcessorName, {
          numberOfInputs: 1,
          numberOfOutputs: 0,
          channelCountMode: "explicit",
          channelCount: 1,
          processorOptions: { frameSamples: frameSamples(sampleRate, frameMs) }
        })
        input.connect(worklet)
        return { input, worklet }
      }),
      ({ input, worklet }) =>
        Effect.sync(() => {
          worklet.port.postMessage("stop")
          worklet.port.onmessage = null
          input.disconnect()
          worklet.disconnect()
        })
    )
    return Stream.async<AudioFrame.AudioFrame>((emit) => {
      node.worklet.port.onmessage = (event: MessageEvent<Int16Array>) => {
        void emit.single(AudioFrame.unsafeMake(event.data, sampleRate, 1))
      }
      // A consumer that falls behind loses the oldest frames past 10 s, never the page's memory.
    }, { bufferSize: Math.ceil(10_000 / frameMs), strategy: "sliding" })
  }))
