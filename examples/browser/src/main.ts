/**
 * The voice page: connects with a client secret from its server, streams the microphone, plays the
 * replies, shows the transcripts, tool calls and reply level, and truncates a reply at what was heard
 * when interrupted (the Interrupt button, or speaking over it with voice activity).
 */
import * as BrowserTransport from "@realtime-fx/browser/BrowserTransport"
import * as Microphone from "@realtime-fx/browser/Microphone"
import * as Speaker from "@realtime-fx/browser/Speaker"
import type * as Generation from "@realtime-fx/core/Generation"
import * as RealtimeSession from "@realtime-fx/core/RealtimeSession"
import { Resampler } from "@realtime-fx/core/Resampler"
import * as Tool from "@realtime-fx/core/Tool"
import { Transport } from "@realtime-fx/core/Transport"
import * as Xai from "@realtime-fx/core/Xai"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const ui = {
  state: $<HTMLSpanElement>("state"),
  mode: $<HTMLSelectElement>("mode"),
  connect: $<HTMLButtonElement>("connect"),
  talk: $<HTMLButtonElement>("talk"),
  interrupt: $<HTMLButtonElement>("interrupt"),
  user: $<HTMLDivElement>("user-transcript"),
  assistant: $<HTMLDivElement>("assistant-transcript"),
  tools: $<HTMLUListElement>("tools"),
  level: $<HTMLMeterElement>("level"),
  played: $<HTMLSpanElement>("played"),
  truncated: $<HTMLSpanElement>("truncated"),
  error: $<HTMLDivElement>("error")
}

/** What the page has observed, for people (the DOM) and for the browser test (`window.realtimeFx`). */
const observed = {
  state: "idle",
  framesSent: 0,
  /** Frames the speaker's worklet has played of the current message, and the most of any message. */
  playedFrames: 0,
  maxPlayedFrames: 0,
  maxLevel: 0,
  truncatedAtMs: undefined as number | undefined,
  /** `performance.now()` when the current message started playing (estimated at its first report), and at the interrupt. */
  firstPlayedAt: undefined as number | undefined,
  interruptedAt: undefined as number | undefined,
  interruptedPlayedFramesAfter: undefined as number | undefined
}
;(window as unknown as { realtimeFx: typeof observed }).realtimeFx = observed

/**
 * Diagnostics (used by the browser test): opens one connection with the given client secret through
 * the browser transport and says how it went, e.g. the typed error of a refused handshake.
 */
const probeHandshake = (realtimeUrl: string, clientSecret: string) =>
  Effect.gen(function*() {
    const model = yield* Xai.make({ clientSecret: Redacted.make(clientSecret), baseUrl: realtimeUrl })
    const transport = yield* Transport
    yield* transport.open(model.request())
    return { outcome: "open" }
  }).pipe(
    Effect.scoped,
    Effect.catchAll((error) =>
      Effect.succeed({ outcome: error._tag, message: error.message, code: "code" in error ? error.code : undefined })
    ),
    Effect.provide(BrowserTransport.layerWith({ openTimeout: "5 seconds" })),
    Effect.runPromise
  )
;(window as unknown as { realtimeFxProbe: typeof probeHandshake }).realtimeFxProbe = probeHandshake

const setState = (state: string) => {
  observed.state = state
  ui.state.textContent = state
  ui.state.dataset.state = state
}

const getWeather = Tool.make("get_weather", {
  description: "The current weather in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  handler: ({ city }) => Effect.succeed({ city, forecast: "sunny", temperatureC: 21 })
})

interface Grant {
  readonly clientSecret: string
  readonly realtimeUrl: string | null
}

/** Asks the page's server for a client secret (the API key stays on the server). */
const fetchGrant = Effect.tryPromise({
  try: async () => {
    const response = await fetch("session", { method: "POST" })
    if (!response.ok) throw new Error(`the client-secret route answered HTTP ${response.status}: ${await response.text()}`)
    return (await response.json()) as Grant
  },
  catch: (cause) => new Error(`no client secret: ${cause instanceof Error ? cause.message : String(cause)}`)
})

/** The message playing now: its id and the fiber playing it. */
let current: { readonly messageId: string; readonly fiber: Fiber.RuntimeFiber<number, unknown> } | undefined
let talking = false

const session = (grant: Grant, pushToTalk: boolean) =>
  Effect.gen(function*() {
    yield* BrowserTransport.checkModel
    // The speaker's AudioContext first, while the Connect click still counts as a user gesture.
    const speaker = yield* Speaker.sink({ jitterMs: 60 })
    const session = yield* RealtimeSession.make()
    // make() starts connecting and returns: the state follows the session's Connected events
    // (subscribed to right away, before the socket can open).
    const events = yield* session.subscribeEvents
    const generations = yield* session.subscribeGenerations

    /** Stops the reply at once and truncates it at what the worklet played. */
    const interrupt = Effect.gen(function*() {
      const playing = current
      if (playing === undefined) return
      current = undefined
      observed.interruptedAt = performance.now()
      const audioEndMs = yield* speaker.interrupt
      yield* Fiber.interrupt(playing.fiber)
      yield* session.interrupt
      yield* session.truncate({ messageId: playing.messageId, modalities: ["audio"], audioEndMs })
      observed.truncatedAtMs = audioEndMs
      ui.truncated.textContent = `${audioEndMs} ms`
      // Nothing more plays: the test reads this a moment later.
      yield* Effect.sleep("300 millis")
      observed.interruptedPlayedFramesAfter = (yield* speaker.progress).playedFrames
    })

    yield* events.pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => {
          switch (event._tag) {
            case "Connected":
            case "Reconnected":
              return setState("connected")
            case "Disconnected":
              return setState("reconnecting")
            case "InputTranscription":
              ui.user.textContent = event.transcript
              return
            case "FunctionCallExecuted": {
              const li = document.createElement("li")
              li.textContent = `${event.call.name}(${event.call.arguments}) → ${event.output}`
              ui.tools.append(li)
              return
            }
            case "SpeechStarted":
              // Barge-in: the user speaks over the reply.
              if (current !== undefined) runtimeFork(interrupt)
              return
            case "Closed":
              return setState("closed")
          }
        })
      ),
      Effect.forkScoped
    )

    const playMessage = (message: Generation.MessageGeneration) =>
      Effect.gen(function*() {
        ui.assistant.textContent = ""
        yield* message.text.pipe(
          Stream.runForEach((delta) => Effect.sync(() => void ui.assistant.append(delta.text))),
          Effect.ignore,
          Effect.forkScoped
        )
        const fiber = yield* Effect.fork(speaker.play(message.audio))
        current = { messageId: message.messageId, fiber }
        yield* Fiber.await(fiber)
        if (current?.fiber === fiber) current = undefined
      }).pipe(Effect.scoped)

    yield* generations.pipe(
      Stream.runForEach((generation) => generation.messages.pipe(Stream.runForEach(playMessage), Effect.ignore)),
      Effect.forkScoped
    )

    // The reply level and the worklet's count, about 20 times a second.
    yield* speaker.progress.pipe(
      Effect.tap((p) =>
        Effect.sync(() => {
          // When the message started playing: now, less what the worklet has played so far.
          if (observed.playedFrames === 0 && p.playedFrames > 0) observed.firstPlayedAt = performance.now() - p.playedMs
          observed.playedFrames = p.playedFrames
          observed.maxPlayedFrames = Math.max(observed.maxPlayedFrames, p.playedFrames)
          observed.maxLevel = Math.max(observed.maxLevel, p.level)
          ui.level.value = p.level
          ui.played.textContent = String(p.playedMs)
        })
      ),
      Effect.repeat(Schedule.spaced("50 millis")),
      Effect.forkScoped
    )

    // Frames at the AudioContext's own rate (often 48 kHz): the session resamples to 24 kHz.
    yield* Microphone.source({ frameMs: 20 }).pipe(
      Stream.runForEach((frame) => {
        if (pushToTalk && !talking) return Effect.void
        observed.framesSent++
        return session.pushAudio(frame)
      }),
      Effect.forkScoped
    )

    ui.interrupt.disabled = false
    ui.interrupt.onclick = () => runtimeFork(interrupt)
    if (pushToTalk) {
      ui.talk.disabled = false
      ui.talk.onpointerdown = () => {
        talking = true
        ui.talk.classList.add("held")
        if (current !== undefined) runtimeFork(interrupt)
      }
      ui.talk.onpointerup = () => {
        talking = false
        ui.talk.classList.remove("held")
        runtimeFork(Effect.zipRight(session.commitAudio, Effect.scoped(Effect.flatMap(session.generateReply(), (g) => g.done))))
      }
    }
    return yield* session.awaitClosed
  }).pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(
      Xai.layer({
        clientSecret: Redacted.make(grant.clientSecret),
        ...(grant.realtimeUrl !== null ? { baseUrl: grant.realtimeUrl } : {}),
        instructions: "You are a friendly voice assistant. Answer briefly.",
        tools: [getWeather],
        // Voice activity waits for 600 ms of silence, so a pause after "Hello!" does not end the turn.
        turnDetection: pushToTalk ? null : { ...Xai.defaultTurnDetection, silence_duration_ms: 600 },
        inputAudioTranscription: { language_hint: "en" }
      }),
      BrowserTransport.layer,
      Resampler.layer
    ))
  )

const runtimeFork = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.runFork(effect.pipe(Effect.catchAllCause((cause) => Effect.sync(() => showError(cause)))))

const showError = (cause: Cause.Cause<unknown>) => {
  if (Cause.isInterruptedOnly(cause)) return
  setState("error")
  ui.error.textContent = Cause.pretty(cause)
}

ui.connect.onclick = () => {
  ui.connect.disabled = true
  ui.mode.disabled = true
  setState("connecting")
  runtimeFork(Effect.flatMap(fetchGrant, (grant) => session(grant, ui.mode.value === "ptt")))
}
