// Session engine v2 through the public API over the MockTransport (TestClock): both sides of the
// conversation replayed after a drop, xAI null anchors, a fatal error mid-reply reaching every consumer
// as itself, queued calls before the first connection, and redaction of published raw events.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { MockServer } from "@realtime-fx/test-kit/MockTransport"
import * as AudioFrame from "../../src/AudioFrame.js"
import * as Chat from "../../src/ChatContext.js"
import * as RealtimeSession from "../../src/RealtimeSession.js"
import type { SessionEvent } from "../../src/RealtimeSession.js"
import * as Tool from "../../src/Tool.js"
import { layer, open, script, settle, userItem } from "./harness.js"

const ofTag = <T extends SessionEvent["_tag"]>(events: ReadonlyArray<SessionEvent>, tag: T) =>
  events.filter((e): e is Extract<SessionEvent, { _tag: T }> => e._tag === tag)

/** An assistant message as servers announce it: empty. */
const emptyAssistant = (id: string) => ({ id, object: "realtime.item", type: "message", role: "assistant", content: [] })

/** One reply as the server streams it: created, announced empty, transcript and audio, done. */
const reply = (responseId: string, itemId: string, previousId: string | null, words: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    yield* script.responseCreated(responseId)
    yield* script.itemAdded(emptyAssistant(itemId), previousId)
    yield* script.messageAdded(responseId, itemId)
    for (const word of words) {
      yield* script.transcriptDelta(responseId, itemId, word)
      yield* script.audioDelta(responseId, itemId)
    }
    yield* script.messageDone(responseId, itemId)
    yield* script.responseDone(responseId)
    yield* settle
  })

const summary = (items: ReadonlyArray<Chat.ChatItem>) =>
  items.map((i) => (i.type === "message" ? `${i.id}:${i.role}:${Chat.textOf(i)}` : `${i.id}:${i.type}`))

/** Drops the connection and lets the reconnect (at +100 ms) happen. */
const dropAndReconnect = Effect.gen(function*() {
  const server = yield* MockServer
  yield* server.drop
  yield* settle
  yield* TestClock.adjust("100 millis")
  yield* settle
})

const mcpSecrets = { authorization: "mcp-authorization-secret", header: "mcp-header-secret-value" }
const docs = Tool.mcp({
  serverUrl: "https://mcp.example.test/sse",
  serverLabel: "docs",
  authorization: Redacted.make(mcpSecrets.authorization),
  headers: { "X-Api-Key": Redacted.make(mcpSecrets.header) }
})

// Every case runs with the frames pulled from the transport and pushed through `listen`.
describe.each([{ push: false }, { push: true }])("session engine v2 (MockTransport), push: $push", ({ push }) => {
  for (const anchors of ["explicit", "xAI null"] as const) {
    it.scoped(`defect 1/2: after a drop the history re-sent holds both sides in order (${anchors} previous ids)`, () =>
      Effect.gen(function*() {
        const { server, session } = yield* open()
        const prev = (id: string | null) => (anchors === "explicit" ? id : null)
        yield* script.itemAdded(userItem("u1", "What is two plus two?"), prev(null))
        yield* reply("resp_1", "a1", prev("u1"), ["Two plus two ", "is four."])
        yield* script.itemAdded(userItem("u2", "And times three?"), prev("a1"))
        yield* reply("resp_2", "a2", prev("u2"), ["Twelve."])
        const expected = [
          "u1:user:What is two plus two?",
          "a1:assistant:Two plus two is four.",
          "u2:user:And times three?",
          "a2:assistant:Twelve."
        ]
        assert.deepStrictEqual(summary((yield* session.chatContext).items), expected)

        yield* dropAndReconnect
        // The scripted server names a new conversation: resumption refused, the history is re-sent.
        assert.include((yield* server.requests)[1]!.url, "conversation_id=conv_1")
        const created = (yield* server.clientEvents).filter((f) => f.connection === 2 && f.type === "conversation.item.create")
        assert.deepStrictEqual(
          created.map((f) => {
            const item = f.event["item"] as { id: string; role: string; content: Array<{ text: string }> }
            return `${item.id}:${item.role}:${item.content.map((c) => c.text).join("")}`
          }),
          expected
        )
        assert.deepStrictEqual(summary((yield* session.chatContext).items), expected)
      }).pipe(Effect.provide(layer({}, { push }))))
  }

  for (const code of ["invalid_api_key", "insufficient_quota"] as const) {
    it.scoped(`defect 7: ${code} mid-reply fails the reply, Disconnected, Closed and every stream with the typed error`, () =>
      Effect.gen(function*() {
        const { collected, gens, server, session } = yield* open()
        const events = yield* Effect.fork(Stream.runDrain(session.events))
        const generations = yield* Effect.fork(Stream.runDrain(session.generations))
        yield* script.responseCreated("resp_1")
        yield* script.messageAdded("resp_1", "item_1")
        yield* script.audioDelta("resp_1", "item_1")
        yield* settle
        const audio = yield* Effect.fork(Stream.runCollect(gens[0]!.messages.pipe(Stream.flatMap((m) => m.audio))))
        yield* script.error(`fatal ${code}`, code)
        yield* settle

        const error = yield* Effect.flip(Fiber.join(audio))
        assert.strictEqual(error._tag, code === "invalid_api_key" ? "AuthenticationError" : "ServerError")
        if (error._tag === "ServerError") assert.isTrue(error.fatal)
        assert.strictEqual(yield* Effect.flip(gens[0]!.done), error)
        assert.strictEqual(yield* Effect.flip(Fiber.join(events)), error)
        assert.strictEqual(yield* Effect.flip(Fiber.join(generations)), error)
        assert.strictEqual(yield* Effect.flip(session.awaitClosed), error)
        const lifecycle = collected.filter((e) => e._tag === "Disconnected" || e._tag === "Closed" || e._tag === "Reconnected")
        assert.deepStrictEqual(lifecycle.map((e) => e._tag), ["Disconnected", "Closed"])
        assert.strictEqual(ofTag(collected, "Disconnected")[0]!.error, error)
        assert.strictEqual(ofTag(collected, "Closed")[0]!.reason, error)
        assert.isFalse(yield* server.isConnected)
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(yield* server.attempts, 1, "a fatal error is not retried")
      }).pipe(Effect.provide(layer({}, { push }))))
  }

  it.scoped("calls made before the first connection are queued and sent once it opens, after the session.update", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      yield* server.hangNextAttempt
      const session = yield* RealtimeSession.make()
      yield* session.pushAudio(AudioFrame.unsafeMake(new Int16Array(2400).fill(100), 24000, 1))
      yield* session.sendEvent({ type: "input_audio_buffer.commit" })
      yield* settle
      assert.strictEqual((yield* server.clientEvents).length, 0)
      // The hung attempt times out (10 s), the next one opens at +0.1 s.
      yield* TestClock.adjust("10 seconds")
      yield* settle
      yield* TestClock.adjust("100 millis")
      yield* settle
      assert.deepStrictEqual((yield* server.clientEvents).map((f) => f.type), [
        "session.update",
        "input_audio_buffer.append",
        "input_audio_buffer.commit"
      ])
    }).pipe(Effect.provide(layer({}, { push }))))

  it.scoped("debugEvents: MCP secrets are redacted in every published session.update and session.updated; server text is scrubbed", () =>
    Effect.gen(function*() {
      // The MCP tool's credentials, and the harness's API key.
      const secrets = [mcpSecrets.authorization, mcpSecrets.header, "xai-test-key"]
      const { collected, server } = yield* open({ debugEvents: true })
      const sent = yield* server.nextClientEventOfType("session.update")
      assert.include(sent.text, secrets[0]!, "the secret goes over the wire")
      // The server's echo carries the secrets back, and its error quotes the API key.
      yield* server.send({ type: "session.updated", event_id: "ev_u", session: sent.event["session"] })
      yield* script.error(`Incorrect API key provided: ${secrets[2]!}`, "bad_request")
      yield* settle

      const published = JSON.stringify(collected)
      for (const secret of secrets) assert.notInclude(published, secret)
      assert.strictEqual(ofTag(collected, "ClientEvent").filter((e) => e.event.type === "session.update").length, 1)
      const echo = ofTag(collected, "ServerEvent").find((e) => !("_tag" in e.event) && e.event.type === "session.updated")
      assert.include(JSON.stringify(echo), "<redacted>")
      const error = ofTag(collected, "Error")[0]!
      assert.isTrue(error.recoverable)
      assert.include(error.error.message, "Incorrect API key provided")
      assert.notInclude(error.error.message, secrets[2]!)
    }).pipe(Effect.provide(layer({ tools: [docs] }, { push }))))

  /** Drops the connection with the next `attempts` attempts failing as given; returns a reply request made meanwhile. */
  const endWhileReconnecting = (attempts: number, status: number | undefined) =>
    Effect.gen(function*() {
      const { collected, server, session } = yield* open()
      const events = yield* Effect.fork(Stream.runDrain(session.events))
      const generations = yield* Effect.fork(Stream.runHead(session.generations))
      yield* server.failNextAttempts(attempts, status !== undefined ? { status } : undefined)
      yield* server.drop
      yield* settle
      const reply = yield* Effect.fork(Effect.scoped(session.generateReply()))
      yield* settle
      for (let i = 0; i < 6; i++) {
        yield* TestClock.adjust("2 seconds")
        yield* settle
      }
      const error = yield* Effect.flip(Fiber.join(reply))
      assert.strictEqual<unknown>(yield* Effect.flip(Fiber.join(events)), error)
      assert.strictEqual<unknown>(yield* Effect.flip(Fiber.join(generations)), error, "the README pattern sees it (not an empty stream)")
      assert.strictEqual(yield* Effect.flip(session.awaitClosed), error)
      assert.strictEqual(ofTag(collected, "Closed")[0]?.reason, error)
      return { error, attempts: yield* server.attempts }
    })

  it.scoped("a reconnect refused with 401: the queued reply, the streams and awaitClosed fail with AuthenticationError", () =>
    Effect.gen(function*() {
      const { attempts, error } = yield* endWhileReconnecting(1, 401)
      assert.strictEqual(error._tag, "AuthenticationError")
      assert.strictEqual(attempts, 2, "not retried")
    }).pipe(Effect.provide(layer({}, { push }))))

  it.scoped("retries exhausted while reconnecting: everything fails with a non-retryable ConnectionError", () =>
    Effect.gen(function*() {
      const { attempts, error } = yield* endWhileReconnecting(100, undefined)
      assert.strictEqual(error._tag, "ConnectionError")
      assert.isFalse(error._tag === "ConnectionError" && error.retryable)
      assert.strictEqual(attempts, 1 + 3, "the first connection, then maxRetry attempts")
    }).pipe(Effect.provide(layer({}, { push }))))

  it.scoped("resumption refused: requests made while reconnecting go out after the re-sent history, never before it", () =>
    Effect.gen(function*() {
      const { server, session } = yield* open()
      yield* script.itemAdded(userItem("u1", "My name is Ada."), null)
      yield* settle
      yield* server.drop
      yield* settle
      // While reconnecting: a reply, and a chat change that builds on the history.
      const reply = yield* Effect.fork(Effect.scoped(session.generateReply()))
      const mirror = yield* session.chatContext
      const sync = yield* Effect.fork(session.updateChatContext(Chat.make([...mirror.items, Chat.message("u2", "user", "What is my name?")])))
      yield* settle
      yield* TestClock.adjust("100 millis")
      yield* settle
      // The scripted server named a new conversation: the history was re-sent on connection 2.
      const sent = () =>
        server.clientEvents.pipe(Effect.map((frames) =>
          frames.filter((f) => f.connection === 2).map((f) =>
            f.type === "conversation.item.create" ? `create ${(f.event["item"] as { id: string }).id}` : f.type
          )
        ))
      assert.deepStrictEqual(yield* sent(), ["session.update", "create u1", "create u2", "response.create"])
      yield* Fiber.interrupt(reply)
      yield* Fiber.interrupt(sync)
    }).pipe(Effect.provide(layer({}, { push }))))
})
