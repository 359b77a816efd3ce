/**
 * The demo's conversation: one session, its progress lines, the input audio, until the turn is over
 * (or the session fails, or the server heard no speech).
 *
 * @internal
 */
import * as AudioFrame from "@realtime-fx/core/AudioFrame"
import type * as Generation from "@realtime-fx/core/Generation"
import * as RealtimeSession from "@realtime-fx/core/RealtimeSession"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { DemoError } from "./demoError.js"
import * as Format from "./demoFormat.js"
import type { Output } from "./demoOutput.js"
import * as Turn from "./demoTurn.js"

/** What the conversation gathered for the report. */
export interface Collected {
  readonly frames: Array<AudioFrame.AudioFrame>
  readonly metrics: Array<Generation.GenerationMetrics>
  readonly toolCalls: Array<{ readonly name: string; readonly arguments: string; readonly output: string }>
  replyTranscript: string
  inputTranscript: string | undefined
}

/** How the conversation runs. */
export interface ConverseOptions {
  /** Where the session connects (shown on the "connecting" line). */
  readonly endpoint: string
  readonly pacing: "realtime" | "fast"
  readonly frameMs: number
  /** Once connected and all input is sent, how long to wait for speech before failing. */
  readonly noSpeechTimeout: Duration.DurationInput
  /** When the run started (the time stamps count from it). */
  readonly startMs: number
}

/** Runs the conversation; `state` and `collected` are updated as it goes (read them on a timeout). */
export const converse = (
  options: ConverseOptions,
  output: Output,
  audio: ReadonlyArray<AudioFrame.AudioFrame>,
  state: Ref.Ref<Turn.TurnState>,
  collected: Collected
) =>
  Effect.gen(function*() {
    const say = (name: string, text: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        output.line(`${Format.stamp(now - options.startMs)} ${Format.label(name)} ${text}`.trimEnd()))
    const done = yield* Deferred.make<void>()
    const connected = yield* Deferred.make<void>()
    const update = (f: (s: Turn.TurnState) => Turn.TurnState) =>
      Ref.updateAndGet(state, f).pipe(
        Effect.flatMap((s) => (Turn.isDone(s) ? Deferred.succeed(done, undefined) : Effect.void)),
        Effect.asVoid
      )

    yield* say("connecting", options.endpoint)
    const session = yield* RealtimeSession.make()
    const events = yield* session.subscribeEvents
    const generations = yield* session.subscribeGenerations

    const onEvent = (event: RealtimeSession.SessionEvent): Effect.Effect<void> => {
      const print = ((): Effect.Effect<void> => {
        switch (event._tag) {
          case "Connected":
            return say("connected", `connection #${event.connection}`)
          case "Disconnected":
            return say("disconnected", event.error === undefined ? "" : Format.describeError(event.error))
          case "Reconnected":
            return say("reconnected", `connection #${event.connection}`)
          case "SpeechStarted":
            return say("speech started", event.audioStartMs === undefined ? "" : `at ${event.audioStartMs} ms`)
          case "SpeechStopped":
            return say("speech stopped", event.audioEndMs === undefined ? "" : `at ${event.audioEndMs} ms`)
          case "InputTranscription":
            if (!event.isFinal) return output.live(`you (partial): ${event.transcript}`)
            collected.inputTranscript = event.transcript
            return say("you said", `"${event.transcript}"`)
          case "GenerationCreated":
            return say("generation", `${event.responseId} created${event.userInitiated ? " (requested)" : ""}`)
          case "FunctionCallExecuted":
            collected.toolCalls.push({ name: event.call.name, arguments: event.call.arguments, output: event.output })
            return say("tool output", `${event.call.name} -> ${event.output}`)
          case "Warning":
            return say("warning", event.message)
          case "Error":
            return say("error", `${Format.describeError(event.error)}${event.recoverable ? "" : " (session ended)"}`)
          default:
            return Effect.void
        }
      })()
      return Effect.zipRight(print, update((s) => Turn.onEvent(s, event))).pipe(
        Effect.zipRight(event._tag === "Connected" ? Deferred.succeed(connected, undefined) : Effect.void)
      )
    }

    const onMessage = (message: Generation.MessageGeneration) =>
      Effect.gen(function*() {
        let text = ""
        let audioMs = 0
        const showLive = Effect.suspend(() =>
          output.live(`assistant${audioMs > 0 ? ` [${Math.round(audioMs)} ms audio]` : ""}: ${text}`)
        )
        const texts = Stream.runForEach(message.text, (delta) =>
          Effect.suspend(() => {
            text += delta.text
            return showLive
          }))
        const frames = Stream.runForEach(message.audio, (frame) =>
          Effect.suspend(() => {
            collected.frames.push(frame)
            audioMs += AudioFrame.durationMs(frame)
            return showLive
          }))
        yield* Effect.all([texts, frames], { concurrency: 2, discard: true })
        const transcript = text.trim()
        if (transcript !== "") {
          collected.replyTranscript = collected.replyTranscript === "" ? transcript : `${collected.replyTranscript} ${transcript}`
          yield* say("assistant", `"${transcript}"`)
        }
        if (audioMs > 0) yield* say("reply audio", `${Math.round(audioMs)} ms received`)
        return transcript !== "" || audioMs > 0
      })

    const onGeneration = (generation: Generation.Generation) => {
      let replied = false
      return Effect.gen(function*() {
        const messages = Stream.runForEach(generation.messages, (message) =>
          Effect.map(onMessage(message), (produced) => {
            if (produced) replied = true
          }))
        const calls = Stream.runForEach(generation.functionCalls, (call) => say("tool call", `${call.name}(${call.arguments})`))
        yield* Effect.all([messages, calls], { concurrency: 2, discard: true })
        const summary = yield* generation.done
        if (summary.metrics !== undefined) collected.metrics.push(summary.metrics)
        const status = summary.status === "completed" ? "" : ` (${summary.status})`
        yield* say(
          "response done",
          `${summary.responseId}${status}${summary.metrics === undefined ? "" : `: ${Format.metricsLine(summary.metrics)}`}`
        )
      }).pipe(
        Effect.catchAll((error) => say("error", `${generation.responseId} ended early: ${Format.describeError(error)}`)),
        Effect.ensuring(Effect.suspend(() => update((s) => Turn.onFinished(s, generation.responseId, replied))))
      )
    }

    yield* Effect.forkScoped(Stream.runForEach(events, onEvent))
    yield* Effect.forkScoped(Stream.runForEach(generations, (generation) => Effect.forkScoped(onGeneration(generation))))

    const feed = Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      for (let i = 0; i < audio.length; i++) {
        if (options.pacing !== "fast") {
          const wait = start + i * options.frameMs - (yield* Clock.currentTimeMillis)
          if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
        }
        yield* session.pushAudio(audio[i]!)
      }
      yield* update(Turn.onAudioSent)
    })

    const fatal = (error: unknown) => new DemoError({ message: Format.describeError(error) })
    // A server that heard no speech never answers: once connected and everything is sent, say so
    // early. Before a connection (an unresponsive host) silence proves nothing: the session's
    // connection error, or the run's timeout naming the connection, reports that case.
    const noSpeech = Deferred.await(connected).pipe(
      Effect.zipRight(Effect.sleep(options.noSpeechTimeout)),
      Effect.zipRight(Ref.get(state)),
      Effect.flatMap((s) =>
        s.speechSeen || !s.connected
          ? Effect.never
          : Effect.fail(new DemoError({ message: "no speech was detected in the input audio (is it silent?)" }))
      )
    )
    yield* Effect.raceFirst(
      Effect.zipRight(Effect.mapError(feed, fatal), Effect.raceFirst(Deferred.await(done), noSpeech)),
      Effect.mapError(session.awaitClosed, fatal)
    )
  })
