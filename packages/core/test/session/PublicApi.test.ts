// The session's public API as engine v2 shapes it: updateOptions validation, manual tools, interrupt,
// serialised chat syncs, metrics for every response, the session's end reaching its streams.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as MockTransport from "@realtime-fx/test-kit/MockTransport"
import { MockServer } from "@realtime-fx/test-kit/MockTransport"
import * as Chat from "../../src/ChatContext.js"
import type { SessionEvent } from "../../src/RealtimeSession.js"
import * as RealtimeSession from "../../src/RealtimeSession.js"
import { Resampler } from "../../src/Resampler.js"
import * as Xai from "../../src/Xai.js"
import { clientEventId, layer, open, script, settle, userItem, weather } from "./harness.js"

const typesSent = (frames: ReadonlyArray<{ readonly type: string }>) => frames.map((f) => f.type)

describe("RealtimeSession public API (engine v2)", () => {
  it.scoped("updateOptions normalises like the layer and refuses what cannot change mid-session, sending nothing", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      const before = (yield* server.clientEvents).length
      yield* session.updateOptions({ voice: "Eve", speed: 1.2 })
      const refused = yield* session.updateOptions({ model: "grok-2" } as never).pipe(Effect.flip)
      assert.strictEqual(refused._tag, "ConfigurationError")
      assert.include(refused.message, "`model` cannot change mid-session")
      const badSpeed = yield* session.updateOptions({ speed: 9 }).pipe(Effect.flip)
      assert.strictEqual(badSpeed._tag, "ConfigurationError")
      yield* settle
      const sent = (yield* server.clientEvents).slice(before)
      assert.deepStrictEqual(typesSent(sent), ["session.update"])
      assert.deepStrictEqual(sent[0]!.event["session"], { voice: "eve", audio: { output: { speed: 1.2 } } })
    }).pipe(Effect.provide(layer())))

  it.scoped("manual tool execution: the call comes out on functionCalls, nothing is sent until sendToolOutput", () =>
    Effect.gen(function*() {
      const session = yield* RealtimeSession.make({ toolExecution: "manual" })
      const server = yield* MockServer
      yield* server.awaitConnection
      const generations = yield* session.subscribeGenerations
      yield* script.responseCreated("resp_1")
      const gen = Option.getOrThrow(yield* Stream.runHead(generations))
      yield* script.functionCallDone("resp_1", "item_fc", "call_1", "get_weather", "{\"city\":\"Paris\"}")
      yield* script.responseDone("resp_1")
      const calls = yield* Stream.runCollect(gen.functionCalls)
      assert.deepStrictEqual([...calls].map((c) => c.callId), ["call_1"])
      yield* settle
      const sentBefore = typesSent(yield* server.clientEvents)
      assert.notInclude(sentBefore, "conversation.item.create", "no output sent by the session")
      assert.notInclude(sentBefore, "response.create")

      const unknown = yield* session.sendToolOutput("call_nope", "x").pipe(Effect.flip)
      assert.strictEqual(unknown._tag, "UnknownCallError")
      yield* session.sendToolOutput("call_1", "Sunny in Paris")
      const output = yield* server.nextClientEventOfType("conversation.item.create")
      assert.deepStrictEqual(output.event["item"], { type: "function_call_output", call_id: "call_1", output: "Sunny in Paris" })
      const again = yield* session.sendToolOutput("call_1", "twice").pipe(Effect.flip)
      assert.strictEqual(again._tag, "UnknownCallError", "a call is answered once")
      yield* settle
      assert.notInclude(typesSent(yield* server.clientEvents), "response.create", "the app asks for the reply itself")
    }).pipe(Effect.provide(layer({ tools: [weather] }))))

  it.scoped("interrupt with no active response sends nothing", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      const before = (yield* server.clientEvents).length
      yield* session.interrupt
      yield* settle
      assert.strictEqual((yield* server.clientEvents).length, before)
    }).pipe(Effect.provide(layer())))

  it.scoped("concurrent updateChatContext calls are serialised: no item is created twice", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      const wanted = Chat.make([Chat.message("a", "user", "hello")])
      const first = yield* Effect.fork(session.updateChatContext(wanted))
      const second = yield* Effect.fork(session.updateChatContext(wanted))
      yield* settle
      const creates = () =>
        server.clientEvents.pipe(Effect.map((fs) => fs.filter((f) => f.type === "conversation.item.create")))
      assert.strictEqual((yield* creates()).length, 1, "the second waits for the first")
      yield* script.itemAdded(userItem("a", "hello"), null)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      assert.strictEqual((yield* creates()).length, 1, "then finds nothing left to do")
    }).pipe(Effect.provide(layer())))

  it.scoped("every response the server created gets one Metrics event, a released one too (cancelled)", () =>
    Effect.gen(function*() {
      const { session, server, collected } = yield* open()
      yield* Effect.scoped(Effect.gen(function*() {
        const fiber = yield* Effect.fork(session.generateReply())
        const create = yield* server.nextClientEventOfType("response.create")
        yield* script.responseCreated("resp_1", clientEventId(create))
        yield* Fiber.join(fiber)
      }))
      yield* settle
      const metrics = collected.filter((e): e is Extract<SessionEvent, { _tag: "Metrics" }> => e._tag === "Metrics")
      assert.deepStrictEqual(metrics.map((m) => [m.metrics.requestId, m.metrics.cancelled]), [["resp_1", true]])
      const cancel = yield* server.nextClientEventOfType("response.cancel")
      assert.strictEqual(cancel.event["response_id"], "resp_1")
    }).pipe(Effect.provide(layer())))

  it.scoped("a refused key ends the session: streams fail with AuthenticationError, not NoSuchElement", () =>
    Effect.gen(function*() {
      const session = yield* RealtimeSession.make()
      const generations = yield* session.subscribeGenerations
      const events = yield* session.subscribeEvents
      const server = yield* MockServer
      yield* server.awaitConnection
      yield* server.send({ type: "error", error: { type: "invalid_request_error", code: "invalid_api_key", message: "bad key" } })
      const head = yield* Stream.runHead(generations).pipe(Effect.either)
      assert.isTrue(Either.isLeft(head) && head.left._tag === "AuthenticationError")
      const seen: Array<string> = []
      const end = yield* events.pipe(Stream.runForEach((e) => Effect.sync(() => seen.push(e._tag))), Effect.either)
      assert.isTrue(Either.isLeft(end) && end.left._tag === "AuthenticationError")
      assert.deepStrictEqual(seen.slice(-3), ["Disconnected", "Error", "Closed"])
      const closed = yield* session.awaitClosed.pipe(Effect.flip)
      assert.strictEqual(closed._tag, "AuthenticationError")
      const late = yield* session.generateReply().pipe(Effect.scoped, Effect.flip)
      assert.strictEqual(late._tag, "AuthenticationError")
    }).pipe(Effect.provide(Layer.mergeAll(
      MockTransport.layer(),
      Xai.layer({ apiKey: Redacted.make("xai-test-key") }).pipe(Layer.orDie),
      Resampler.layerLinear
    ))))
})
