import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import { MockServer } from "@realtime-fx/test-kit/MockTransport"
import * as AudioFrame from "../../src/AudioFrame.js"
import * as Chat from "../../src/ChatContext.js"
import * as Generation from "../../src/Generation.js"
import * as RealtimeSession from "../../src/RealtimeSession.js"
import type { SessionEvent } from "../../src/RealtimeSession.js"
import * as Tool from "../../src/Tool.js"
import { clientEventId, created, layer, open, script, settle, userItem, weather } from "./harness.js"




const ofTag = <T extends SessionEvent["_tag"]>(events: ReadonlyArray<SessionEvent>, tag: T) =>
  events.filter((e): e is Extract<SessionEvent, { _tag: T }> => e._tag === tag)

describe("RealtimeSession", () => {
  it.scoped("the initial session.update carries every configured option (xAI shape)", () =>
    Effect.gen(function*() {
      const { server } = yield* open()
      const first = yield* server.nextClientEvent
      assert.strictEqual(first.type, "session.update")
      const session = first.event["session"] as Record<string, unknown>
      assert.strictEqual(session["voice"], "eve")
      assert.strictEqual(session["instructions"], "Be brief.")
      assert.deepStrictEqual(session["turn_detection"], {
        type: "server_vad",
        threshold: 0.5,
        prefix_padding_ms: 300,
        silence_duration_ms: 200,
        create_response: true,
        interrupt_response: true
      })
      const audio = session["audio"] as { input: { format: unknown }; output: { format: unknown } }
      assert.deepStrictEqual(audio.input.format, { type: "audio/pcm", rate: 24000 })
      assert.deepStrictEqual(audio.output.format, { type: "audio/pcm", rate: 24000 })
      const request = (yield* server.requests)[0]!
      assert.include(request.url, "model=grok-voice-latest")
    }).pipe(Effect.provide(layer({ voice: "eve", instructions: "Be brief." }))))

  it.scoped("updateOptions sends only what is given; updateInstructions is replayed on reconnect", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      yield* server.nextClientEventOfType("session.update")
      yield* session.updateOptions({ speed: 1.2 })
      const update = yield* server.nextClientEventOfType("session.update")
      const sent = update.event["session"] as Record<string, unknown>
      assert.deepStrictEqual(Object.keys(sent).filter((k) => k !== "type"), ["audio"])
      assert.deepStrictEqual(sent["audio"], { output: { speed: 1.2 } })

      yield* session.updateInstructions("Speak like a pirate.")
      const instr = yield* server.nextClientEventOfType("session.update")
      assert.strictEqual((instr.event["session"] as Record<string, unknown>)["instructions"], "Speak like a pirate.")

      yield* server.drop
      yield* settle
      yield* TestClock.adjust("100 millis")
      yield* settle
      const replayed = (yield* server.clientEvents).filter((f) => f.connection === 2)
      assert.strictEqual(replayed[0]?.type, "session.update")
      const replayedSession = replayed[0]!.event["session"] as Record<string, unknown>
      assert.strictEqual(replayedSession["instructions"], "Speak like a pirate.")
      assert.strictEqual((replayedSession["audio"] as { output: { speed: number } }).output.speed, 1.2)
    }).pipe(Effect.provide(layer())))

  it.scoped("generateReply is matched by metadata.client_event_id and streams text and audio", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      const fiber = yield* Effect.fork(session.generateReply({ instructions: "Say hi" }))
      const create = yield* server.nextClientEventOfType("response.create")
      const id = clientEventId(create)
      assert.strictEqual((create.event["response"] as { instructions: string }).instructions, "Say hi")
      // Another response (server VAD) first: it must not resolve the request.
      yield* script.responseCreated("resp_other")
      yield* script.responseDone("resp_other")
      yield* script.responseCreated("resp_1", id)
      const gen = yield* Fiber.join(fiber)
      assert.strictEqual(gen.responseId, "resp_1")
      assert.isTrue(gen.userInitiated)

      yield* script.messageAdded("resp_1", "item_1")
      yield* script.audioDelta("resp_1", "item_1")
      yield* script.transcriptDelta("resp_1", "item_1", "Hi ")
      yield* script.audioDelta("resp_1", "item_1")
      yield* script.transcriptDelta("resp_1", "item_1", "there")
      yield* script.messageDone("resp_1", "item_1")
      yield* script.responseDone("resp_1")

      const messages = Chunk.toReadonlyArray(yield* Stream.runCollect(gen.messages))
      assert.strictEqual(messages.length, 1)
      const msg = messages[0]!
      const text = Chunk.toReadonlyArray(yield* Stream.runCollect(msg.text)).map((d) => d.text).join("")
      const frames = Chunk.toReadonlyArray(yield* Stream.runCollect(msg.audio))
      assert.strictEqual(text, "Hi there")
      assert.strictEqual(frames.length, 2)
      assert.strictEqual(frames[0]!.sampleRate, 24000)
      assert.strictEqual(AudioFrame.durationMs(frames[0]!), 100)
      assert.deepStrictEqual(yield* msg.modalities, ["audio", "text"])
      const summary = yield* gen.done
      assert.strictEqual(summary.status, "completed")
      assert.strictEqual(summary.metrics?.outputTokens, 20)
    }).pipe(Effect.provide(layer())))

  it.scoped("generateReply fails after 5 s without a match; the late reply is cancelled and never reaches generations", () =>
    Effect.gen(function*() {
      const { session, server, generations } = yield* open()
      const gens: Array<string> = []
      yield* generations.pipe(Stream.runForEach((g) => Effect.sync(() => gens.push(g.responseId))), Effect.forkScoped)
      const fiber = yield* Effect.fork(Effect.scoped(session.generateReply()))
      const create = yield* server.nextClientEventOfType("response.create")
      yield* TestClock.adjust("4999 millis")
      yield* settle
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber).pipe(Effect.either)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "TimeoutError")

      yield* script.responseCreated("resp_late", clientEventId(create))
      const cancel = yield* server.nextClientEventOfType("response.cancel")
      assert.strictEqual(cancel.event["response_id"], "resp_late")
      yield* script.messageAdded("resp_late", "item_late")
      yield* script.audioDelta("resp_late", "item_late")
      yield* settle
      assert.deepStrictEqual(gens, [])
    }).pipe(Effect.provide(layer())))

  it.scoped("overlapping generateReply calls never send two response.create while a response is active: the second waits", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      const first = yield* Effect.fork(session.generateReply())
      const second = yield* Effect.fork(session.generateReply())
      const create1 = yield* server.nextClientEventOfType("response.create")
      yield* settle
      assert.strictEqual((yield* server.clientEvents).filter((f) => f.type === "response.create").length, 1)
      yield* script.responseCreated("resp_1", clientEventId(create1))
      yield* Fiber.join(first)
      yield* settle
      assert.strictEqual((yield* server.clientEvents).filter((f) => f.type === "response.create").length, 1)
      yield* script.responseDone("resp_1")
      const create2 = yield* server.nextClientEventOfType("response.create")
      yield* script.responseCreated("resp_2", clientEventId(create2))
      const gen2 = yield* Fiber.join(second)
      assert.strictEqual(gen2.responseId, "resp_2")
    }).pipe(Effect.provide(layer())))

  it.scoped("closing a reply's scope before response.done cancels it and ends its streams", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      const scope = yield* Scope.make()
      const fiber = yield* Effect.fork(session.generateReply().pipe(Scope.extend(scope)))
      const create = yield* server.nextClientEventOfType("response.create")
      yield* script.responseCreated("resp_1", clientEventId(create))
      const gen = yield* Fiber.join(fiber)
      yield* script.messageAdded("resp_1", "item_1")
      yield* script.audioDelta("resp_1", "item_1")
      yield* settle
      yield* Scope.close(scope, Exit.void)
      const cancel = yield* server.nextClientEventOfType("response.cancel")
      assert.strictEqual(cancel.event["response_id"], "resp_1")
      const summary = yield* gen.done
      assert.strictEqual(summary.status, "cancelled")
      const messages = Chunk.toReadonlyArray(yield* Stream.runCollect(gen.messages))
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(messages[0]!.audio)), 1)
    }).pipe(Effect.provide(layer())))

  it.scoped("updateChatContext sends the minimal deletes and creates in order and waits for each acknowledgement", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      yield* script.itemAdded(userItem("a", "one"), null)
      yield* script.itemAdded(userItem("b", "two"), "a")
      yield* script.itemAdded({ id: "v", object: "realtime.item", type: "message", role: "user", content: [{ type: "input_audio" }] }, "b")
      yield* settle
      const wanted = Chat.make([
        Chat.message("a", "user", "one"),
        Chat.message("v", "user", "spoken words"),
        Chat.message("c", "user", "three")
      ])
      const fiber = yield* Effect.fork(session.updateChatContext(wanted))
      const del = yield* server.nextClientEventOfType("conversation.item.delete")
      assert.strictEqual(del.event["item_id"], "b")
      const create = yield* server.nextClientEventOfType("conversation.item.create")
      assert.strictEqual(create.event["previous_item_id"], "v")
      assert.strictEqual((create.event["item"] as { id: string }).id, "c")
      // Nothing else: "a" is unchanged and "v" (empty remotely: audio) is left alone.
      yield* settle
      assert.strictEqual(
        (yield* server.clientEvents).filter((f) => f.type.startsWith("conversation.item.")).length,
        2
      )
      yield* script.itemDeleted("")  // xAI: empty id acknowledges the oldest pending delete
      yield* settle
      assert.isNull(fiber.unsafePoll())
      yield* script.itemAdded(userItem("c", "three"), "v")
      yield* Fiber.join(fiber)
      const ctx = yield* session.chatContext
      assert.deepStrictEqual(ctx.items.map((i) => i.id), ["a", "v", "c"])
    }).pipe(Effect.provide(layer())))

  it.scoped("updateChatContext fails with a timeout after 5 s without acknowledgement", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      const fiber = yield* Effect.fork(session.updateChatContext(Chat.make([Chat.message("x", "user", "hello")])))
      yield* server.nextClientEventOfType("conversation.item.create")
      yield* TestClock.adjust("5 seconds")
      const result = yield* Fiber.join(fiber).pipe(Effect.either)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "TimeoutError")
    }).pipe(Effect.provide(layer())))

  it.scoped("truncate is capped at the audio received, deletes at 0 ms, and rewrites text-only items", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      yield* script.responseCreated("resp_1")
      yield* script.messageAdded("resp_1", "item_1")
      yield* script.audioDelta("resp_1", "item_1")
      yield* script.audioDelta("resp_1", "item_1") // 200 ms received
      yield* script.responseDone("resp_1")
      yield* settle
      yield* session.truncate({ messageId: "item_1", modalities: ["audio", "text"], audioEndMs: 5000 })
      const truncate = yield* server.nextClientEventOfType("conversation.item.truncate")
      assert.strictEqual(truncate.event["audio_end_ms"], 200)
      assert.strictEqual(truncate.event["content_index"], 0)

      const fiber = yield* Effect.fork(session.truncate({ messageId: "item_1", modalities: ["audio"], audioEndMs: 0 }))
      const del = yield* server.nextClientEventOfType("conversation.item.delete")
      assert.strictEqual(del.event["item_id"], "item_1")
      yield* script.itemDeleted("item_1")
      yield* Fiber.join(fiber)

      yield* script.itemAdded({ id: "t1", object: "realtime.item", type: "message", role: "assistant", content: [{ type: "output_text", text: "long answer" }] }, null)
      yield* settle
      const textFiber = yield* Effect.fork(session.truncate({ messageId: "t1", modalities: ["text"], audioEndMs: 800, transcript: "long" }))
      yield* server.nextClientEventOfType("conversation.item.delete")
      const recreate = yield* server.nextClientEventOfType("conversation.item.create")
      const item = recreate.event["item"] as { id: string; content: ReadonlyArray<{ text: string }> }
      assert.strictEqual(item.id, "t1")
      assert.strictEqual(item.content[0]!.text, "long")
      yield* script.itemDeleted("t1")
      yield* script.itemAdded({ id: "t1", object: "realtime.item", type: "message", role: "assistant", content: [{ type: "output_text", text: "long" }] }, null)
      yield* Fiber.join(textFiber)
    }).pipe(Effect.provide(layer())))

  it.scoped("a message without audio output: the audio stream ends at once and modalities are text", () =>
    Effect.gen(function*() {
      const { server, generations } = yield* open()
      const gen = yield* created(generations, "resp_t")
      yield* script.messageAdded("resp_t", "item_t")
      yield* server.send({
        type: "response.content_part.added",
        event_id: "e",
        response_id: "resp_t",
        item_id: "item_t",
        output_index: 0,
        content_index: 0,
        part: { type: "text", text: "" }
      })
      yield* script.textDelta("resp_t", "item_t", "just text")
      yield* settle
      const msg = Option.getOrThrow(yield* Stream.runHead(gen.messages))
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(msg.audio)), 0)
      assert.deepStrictEqual(yield* msg.modalities, ["text"])
      yield* script.responseDone("resp_t")
      const text = yield* Stream.runCollect(msg.text)
      assert.deepStrictEqual(Chunk.toReadonlyArray(text).map((d) => d.text), ["just text"])
    }).pipe(Effect.provide(layer())))

  it.scoped("function-call items arrive on functionCalls; a tool runs and its output goes back, then one response.create", () =>
    Effect.gen(function*() {
      const { server, generations, collected } = yield* open()
      const gen = yield* created(generations, "resp_f")
      yield* script.functionCallDone("resp_f", "item_f", "call_1", "get_weather", JSON.stringify({ city: "Paris" }))
      yield* script.functionCallDone("resp_f", "item_g", "call_2", "unknown_tool", "{}")
      yield* script.responseDone("resp_f")
      const calls = Chunk.toReadonlyArray(yield* Stream.runCollect(gen.functionCalls))
      assert.deepStrictEqual(calls.map((c) => [c.callId, c.name]), [["call_1", "get_weather"], ["call_2", "unknown_tool"]])
      const out1 = yield* server.nextClientEventOfType("conversation.item.create")
      const out2 = yield* server.nextClientEventOfType("conversation.item.create")
      assert.deepStrictEqual(out1.event["item"], { type: "function_call_output", call_id: "call_1", output: "Sunny in Paris" })
      const unknownOutput = out2.event["item"] as { call_id: string; output: string }
      assert.strictEqual(unknownOutput.call_id, "call_2")
      assert.include(unknownOutput.output, "Unknown tool")
      yield* server.nextClientEventOfType("response.create")
      yield* settle
      assert.strictEqual((yield* server.clientEvents).filter((f) => f.type === "response.create").length, 1)
      assert.strictEqual(ofTag(collected, "FunctionCallExecuted").length, 2)
    }).pipe(Effect.provide(layer({ tools: [weather] }))))

  it.scoped("response.done without response.created is ignored; failed gives a recoverable error; errors except 'Cancellation failed'", () =>
    Effect.gen(function*() {
      const { collected } = yield* open()
      // Session metrics carry the provider and model as tags.
      const tagged = (m: Metric.Metric.Counter<number>) =>
        m.pipe(Metric.tagged("provider", "xai"), Metric.tagged("model", "grok-voice-latest"))
      const responses = tagged(Generation.responsesMetric)
      const tokens = tagged(Generation.outputTokensMetric)
      const responsesBefore = (yield* Metric.value(responses)).count
      const tokensBefore = (yield* Metric.value(tokens)).count
      yield* script.responseDone("resp_ghost")
      yield* script.responseCreated("resp_x")
      yield* script.responseDone("resp_x", "failed")
      yield* script.error("Cancellation failed: no active response found")
      yield* script.error("Invalid value", "invalid_value")
      yield* settle
      const errors = ofTag(collected, "Error")
      assert.deepStrictEqual(errors.map((e) => [e.error._tag, e.recoverable]), [["ResponseFailedError", true], ["ServerError", true]])
      assert.strictEqual(ofTag(collected, "Metrics").length, 1)
      assert.strictEqual(ofTag(collected, "Metrics")[0]!.metrics.requestId, "resp_x")
      assert.strictEqual((yield* Metric.value(responses)).count - responsesBefore, 1)
      assert.strictEqual((yield* Metric.value(tokens)).count - tokensBefore, 20)
    }).pipe(Effect.provide(layer())))

  it.scoped("remote mirror: insert after previous id, unknown previous id appends, deletes apply, transcripts append", () =>
    Effect.gen(function*() {
      const { session } = yield* open()
      yield* script.itemAdded(userItem("a", "1"), null)
      yield* script.itemAdded(userItem("c", "3"), "a")
      yield* script.itemAdded(userItem("b", "2"), "a")
      yield* script.itemAdded(userItem("z", "9"), "never-announced")
      yield* script.itemDeleted("c")
      yield* settle
      assert.deepStrictEqual((yield* session.chatContext).items.map((i) => i.id), ["a", "b", "z"])
    }).pipe(Effect.provide(layer())))

  it.scoped("xAI: several transcriptions are non-final; the last one is emitted once as final when the reply speaks", () =>
    Effect.gen(function*() {
      const { session, collected } = yield* open()
      yield* script.itemAdded({ id: "u1", object: "realtime.item", type: "message", role: "user", content: [{ type: "input_audio" }] }, null)
      yield* script.transcriptionCompleted("u1", "what is")
      yield* script.transcriptionCompleted("u1", "what is the weather")
      yield* settle
      assert.deepStrictEqual(ofTag(collected, "InputTranscription").map((e) => e.isFinal), [false, false])
      yield* script.responseCreated("resp_1")
      yield* script.messageAdded("resp_1", "item_1")
      yield* script.audioDelta("resp_1", "item_1")
      yield* script.audioDelta("resp_1", "item_1")
      yield* settle
      const finals = ofTag(collected, "InputTranscription").filter((e) => e.isFinal)
      assert.deepStrictEqual(finals.map((e) => e.transcript), ["what is the weather"])
      const ctx = yield* session.chatContext
      assert.strictEqual(Chat.textOf(ctx.items[0] as Chat.ChatMessage), "what is the weather")
    }).pipe(Effect.provide(layer())))

  it.scoped("xAI: the held transcript is final when speech starts for another item, or when the session closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const session = yield* RealtimeSession.make().pipe(Scope.extend(scope))
      const collected: Array<SessionEvent> = []
      const collector = yield* (yield* session.subscribeEvents).pipe(
        Stream.runForEach((e) => Effect.sync(() => collected.push(e))),
        Effect.fork
      )
      yield* (yield* MockServer).awaitConnection
      yield* script.transcriptionCompleted("u1", "first turn")
      yield* script.speechStarted("u2")
      yield* settle
      assert.deepStrictEqual(ofTag(collected, "InputTranscription").filter((e) => e.isFinal).map((e) => e.itemId), ["u1"])
      yield* script.transcriptionCompleted("u2", "second turn")
      yield* settle
      yield* Scope.close(scope, Exit.void)
      yield* Fiber.join(collector) // the events stream ends after the session closes
      assert.deepStrictEqual(ofTag(collected, "InputTranscription").filter((e) => e.isFinal).map((e) => e.itemId), ["u1", "u2"])
      assert.strictEqual(collected.at(-1)?._tag, "Closed")
    }).pipe(Effect.provide(layer())))

  it.scoped("xAI: a response interrupted before it spoke is discarded, also when a new response.created comes first", () =>
    Effect.gen(function*() {
      const { session, server, generations } = yield* open()
      const gens: Array<{ id: string; done: Effect.Effect<unknown, unknown> }> = []
      yield* generations.pipe(Stream.runForEach((g) => Effect.sync(() => gens.push({ id: g.responseId, done: g.done }))), Effect.forkScoped)
      yield* script.responseCreated("resp_1")
      yield* settle
      yield* session.interrupt
      yield* server.nextClientEventOfType("response.cancel")
      yield* settle
      assert.strictEqual(((yield* gens[0]!.done) as { status: string }).status, "discarded")
      // Its late events are dropped.
      yield* script.audioDelta("resp_1", "item_1")
      yield* script.responseCreated("resp_2")
      yield* script.responseCreated("resp_3") // resp_2 never spoke: discarded
      yield* settle
      assert.strictEqual(((yield* gens[1]!.done) as { status: string }).status, "discarded")
      assert.deepStrictEqual(gens.map((g) => g.id), ["resp_1", "resp_2", "resp_3"])
    }).pipe(Effect.provide(layer())))

  it.scoped("a drop mid-response fails the generation's streams (no hang) and no event is delivered twice", () =>
    Effect.gen(function*() {
      const { server, generations, collected } = yield* open()
      const gen = yield* created(generations, "resp_1")
      yield* script.messageAdded("resp_1", "item_1")
      yield* script.audioDelta("resp_1", "item_1")
      yield* settle
      yield* server.drop
      yield* settle
      const msg = Option.getOrThrow(yield* Stream.runHead(gen.messages))
      const audio = yield* Stream.runCollect(msg.audio).pipe(Effect.either)
      assert.isTrue(Either.isLeft(audio) && audio.left._tag === "ConnectionError")
      assert.isTrue(Either.isLeft(yield* Effect.either(gen.done)))
      yield* TestClock.adjust("100 millis")
      yield* settle
      assert.deepStrictEqual(ofTag(collected, "Reconnected").length, 1)
      yield* script.speechStarted("u9")
      yield* settle
      assert.strictEqual(ofTag(collected, "SpeechStarted").length, 1)
    }).pipe(Effect.provide(layer())))

  it.scoped("closing the session with a generation in flight ends every stream and fails waiting callers", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const supervisor = yield* Supervisor.track
      const { session, generations } = yield* open().pipe(Scope.extend(scope), Effect.supervised(supervisor))
      const gen = yield* created(generations, "resp_1")
      yield* script.messageAdded("resp_1", "item_1")
      yield* settle
      const msg = Option.getOrThrow(yield* Stream.runHead(gen.messages))
      const audioFiber = yield* Effect.fork(Stream.runCollect(msg.audio))
      const reply = yield* Effect.fork(Effect.scoped(session.generateReply()))
      yield* settle
      assert.isNull(reply.unsafePoll(), "waits its turn behind resp_1")
      assert.isAbove((yield* supervisor.value).length, 2, "the session's fibers are tracked")
      yield* Scope.close(scope, Exit.void)
      const audio = yield* Fiber.join(audioFiber).pipe(Effect.either)
      assert.isTrue(Either.isLeft(audio) && audio.left._tag === "SessionClosedError")
      const r = yield* Fiber.join(reply).pipe(Effect.either)
      assert.isTrue(Either.isLeft(r))
      const after = yield* session.pushAudio(AudioFrame.unsafeMake(new Int16Array(480), 48000, 1)).pipe(Effect.either)
      assert.isTrue(Either.isLeft(after) && after.left._tag === "SessionClosedError")
      yield* settle
      // Every fiber the session (and the test's collectors inside its scope) started has ended.
      assert.deepStrictEqual(yield* supervisor.value, [])
    }).pipe(Effect.provide(layer())))

  it.scoped("pushAudio resamples to 24 kHz mono 100 ms chunks; commitAudio follows the 100 ms rule; clearAudio resets", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      // 150 ms of 48 kHz stereo in 10 ms frames.
      for (let i = 0; i < 15; i++) {
        yield* session.pushAudio(AudioFrame.unsafeMake(new Int16Array(960).fill(500), 48000, 2))
      }
      yield* session.commitAudio
      yield* settle
      const appends = (yield* server.clientEvents).filter((f) => f.type === "input_audio_buffer.append")
      const samples = appends.map((f) => AudioFrame.decodeBase64(f.event["audio"] as string).length)
      assert.strictEqual(samples[0], 2400)
      assert.approximately(samples.reduce((a, b) => a + b, 0), 3600, 60)
      assert.strictEqual((yield* server.clientEvents).filter((f) => f.type === "input_audio_buffer.commit").length, 1)
      // Nothing pushed since the commit: no second commit.
      yield* session.commitAudio
      yield* session.pushAudio(AudioFrame.unsafeMake(new Int16Array(4800), 24000, 1))
      yield* session.clearAudio
      yield* session.commitAudio
      yield* settle
      const types = (yield* server.clientEvents).map((f) => f.type)
      assert.strictEqual(types.filter((t) => t === "input_audio_buffer.commit").length, 1)
      assert.strictEqual(types.filter((t) => t === "input_audio_buffer.clear").length, 1)
    }).pipe(Effect.provide(layer())))

  it.scoped("pushVideo sends a user image item; say sends an xAI force_message without response.create", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      yield* session.pushVideo({ imageUrl: "data:image/png;base64,AAAA" })
      const image = yield* server.nextClientEventOfType("conversation.item.create")
      assert.deepStrictEqual(image.event["item"], {
        type: "message",
        role: "user",
        content: [{ type: "input_image", image_url: "data:image/png;base64,AAAA" }]
      })
      yield* session.say("Welcome back!")
      const say = yield* server.nextClientEventOfType("conversation.item.create")
      assert.deepStrictEqual(say.event["item"], {
        type: "force_message",
        role: "assistant",
        content: [{ type: "output_text", text: "Welcome back!" }]
      })
      yield* settle
      assert.isFalse((yield* server.clientEvents).some((f) => f.type === "response.create"))
    }).pipe(Effect.provide(layer())))

  it.scoped("updateTools keeps exactly the tools that can be expressed and reports the rest", () =>
    Effect.gen(function*() {
      const { session, server, collected } = yield* open()
      yield* server.nextClientEventOfType("session.update")
      const duplicate = Tool.make("get_weather", {
        description: "again",
        parameters: Schema.Struct({}),
        handler: () => Effect.void
      })
      const result = yield* session.updateTools([weather, duplicate, Tool.webSearch()])
      assert.deepStrictEqual(result.tools.map((t) => t.name), ["get_weather", "web_search"])
      assert.deepStrictEqual(result.rejected.map((r) => r.name), ["get_weather"])
      const update = yield* server.nextClientEventOfType("session.update")
      const tools = (update.event["session"] as { tools: ReadonlyArray<{ type: string }> }).tools
      assert.deepStrictEqual(tools.map((t) => t.type), ["function", "web_search"])
      assert.deepStrictEqual((yield* session.tools).map((t) => t.name), ["get_weather", "web_search"])
      assert.strictEqual(ofTag(collected, "Warning").length, 1)
    }).pipe(Effect.provide(layer())))

  it.scoped("tool outputs of an interrupted response are still recorded, without asking for a reply", () =>
    Effect.gen(function*() {
      const { server, generations } = yield* open()
      const first = yield* Effect.fork(Stream.runHead(generations))
      yield* script.responseCreated("resp_f")
      yield* Fiber.join(first)
      yield* script.functionCallDone("resp_f", "item_f", "call_1", "get_weather", JSON.stringify({ city: "Oslo" }))
      yield* script.responseDone("resp_f", "cancelled")
      const output = yield* server.nextClientEventOfType("conversation.item.create")
      assert.deepStrictEqual(output.event["item"], { type: "function_call_output", call_id: "call_1", output: "Sunny in Oslo" })
      yield* settle
      assert.isFalse((yield* server.clientEvents).some((f) => f.type === "response.create"))
    }).pipe(Effect.provide(layer({ tools: [weather] }))))

  it.scoped("xAI: a response the user talks over before it spoke is discarded (it gets no response.done), so replies are not blocked", () =>
    Effect.gen(function*() {
      const { session, server, generations } = yield* open()
      const dropped = yield* created(generations, "resp_dropped")
      yield* script.speechStarted("u2")
      yield* settle
      assert.strictEqual((yield* dropped.done).status, "discarded")
      // No response is active any more: a reply request goes out at once.
      yield* Effect.fork(session.generateReply())
      yield* server.nextClientEventOfType("response.create")
    }).pipe(Effect.provide(layer())))

  it.scoped("a tool handler that never finishes still produces an output after the tool timeout", () =>
    Effect.gen(function*() {
      const stuck = Tool.make("stuck", {
        description: "never answers",
        parameters: Schema.Struct({}),
        handler: () => Effect.never
      })
      const { session, server } = yield* open({ toolTimeout: "10 seconds" })
      yield* session.updateTools([weather, stuck])
      yield* script.responseCreated("resp_s")
      yield* script.functionCallDone("resp_s", "item_s", "call_s", "stuck", "{}")
      yield* script.functionCallDone("resp_s", "item_w", "call_w", "get_weather", JSON.stringify({ city: "Rome" }))
      yield* script.responseDone("resp_s")
      yield* settle
      assert.isFalse((yield* server.clientEvents).some((f) => f.type === "conversation.item.create"))
      yield* TestClock.adjust("10 seconds")
      const first = yield* server.nextClientEventOfType("conversation.item.create")
      const second = yield* server.nextClientEventOfType("conversation.item.create")
      assert.deepStrictEqual((first.event["item"] as { call_id: string }).call_id, "call_s")
      assert.include((first.event["item"] as { output: string }).output, "did not finish")
      assert.deepStrictEqual(second.event["item"], { type: "function_call_output", call_id: "call_w", output: "Sunny in Rome" })
      yield* server.nextClientEventOfType("response.create")
    }).pipe(Effect.provide(layer())))

  it.scoped("unknown server events and xAI's idle timeout reach the events stream as raw server events", () =>
    Effect.gen(function*() {
      const { server, collected } = yield* open()
      yield* server.send({ type: "input_audio_buffer.timeout_triggered", event_id: "e1", audio_start_ms: 0, audio_end_ms: 5000, item_id: "i1" })
      yield* server.send({ type: "vendor.custom_event", event_id: "e2", payload: 1 })
      yield* server.send({ type: "input_audio_buffer.cleared", event_id: "e3" })
      yield* settle
      const raw = collected.filter((e) => e._tag === "ServerEvent").map((e) => (e as { event: { type: string } }).event.type)
      assert.deepStrictEqual(raw, ["input_audio_buffer.timeout_triggered", "vendor.custom_event"])
    }).pipe(Effect.provide(layer())))
})
