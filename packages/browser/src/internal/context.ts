/**
 * AudioContext plumbing shared by the microphone and the speaker: creating or borrowing a context,
 * resuming it, loading a worklet module.
 *
 * @since 0.2.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { AudioDeviceError } from "../AudioDeviceError.js"
import * as Errors from "./deviceErrors.js"
import * as Worklets from "./worklets.js"

/**
 * The given context, or a new one (closed with the Scope) at `sampleRate` when given. Either way it
 * must be running: a suspended one is resumed, and one still suspended after `resumeTimeout` fails
 * with `Suspended`.
 *
 * @internal
 */
export const acquire = (options: {
  readonly device: "microphone" | "speaker"
  readonly context?: AudioContext | undefined
  readonly sampleRate?: number | undefined
  readonly resumeTimeout: Duration.DurationInput
}): Effect.Effect<AudioContext, AudioDeviceError, Scope.Scope> =>
  Effect.gen(function*() {
    const context = options.context ?? (yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          if (typeof AudioContext === "undefined") throw Errors.unsupported("AudioContext")
          return new AudioContext(options.sampleRate !== undefined ? { sampleRate: options.sampleRate } : {})
        },
        catch: (cause) =>
          cause instanceof AudioDeviceError
            ? cause
            : new AudioDeviceError({ reason: "Unsupported", message: `cannot create an AudioContext: ${String(cause)}` })
      }),
      (context) => Effect.promise(() => context.close().catch(() => undefined))
    ))
    if (context.audioWorklet === undefined) return yield* Effect.fail(Errors.unsupported("AudioWorklet"))
    if (context.state !== "running") {
      yield* Effect.promise(() => context.resume().catch(() => undefined)).pipe(
        Effect.timeout(Duration.decode(options.resumeTimeout)),
        Effect.ignore
      )
      if ((context.state as AudioContextState) !== "running") return yield* Effect.fail(Errors.suspended(options.device))
    }
    return context
  })

/**
 * Loads a processor into the context (once per context and processor).
 *
 * @internal
 */
export const load = (context: BaseAudioContext, name: string, source: string): Effect.Effect<void, AudioDeviceError> =>
  Effect.suspend(() => {
    const loaded = loadedModules.get(context) ?? new Set<string>()
    loadedModules.set(context, loaded)
    if (loaded.has(name)) return Effect.void
    return Effect.tryPromise({
      try: () => Worklets.addModule(context, source),
      catch: (cause) => new AudioDeviceError({ reason: "Worklet", message: `cannot load the ${name} worklet: ${String(cause)}` })
    }).pipe(Effect.tap(() => Effect.sync(() => loaded.add(name))))
  })

const loadedModules = new WeakMap<BaseAudioContext, Set<string>>()
