// Test harness for RealtimeSession: an xAI model over the MockTransport, and a scripted server.
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { MockServer } from "@realtime-fx/test-kit/MockTransport"
import * as MockTransport from "@realtime-fx/test-kit/MockTransport"
import * as AudioFrame from "../../src/AudioFrame.js"
import type * as Generation from "../../src/Generation.js"
import * as RealtimeSession from "../../src/RealtimeSession.js"
import type { SessionEvent } from "../../src/RealtimeSession.js"
import * as Tool from "../../src/Tool.js"
import { Resampler } from "../../src/Resampler.js"
import * as Xai from "../../src/Xai.js"

/** Lets forked fibers run until they block. */
export const settle = Effect.gen(function*() {
  for (let i = 0; i < 40; i++) yield* Effect.yieldNow()
})

/** MockTransport (frames pulled from `messages`, or pushed through `listen` with `push`) + an xAI model + the linear resampler. */
export const layer = (options: Xai.Options = {}, transport: { readonly push?: boolean } = {}) =>
  Layer.mergeAll(
    MockTransport.layer({
      push: transport.push,
      // A scripted server keeps no conversation: each connection is a new one (resuming falls back to the replay).
      greeting: (connection) => [
        { type: "session.created", event_id: "ev_s", session: { id: `sess_${connection}` } },
        { type: "conversation.created", event_id: "ev_c", conversation: { id: `conv_${connection}` } }
      ]
    }),
    Xai.layer({ apiKey: Redacted.make("xai-test-key"), ...options }).pipe(Layer.orDie),
    Resampler.layerLinear
  )

/** 100 ms of 24 kHz audio, base64. */
export const audio100ms = AudioFrame.encodeBase64(new Int16Array(2400).fill(1000))

let n = 0

/** The scripted server sends one event (with a fresh event_id). */
const serverSends = (event: { readonly type: string } & Record<string, unknown>) =>
  MockServer.pipe(Effect.flatMap((s) => s.send({ ...event, event_id: `ev_${n++}` })))

/** Server-side script helpers (plain JSON, as the wire carries it). */
export const script = {
  responseCreated: (responseId: string, clientEventId?: string) =>
    serverSends({
      type: "response.created",
      response: {
        id: responseId,
        object: "realtime.response",
        status: "in_progress",
        output: [],
        ...(clientEventId !== undefined ? { metadata: { client_event_id: clientEventId } } : {})
      }
    }),
  messageAdded: (responseId: string, itemId: string) =>
    serverSends({
      type: "response.output_item.added",
      response_id: responseId,
      output_index: 0,
      item: { id: itemId, object: "realtime.item", type: "message", status: "in_progress", role: "assistant", content: [] }
    }),
  audioDelta: (responseId: string, itemId: string) =>
    serverSends({
      type: "response.output_audio.delta",
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta: audio100ms
    }),
  transcriptDelta: (responseId: string, itemId: string, delta: string) =>
    serverSends({
      type: "response.output_audio_transcript.delta",
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta
    }),
  textDelta: (responseId: string, itemId: string, delta: string) =>
    serverSends({
      type: "response.text.delta",
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta
    }),
  messageDone: (responseId: string, itemId: string) =>
    serverSends({
      type: "response.output_item.done",
      response_id: responseId,
      output_index: 0,
      item: { id: itemId, object: "realtime.item", type: "message", status: "completed", role: "assistant", content: [] }
    }),
  functionCallDone: (responseId: string, itemId: string, callId: string, name: string, args: string) =>
    serverSends({
      type: "response.output_item.done",
      response_id: responseId,
      output_index: 0,
      item: { id: itemId, object: "realtime.item", type: "function_call", status: "completed", call_id: callId, name, arguments: args }
    }),
  responseDone: (responseId: string, status = "completed") =>
    serverSends({
      type: "response.done",
      response: {
        id: responseId,
        object: "realtime.response",
        status,
        output: [],
        usage: {
          total_tokens: 30,
          input_tokens: 10,
          output_tokens: 20,
          input_token_details: { text_tokens: 4, audio_tokens: 6, cached_tokens: 0 },
          output_token_details: { text_tokens: 5, audio_tokens: 15 }
        }
      }
    }),
  itemAdded: (item: Record<string, unknown>, previousItemId: string | null) =>
    serverSends({ type: "conversation.item.added", previous_item_id: previousItemId, item }),
  itemDeleted: (itemId: string) =>
    serverSends({ type: "conversation.item.deleted", item_id: itemId }),
  transcriptionCompleted: (itemId: string, transcript: string) =>
    serverSends({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: itemId,
      content_index: 0,
      transcript
    }),
  speechStarted: (itemId: string) =>
    serverSends({ type: "input_audio_buffer.speech_started", audio_start_ms: 0, item_id: itemId }),
  error: (message: string, code?: string) =>
    serverSends({ type: "error", error: { type: "invalid_request_error", code, message } })
}

/** A user message item as the server announces it. */
export const userItem = (id: string, text: string) => ({
  id,
  object: "realtime.item",
  type: "message",
  role: "user",
  content: [{ type: "input_text", text }]
})

/**
 * Opens a session and waits for its connection; collects its events and generations from the
 * start, and gives a generations subscription too.
 */
export const open = (options?: RealtimeSession.SessionOptions) =>
  Effect.gen(function*() {
    const session = yield* RealtimeSession.make(options)
    const collected: Array<SessionEvent> = []
    yield* (yield* session.subscribeEvents).pipe(
      Stream.runForEach((e) => Effect.sync(() => collected.push(e))),
      Effect.forkScoped
    )
    const gens: Array<Generation.Generation> = []
    yield* (yield* session.subscribeGenerations).pipe(
      Stream.runForEach((g) => Effect.sync(() => gens.push(g))),
      Effect.forkScoped
    )
    const generations = yield* session.subscribeGenerations
    const server = yield* MockServer
    yield* server.awaitConnection
    yield* settle
    return { session, server, collected, gens, generations } as const
  })

/** The scripted server creates `responseId`; resolves to the Generation the session delivers for it. */
export const created = <E>(generations: Stream.Stream<Generation.Generation, E>, responseId: string) =>
  Effect.gen(function*() {
    const first = yield* Effect.fork(Stream.runHead(generations))
    yield* script.responseCreated(responseId)
    return Option.getOrThrow(yield* Fiber.join(first))
  })

/** The `metadata.client_event_id` of a `response.create` the client sent. */
export const clientEventId = (frame: { readonly event: Record<string, unknown> }) =>
  ((frame.event["response"] as { metadata: { client_event_id: string } }).metadata).client_event_id

/** A tool that answers at once. */
export const weather = Tool.make("get_weather", {
  description: "Weather for a city",
  parameters: Schema.Struct({ city: Schema.String }),
  handler: ({ city }) => Effect.succeed(`Sunny in ${city}`)
})

/** The `_tag` of an exit's typed failure (undefined for a success, a defect or an interruption). */
export const failureTag = (exit: Exit.Exit<unknown, { readonly _tag: string }>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause))?._tag : undefined
