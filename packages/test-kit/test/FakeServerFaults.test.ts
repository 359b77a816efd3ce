import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as FakeServer from "../src/FakeServer.js"
import { connect, HandshakeError, type TestClient } from "../src/internal/fakeClient.js"

type Json = Record<string, unknown>

const open = (server: FakeServer.FakeServer) =>
  Effect.gen(function* () {
    const client = yield* connect(`${server.url}?model=grok-voice-latest`)
    yield* client.until("conversation.created")
    return client
  })

const userText = (client: TestClient, text: string, id?: string) =>
  client.send({ type: "conversation.item.create", item: { ...(id ? { id } : {}), type: "message", role: "user", content: [{ type: "input_text", text }] } })

const pcm = (ms: number) => {
  const s = new Int16Array(ms * 24)
  for (let i = 0; i < s.length; i++) s[i] = Math.round(8000 * Math.sin((2 * Math.PI * 200 * i) / 24000))
  return Buffer.from(s.buffer).toString("base64")
}

const status = (e: unknown) => (e instanceof HandshakeError ? e.status : undefined)

describe("FakeServer faults", () => {
  it.scopedLive("closeAfterEvents closes with the given code after N frames", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ faults: { closeAfterEvents: 3, closeCode: 1011, closeReason: "boom" } })
      const client = yield* connect(server.url)
      yield* client.until("conversation.created")
      yield* client.send({ type: "session.update", session: {} })
      assert.strictEqual((yield* client.next).type, "session.updated")
      assert.deepStrictEqual(yield* client.closed, { code: 1011, reason: "boom" })
      assert.deepStrictEqual(yield* client.pending, [])
    }))

  it.scopedLive("closeCode 'terminate' drops the TCP connection (1006 at the client)", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ faults: { closeAfterEvents: 1, closeCode: "terminate" } })
      const client = yield* connect(server.url)
      assert.strictEqual((yield* client.next).type, "session.created")
      assert.strictEqual((yield* client.closed).code, 1006)
    }))

  it.scopedLive("setFaults changes open connections: a close mid-response", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ pacing: "realtime", reply: { audioMs: 10_000 } })
      const client = yield* open(server)
      yield* client.send({ type: "response.create" })
      yield* client.until("response.output_audio.delta")
      yield* server.setFaults({ closeAfterEvents: 0, closeCode: 1011 })
      yield* server.inject({ type: "nudge" })
      const closed = yield* client.closed
      assert.strictEqual(closed.code, 1011)
      const rest = yield* client.pending
      assert.isFalse(rest.some((t) => t.includes("response.done")))
    }))

  it.scopedLive("garbageFrames sends a non-JSON frame after connect and after response.created", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ faults: { garbageFrames: true, garbageText: "<<garbage>>" } })
      const client = yield* connect(server.url)
      assert.strictEqual((yield* client.next).type, "session.created")
      assert.strictEqual((yield* client.next).type, "conversation.created")
      assert.strictEqual(yield* client.nextRaw, "<<garbage>>")
      yield* client.send({ type: "response.create" })
      assert.strictEqual((yield* client.next).type, "response.created")
      assert.strictEqual(yield* client.nextRaw, "<<garbage>>")
      const rest = yield* client.until("response.done")
      assert.strictEqual((rest.at(-1)!.response as Json).status, "completed")
    }))

  it.scopedLive("unknownEvents sends an event of an unknown type at the same places", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ faults: { unknownEvents: true } })
      const client = yield* connect(server.url)
      const events = yield* client.until("fake.unknown_event")
      assert.deepStrictEqual(events.map((e) => e.type), ["session.created", "conversation.created", "fake.unknown_event"])
      yield* client.send({ type: "response.create" })
      assert.strictEqual((yield* client.next).type, "response.created")
      assert.strictEqual((yield* client.next).type, "fake.unknown_event")
    }))

  it.scopedLive("handshakeDelayMs holds the handshake open before accepting it", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ faults: { handshakeDelayMs: 300 } })
      const pending = yield* Effect.fork(connect(server.url))
      yield* Effect.sleep("100 millis")
      assert.strictEqual((yield* server.requests).length, 1)
      assert.strictEqual(yield* server.connections, 0)
      const client = yield* Fiber.join(pending)
      assert.strictEqual((yield* client.next).type, "session.created")
      assert.strictEqual(yield* server.connections, 1)
    }))

  it.scopedLive("blackholeHandshake never answers: the client's handshake timeout fires", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ faults: { blackholeHandshake: true } })
      const result = yield* Effect.either(connect(server.url, { handshakeTimeout: 200 }))
      assert.isTrue(result._tag === "Left")
      if (result._tag === "Left") assert.match(result.left.message, /timed out/i)
      assert.strictEqual((yield* server.requests).length, 1)
      assert.strictEqual(yield* server.connections, 0)
    }))

  it.scopedLive("closing the server's Scope also ends a black-holed handshake", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const server = yield* Scope.extend(FakeServer.make({ faults: { blackholeHandshake: true } }), scope)
      const pending = yield* Effect.fork(Effect.either(connect(server.url, { handshakeTimeout: 10_000 })))
      while ((yield* server.requests).length === 0) yield* Effect.sleep("5 millis")
      yield* Scope.close(scope, Exit.void)
      const result = yield* Fiber.join(pending).pipe(Effect.timeout("5 seconds"))
      assert.isTrue(result._tag === "Left")
      if (result._tag === "Left") assert.notMatch(result.left.message, /timed out/i)
    }))

  it.scopedLive("rejectHandshake answers the upgrade with the given HTTP status", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ faults: { rejectHandshake: 401 } })
      const r401 = yield* Effect.flip(connect(server.url))
      assert.strictEqual(status(r401), 401)
      yield* server.setFaults({ rejectHandshake: 503 })
      assert.strictEqual(status(yield* Effect.flip(connect(server.url))), 503)
      yield* server.setFaults({})
      yield* open(server)
    }))

  it.scopedLive("requireAuth: a wrong or missing bearer gets 401; the right bearer or xAI subprotocol connects", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ requireAuth: "sekret" })
      assert.strictEqual(status(yield* Effect.flip(connect(server.url))), 401)
      assert.strictEqual(status(yield* Effect.flip(connect(server.url, { headers: { Authorization: "Bearer nope" } }))), 401)
      const ok = yield* connect(server.url, { headers: { Authorization: "Bearer sekret" } })
      assert.strictEqual((yield* ok.next).type, "session.created")
      const browser = yield* connect(server.url, { protocols: ["xai-client-secret.sekret"] })
      assert.strictEqual((yield* browser.next).type, "session.created")
      assert.strictEqual(browser.ws.protocol, "xai-client-secret.sekret")
      const requests = yield* server.requests
      assert.strictEqual(requests.length, 4)
      assert.strictEqual(requests[2]!.headers.authorization, "Bearer sekret")
    }))

  it.scopedLive("errorEvent on connect: invalid_api_key error, then the close", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({
        faults: { errorEvent: { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key", closeCode: 1008 } }
      })
      const client = yield* connect(server.url)
      const events = yield* client.until("error")
      assert.deepStrictEqual(events.at(-1)!.error, {
        type: "invalid_request_error",
        code: "invalid_api_key",
        message: "Incorrect API key",
        param: null,
        event_id: null
      })
      assert.strictEqual((yield* client.closed).code, 1008)
    }))

  it.scopedLive("errorEvent on response: max_duration instead of the reply", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      const client = yield* open(server)
      yield* server.setFaults({ errorEvent: { type: "max_duration", message: "Session reached its maximum duration", when: "response" } })
      yield* client.send({ type: "response.create" })
      const e = yield* client.next
      assert.strictEqual(e.type, "error")
      assert.strictEqual((e.error as Json).type, "max_duration")
      yield* server.setFaults({})
      yield* client.send({ type: "response.create" })
      assert.strictEqual((yield* client.next).type, "response.created")
    }))

  it.scopedLive("dropResponses: response.created and then nothing, and the next response.create is accepted", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ faults: { dropResponses: true } })
      const client = yield* open(server)
      yield* client.send({ type: "response.create" })
      assert.strictEqual((yield* client.next).type, "response.created")
      yield* client.send({ type: "session.update", session: {} })
      // the session.updated is the next frame: no output and no response.done came for the dropped response
      assert.strictEqual((yield* client.next).type, "session.updated")
      yield* server.setFaults({})
      yield* client.send({ type: "response.create" })
      const events = yield* client.until("response.done")
      assert.strictEqual(events[0]!.type, "response.created")
      assert.strictEqual((events.at(-1)!.response as Json).status, "completed")
    }))

  it.scopedLive("xAI quirk: conversation.item.deleted with an empty item_id", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ faults: { emptyDeleteItemId: true } })
      const client = yield* open(server)
      yield* userText(client, "hi", "u1")
      yield* client.next
      yield* client.send({ type: "conversation.item.delete", item_id: "u1" })
      const deleted = yield* client.next
      assert.strictEqual(deleted.type, "conversation.item.deleted")
      assert.strictEqual(deleted.item_id, "")
    }))

  it.scopedLive("xAI quirk: conversation.item.added names a previous_item_id never announced", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ faults: { unknownPreviousItemId: true } })
      const client = yield* open(server)
      const announced = new Set<string>()
      for (const text of ["one", "two"]) {
        yield* userText(client, text)
        const added = yield* client.next
        assert.strictEqual(added.type, "conversation.item.added")
        assert.isString(added.previous_item_id)
        assert.isFalse(announced.has(String(added.previous_item_id)))
        announced.add(String((added.item as Json).id))
      }
    }))

  it.scopedLive("xAI quirk: repeated transcriptions (updated partials, in_progress completed, full completed twice)", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ transcript: "turn the lights on", faults: { repeatedTranscriptions: true } })
      const client = yield* open(server)
      yield* client.send({ type: "session.update", session: { turn_detection: null } })
      yield* client.until("session.updated")
      yield* client.send({ type: "input_audio_buffer.append", audio: pcm(300) })
      yield* client.send({ type: "input_audio_buffer.commit" })
      const committed = (yield* client.until("input_audio_buffer.committed")).at(-1)!
      yield* client.next // the user item
      const events: Array<Json> = []
      for (let i = 0; i < 7; i++) events.push(yield* client.next)
      assert.deepStrictEqual(
        events.map((e) => [e.type, e.transcript, e.status]),
        [
          ["conversation.item.input_audio_transcription.updated", "turn", undefined],
          ["conversation.item.input_audio_transcription.updated", "turn the", undefined],
          ["conversation.item.input_audio_transcription.updated", "turn the lights", undefined],
          ["conversation.item.input_audio_transcription.updated", "turn the lights on", undefined],
          ["conversation.item.input_audio_transcription.completed", "turn the", "in_progress"],
          ["conversation.item.input_audio_transcription.completed", "turn the lights on", undefined],
          ["conversation.item.input_audio_transcription.completed", "turn the lights on", undefined]
        ]
      )
      for (const e of events) assert.strictEqual(e.item_id, committed.item_id)
    }))
  it.scopedLive("errorEvent midReply: the error right after the first audio delta, then the close; no response.done", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ reply: { audioMs: 1000 } })
      const client = yield* open(server)
      yield* server.setFaults({ errorEvent: { type: "insufficient_quota", code: "insufficient_quota", when: "midReply", closeCode: 1011 } })
      yield* client.send({ type: "response.create" })
      const events = yield* client.until("response.output_audio.delta")
      assert.strictEqual(events[0]!.type, "response.created")
      const error = yield* client.next
      assert.strictEqual(error.type, "error")
      assert.strictEqual((error.error as Json).code, "insufficient_quota")
      assert.strictEqual((yield* client.closed).code, 1011)
      const rest = yield* client.pending
      assert.isFalse(rest.some((t) => t.includes("response.done") || t.includes("response.output_audio.delta")))
    }))

  it.scopedLive("errorEvent midReply without closeCode: the reply stops, and the next response.create is accepted", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ reply: { audioMs: 1000 } })
      const client = yield* open(server)
      yield* server.setFaults({ errorEvent: { code: "server_error", when: "midReply" } })
      yield* client.send({ type: "response.create" })
      yield* client.until("response.output_audio.delta")
      assert.strictEqual((yield* client.next).type, "error")
      yield* server.setFaults({})
      yield* client.send({ type: "response.create" })
      assert.strictEqual((yield* client.next).type, "response.created")
      const events = yield* client.until("response.done")
      assert.strictEqual((events.at(-1)!.response as Json).status, "completed")
    }))

  it.scopedLive("xAI quirk: every conversation.item.added carries previous_item_id null", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ faults: { nullPreviousItemId: true } })
      const client = yield* open(server)
      for (const text of ["one", "two", "three"]) {
        yield* userText(client, text)
        const added = yield* client.next
        assert.strictEqual(added.type, "conversation.item.added")
        assert.isNull(added.previous_item_id)
      }
      // The assistant's item of a reply too.
      yield* client.send({ type: "response.create" })
      const reply = yield* client.until("conversation.item.added")
      assert.isNull(reply.at(-1)!.previous_item_id)
      assert.strictEqual((reply.at(-1)!.item as Json).role, "assistant")
    }))

  it.scopedLive("forgetConversations: ?conversation_id= gets a new, empty conversation under a new id", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      const first = yield* connect(server.url)
      yield* first.next
      const conversationId = ((yield* first.next).conversation as Json).id
      yield* userText(first, "remember me", "m1")
      yield* first.until("conversation.item.added")
      yield* server.setFaults({ forgetConversations: true })
      const second = yield* connect(`${server.url}?conversation_id=${conversationId}`)
      assert.strictEqual((yield* second.next).type, "session.created")
      const created = yield* second.next
      assert.strictEqual(created.type, "conversation.created")
      assert.notStrictEqual((created.conversation as Json).id, conversationId)
      // Nothing replayed: the next frame answers our own request.
      yield* second.send({ type: "session.update", session: {} })
      assert.strictEqual((yield* second.next).type, "session.updated")
      // Without the fault, the old conversation is still there.
      yield* server.setFaults({})
      const third = yield* connect(`${server.url}?conversation_id=${conversationId}`)
      const events = yield* third.until("conversation.item.created")
      assert.strictEqual((events[1]!.conversation as Json).id, conversationId)
      assert.strictEqual((events[2]!.item as Json).id, "m1")
    }))
})
