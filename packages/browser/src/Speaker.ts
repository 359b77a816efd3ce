/**
 * The speaker: plays a generation's 24 kHz PCM through an AudioWorklet with a small jitter buffer,
 * and tells how much was actually played, for `truncate`.
 *
 * @since 0.2.0
 */
import type * as AudioFrame from "@realtime-fx/core/AudioFrame"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { AudioDeviceError } from "./AudioDeviceError.js"
import { frameSamples } from "./internal/chunker.js"
import * as Context from "./internal/context.js"
import { framesToMs } from "./internal/jitter.js"
import * as Worklets from "./internal/worklets.js"

/**
 * Options of the speaker. Every field is optional.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The rate of the audio it plays (default 24000, the wire rate); its own context runs at it. */
  readonly sampleRate?: number | undefined
  /** Audio buffered before playback starts, and again after an underrun (default 60 ms). */
  readonly jitterMs?: number | undefined
  /** An AudioContext at `sampleRate` to use (it stays open); default: one of its own, closed with the Scope. */
  readonly context?: AudioContext | undefined
  /** How long a suspended context may take to resume before `sink` fails (default 2 seconds). */
  readonly resumeTimeout?: Duration.DurationInput | undefined
}

/**
 * What the playback worklet last reported: ms played of the current stream, the output level
 * (RMS, 0 to 1) and the underruns so far.
 *
 * @since 0.2.0
 * @category models
 */
export interface Progress {
  readonly playedMs: number
  readonly playedFrames: number
  readonly level: number
  readonly underruns: number
}

/**
 * An open speaker. Counts are of the current stream: since the sink opened, the last `reset`,
 * `interrupt` or `play`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Speaker {
  readonly sampleRate: number
  /** Queues one frame (mono, at `sampleRate`; another rate fails with `SampleRate`). */
  readonly write: (frame: AudioFrame.AudioFrame) => Effect.Effect<void, AudioDeviceError>
  /** The current stream has no more audio: what is queued plays out without waiting for the jitter buffer. */
  readonly end: Effect.Effect<void>
  /** Starts a new stream: counts from zero, and takes frames again after an `interrupt`. */
  readonly reset: Effect.Effect<void>
  /**
   * Stops playback at once, dropping what is queued, and succeeds with the ms played (as counted in
   * the worklet when it stopped), then counts from zero. Frames written after it are dropped until
   * `reset` (or the next `play`): a reply still streaming in cannot restart the sound.
   */
  readonly interrupt: Effect.Effect<number>
  /** The worklet's last report (about every 20 ms while playing). */
  readonly progress: Effect.Effect<Progress>
  /** Waits until an ended stream has played out; succeeds with the ms played. */
  readonly drained: Effect.Effect<number>
  /**
   * Plays a whole stream (a message's `audio`): resets the count, writes every frame, ends and waits
   * until it has played out; succeeds with the ms played. Interrupting it (or closing the scope it
   * runs in) stops playback at once and hands the ms played to `onInterrupt` (e.g. to `truncate`).
   */
  readonly play: <E, R = never>(
    audio: Stream.Stream<AudioFrame.AudioFrame, E>,
    options?: { readonly onInterrupt?: ((playedMs: number) => Effect.Effect<void, never, R>) | undefined }
  ) => Effect.Effect<number, E | AudioDeviceError, R>
}

/**
 * Opens the speaker in the current Scope: an AudioContext at `sampleRate` (its own unless given) and
 * a playback worklet. Closing the Scope stops playback at once. Fails with `AudioDeviceError`
 * (`Suspended`: the context did not resume, start from a user gesture; `Unsupported`, `Worklet`).
 *
 * @example
 * ```ts
 * import * as Speaker from "@realtime-fx/browser/Speaker"
 * import type { Generation } from "@realtime-fx/core/Generation"
 * import type { RealtimeSessionService } from "@realtime-fx/core/RealtimeSession"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * // Plays each message of a reply. Interrupted (barge-in, or the reply's scope closed), it stops at
 * // once and truncates the message at what the user heard.
 * const speak = (session: RealtimeSessionService, speaker: Speaker.Speaker, reply: Generation) =>
 *   reply.messages.pipe(Stream.runForEach((message) =>
 *     speaker.play(message.audio, {
 *       onInterrupt: (audioEndMs) =>
 *         session.truncate({ messageId: message.messageId, modalities: ["audio"], audioEndMs }).pipe(Effect.ignore)
 *     })
 *   ))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const sink = (options: Options = {}): Effect.Effect<Speaker, AudioDeviceError, Scope.Scope> =>
  Effect.gen(function*() {
    const sampleRate = options.sampleRate ?? 24000
    const context = yield* Context.acquire({
      device: "speaker",
      context: options.context,
      sampleRate,
      resumeTimeout: options.resumeTimeout ?? "2 seconds"
    })
    if (context.sampleRate !== sampleRate) {
      return yield* new AudioDeviceError({
        reason: "SampleRate",
        message: `the speaker's AudioContext runs at ${context.sampleRate} Hz, not ${sampleRate} Hz`
      })
    }
    yield* Context.load(context, Worklets.playbackProcessorName, Worklets.playbackSource)
    const zero: Progress = { playedMs: 0, playedFrames: 0, level: 0, underruns: 0 }
    // Mutable state, touched only on the page's single thread (worklet messages and the effects below).
    let progress = zero
    /** Writes so far; the worklet reports the last one it had when an ended stream played out. */
    let written = 0
    let drainedUpTo = 0
    let drainedMs = 0
    const interruptWaiters = new Map<number, Deferred.Deferred<number>>()
    let drainWaiters: Array<Deferred.Deferred<number>> = []
    let nextId = 0
    /** Set by `interrupt`: the interrupted stream's later frames are dropped until `reset`. */
    let stopped = false
    const ms = (frames: number) => framesToMs(frames, sampleRate)
    const wakeDrainWaiters = (value: number) => {
      const waiting = drainWaiters
      drainWaiters = []
      for (const d of waiting) Deferred.unsafeDone(d, Effect.succeed(value))
    }
    const node = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const node = new AudioWorkletNode(context, Worklets.playbackProcessorName, {
          numberOfInputs: 0,
          numberOfOutputs: 1,
          outputChannelCount: [1],
          processorOptions: {
            startFrames: frameSamples(sampleRate, options.jitterMs ?? 60),
            reportFrames: frameSamples(sampleRate, 20)
          }
        })
        node.port.onmessage = (event: MessageEvent<Worklets.PlaybackReport>) => {
          const report = event.data
          switch (report.type) {
            case "progress":
              progress = { playedMs: ms(report.played), playedFrames: report.played, level: report.rms, underruns: report.underruns }
              break
            case "drained":
              drainedUpTo = report.seq
              drainedMs = ms(report.played)
              if (drainedUpTo === written) wakeDrainWaiters(drainedMs)
              break
            case "interrupted": {
              const d = interruptWaiters.get(report.id)
              interruptWaiters.delete(report.id)
              if (d !== undefined) Deferred.unsafeDone(d, Effect.succeed(ms(report.played)))
              break
            }
          }
        }
        node.connect(context.destination)
        return node
      }),
      (node) =>
        Effect.sync(() => {
          node.port.postMessage({ type: "interrupt", id: -1 } satisfies Worklets.PlaybackCommand)
          node.port.onmessage = null
          node.disconnect()
          wakeDrainWaiters(progress.playedMs)
        })
    )
    const post = (command: Worklets.PlaybackCommand, transfer: Array<Transferable> = []) =>
      Effect.sync(() => node.port.postMessage(command, transfer))

    const write = (frame: AudioFrame.AudioFrame): Effect.Effect<void, AudioDeviceError> =>
      frame.sampleRate !== sampleRate || frame.channels !== 1
        ? Effect.fail(new AudioDeviceError({
          reason: "SampleRate",
          message: `the speaker plays mono ${sampleRate} Hz audio, got ${frame.channels} channel(s) at ${frame.sampleRate} Hz`
        }))
        : Effect.suspend(() => {
          if (stopped || frame.data.length === 0) return Effect.void
          // A copy: the frame's buffer may be shared or reused by its producer.
          const samples = frame.data.slice()
          return post({ type: "pcm", samples, seq: ++written }, [samples.buffer])
        })

    const interrupt: Effect.Effect<number> = Effect.gen(function*() {
      stopped = true
      const id = nextId++
      const answer = yield* Deferred.make<number>()
      interruptWaiters.set(id, answer)
      yield* post({ type: "interrupt", id })
      // A context that stopped rendering answers no message: the last report is the best count then.
      const played = yield* Deferred.await(answer).pipe(Effect.timeout("500 millis"), Effect.option)
      interruptWaiters.delete(id)
      const result = Option.getOrElse(played, () => progress.playedMs)
      progress = zero
      drainedUpTo = written
      wakeDrainWaiters(result)
      return result
    })

    const drained: Effect.Effect<number> = Effect.suspend(() => {
      if (drainedUpTo === written) return Effect.succeed(drainedMs)
      return Effect.flatMap(Deferred.make<number>(), (d) => {
        drainWaiters.push(d)
        return Deferred.await(d)
      })
    })

    const reset = Effect.zipRight(
      post({ type: "reset" }),
      Effect.sync(() => {
        progress = zero
        stopped = false
      })
    )
    const end = post({ type: "end" })

    const play = <E, R = never>(
      audio: Stream.Stream<AudioFrame.AudioFrame, E>,
      playOptions?: { readonly onInterrupt?: ((playedMs: number) => Effect.Effect<void, never, R>) | undefined }
    ): Effect.Effect<number, E | AudioDeviceError, R> =>
      Effect.zipRight(
        reset,
        Effect.zipRight(Stream.runForEach(audio, write), Effect.zipRight(end, drained)).pipe(
          Effect.onInterrupt(() =>
            Effect.flatMap(interrupt, (playedMs) => playOptions?.onInterrupt?.(playedMs) ?? Effect.void)
          )
        )
      )

    return {
      sampleRate,
      write,
      end,
      reset,
      interrupt,
      progress: Effect.sync(() => progress),
      drained,
      play
    } satisfies Speaker
  })
