import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import * as FakeServer from "../src/FakeServer.js"
import { connect, type TestClient } from "../src/internal/fakeClient.js"

type Json = Record<string, unknown>

/** PCM16 mono 24 kHz: a 220 Hz sine whose RMS is `dbfs` (or silence), base64 in 100 ms chunks. */
const tone = (ms: number, dbfs: number | null): Array<string> => {
  const out: Array<string> = []
  const amp = dbfs === null ? 0 : Math.sqrt(2) * Math.pow(10, dbfs / 20)
  for (let c = 0; c < ms / 100; c++) {
    const s = new Int16Array(2400)
    for (let i = 0; i < s.length; i++) s[i] = Math.round(amp * 32767 * Math.sin((2 * Math.PI * 220 * (c * 2400 + i)) / 24000))
    out.push(Buffer.from(s.buffer).toString("base64"))
  }
  return out
}

const append = (client: TestClient, chunks: Array<string>) =>
  Effect.forEach(chunks, (audio) => client.send({ type: "input_audio_buffer.append", audio }), { discard: true })

const types = (events: Array<Json>) => events.map((e) => e.type)

const open = (server: FakeServer.FakeServer, query = "?model=grok-voice-latest") =>
  Effect.gen(function* () {
    const client = yield* connect(server.url + query)
    yield* client.until("conversation.created")
    return client
  })

const manual = (client: TestClient) =>
  client.send({ type: "session.update", session: { turn_detection: null } }).pipe(Effect.andThen(client.until("session.updated")))

describe("FakeServer", () => {
  it.scopedLive("greets with session.created (model from ?model=) and conversation.created, and records the handshake", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/realtime$/)
      const client = yield* connect(`${server.url}?model=grok-voice-think-fast-1.0`, { headers: { "User-Agent": "test/1" } })
      const created = yield* client.next
      assert.strictEqual(created.type, "session.created")
      const session = created.session as Json
      assert.strictEqual(session.model, "grok-voice-think-fast-1.0")
      assert.match(String(session.id), /^sess_/)
      assert.strictEqual((session.turn_detection as Json).type, "server_vad")
      const conv = yield* client.next
      assert.strictEqual(conv.type, "conversation.created")
      assert.match(String((conv.conversation as Json).id), /^conv_/)
      const requests = yield* server.requests
      assert.strictEqual(requests.length, 1)
      assert.strictEqual(requests[0]!.url, "/v1/realtime?model=grok-voice-think-fast-1.0")
      assert.strictEqual(requests[0]!.headers["user-agent"], "test/1")
      assert.strictEqual(yield* server.connections, 1)
    }))

  it.scopedLive("without ?model= the session reports xAI's silent fallback model", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      const client = yield* connect(server.url)
      const created = yield* client.next
      assert.strictEqual((created.session as Json).model, "grok-voice-fast-1.0")
    }))

  it.scopedLive("session.update echoes the merged session, accepting the xAI and the GA nested shapes", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      const client = yield* open(server)
      yield* client.send({ type: "session.update", session: { voice: "Eve", instructions: "Be brief.", turn_detection: { type: "server_vad", threshold: 0.7 } } })
      const [updated] = (yield* client.until("session.updated")).slice(-1)
      const s1 = updated!.session as Json
      assert.strictEqual(s1.voice, "Eve")
      assert.strictEqual(s1.instructions, "Be brief.")
      assert.deepStrictEqual(s1.turn_detection, {
        type: "server_vad",
        threshold: 0.7,
        prefix_padding_ms: 300,
        silence_duration_ms: 200,
        create_response: true,
        interrupt_response: true
      })
      yield* client.send({
        type: "session.update",
        session: { model: "ignored", audio: { output: { voice: "rex", speed: 1.2 }, input: { turn_detection: null } } }
      })
      const s2 = (yield* client.next).session as Json
      assert.strictEqual(s2.voice, "rex")
      assert.strictEqual(s2.turn_detection, null)
      assert.strictEqual(s2.instructions, "Be brief.")
      assert.strictEqual(s2.model, "grok-voice-latest")
      const output = (s2.audio as Json).output as Json
      assert.strictEqual(output.speed, 1.2)
      assert.isFalse("voice" in output)
      assert.deepStrictEqual(output.format, { type: "audio/pcm", rate: 24000 })
    }))

  it.scopedLive("a full server-VAD turn: speech started/stopped, commit, user item, transcript, then a response", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ transcript: "what time is it", reply: { text: "It is noon.", audioMs: 500 } })
      const client = yield* open(server)
      // 500 ms silence, 600 ms at -20 dBFS (threshold 0.5 = -40 dBFS), 500 ms silence
      yield* append(client, [...tone(500, null), ...tone(600, -20), ...tone(500, null)])
      const events = yield* client.until("response.done")
      // transcript pieces are spread over the audio: each one just before an audio delta
      types(events).forEach((t, i) => {
        if (t === "response.output_audio_transcript.delta") assert.strictEqual(events[i + 1]!.type, "response.output_audio.delta")
      })
      assert.strictEqual(types(events).filter((t) => t === "response.output_audio_transcript.delta").length, 3)
      assert.deepStrictEqual(types(events).filter((t) => t !== "response.output_audio_transcript.delta"), [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.input_audio_transcription.completed",
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        ...Array.from({ length: 5 }, () => "response.output_audio.delta"),
        "response.output_audio_transcript.done",
        "response.output_audio.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.done"
      ])
      const [started, stopped, committed, added, transcription] = events
      // speech begins at 500 ms; prefix padding 300 ms
      assert.strictEqual(started!.audio_start_ms, 200)
      // last loud frame ends at 1100 ms; 200 ms of silence later
      assert.strictEqual(stopped!.audio_end_ms, 1300)
      assert.strictEqual(stopped!.item_id, started!.item_id)
      assert.strictEqual(committed!.item_id, started!.item_id)
      assert.strictEqual(committed!.previous_item_id, null)
      assert.strictEqual((added!.item as Json).role, "user")
      assert.strictEqual(transcription!.transcript, "what time is it")
      const audio = events.filter((e) => e.type === "response.output_audio.delta")
      for (const a of audio) assert.strictEqual(Buffer.from(String(a.delta), "base64").length, 4800)
      const transcript = events.filter((e) => e.type === "response.output_audio_transcript.delta").map((e) => e.delta).join("")
      assert.strictEqual(transcript, "It is noon.")
      const done = events.at(-1)!.response as Json
      assert.strictEqual(done.status, "completed")
      const usage = done.usage as Json
      assert.isAbove(Number(usage.output_tokens), 0)
      assert.strictEqual(usage.total_tokens, Number(usage.input_tokens) + Number(usage.output_tokens))
      assert.isObject(usage.input_token_details)
      assert.isObject(usage.output_token_details)
      const output = done.output as Array<Json>
      assert.deepStrictEqual(output[0]!.content, [{ type: "output_audio", transcript: "It is noon." }])
    }))

  it.scopedLive("VAD threshold maps to dBFS: a -50 dBFS voice is silence at 0.5 (-40 dBFS) and speech at 0.2 (-52 dBFS)", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ reply: { audioMs: 100 } })
      const client = yield* open(server)
      yield* append(client, [...tone(300, -50), ...tone(300, null)])
      yield* client.send({ type: "session.update", session: { turn_detection: { type: "server_vad", threshold: 0.2 } } })
      // the first thing after the quiet voice is the session.updated: no VAD event came before it
      assert.strictEqual((yield* client.next).type, "session.updated")
      yield* append(client, [...tone(300, -50), ...tone(300, null)])
      assert.strictEqual((yield* client.next).type, "input_audio_buffer.speech_started")
    }))

  it.scopedLive("a manual turn: commit gives committed + user item + transcript and no response; clear gives cleared", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      const client = yield* open(server)
      yield* manual(client)
      yield* client.send({ type: "input_audio_buffer.commit", event_id: "c1" })
      const empty = yield* client.next
      assert.strictEqual(empty.type, "error")
      assert.strictEqual((empty.error as Json).code, "input_audio_buffer_commit_empty")
      assert.strictEqual((empty.error as Json).event_id, "c1")
      yield* append(client, tone(300, -20))
      yield* client.send({ type: "input_audio_buffer.commit" })
      const events = [yield* client.next, yield* client.next, yield* client.next]
      assert.deepStrictEqual(types(events), [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.input_audio_transcription.completed"
      ])
      assert.strictEqual(events[2]!.transcript, FakeServer.defaultTranscript)
      yield* append(client, tone(200, -20))
      yield* client.send({ type: "input_audio_buffer.clear" })
      assert.strictEqual((yield* client.next).type, "input_audio_buffer.cleared")
      // the cleared audio is gone: a commit now has nothing to commit
      yield* client.send({ type: "input_audio_buffer.commit" })
      assert.strictEqual(((yield* client.next).error as Json).code, "input_audio_buffer_commit_empty")
      const received = yield* server.received
      assert.deepStrictEqual(
        received.map((e) => e.type).filter((t) => t !== "input_audio_buffer.append"),
        ["session.update", "input_audio_buffer.commit", "input_audio_buffer.commit", "input_audio_buffer.clear", "input_audio_buffer.commit"]
      )
    }))

  it.scopedLive("response.create echoes metadata; text-only modality streams response.text.delta (xAI names)", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ reply: { text: "one two three" } })
      const client = yield* open(server)
      yield* client.send({
        type: "response.create",
        response: { metadata: { client_event_id: "abc" }, output_modalities: ["text"] }
      })
      const events = yield* client.until("response.done")
      const created = events[0]!
      assert.strictEqual(created.type, "response.created")
      assert.deepStrictEqual((created.response as Json).metadata, { client_event_id: "abc" })
      assert.deepStrictEqual((created.response as Json).output_modalities, ["text"])
      assert.deepStrictEqual(
        events.filter((e) => e.type === "response.text.delta").map((e) => e.delta),
        ["one ", "two ", "three"]
      )
      assert.isTrue(events.some((e) => e.type === "response.text.done" && e.text === "one two three"))
      assert.isFalse(events.some((e) => String(e.type).includes("audio")))
      assert.deepStrictEqual(((events.at(-1)!.response as Json).metadata as Json), { client_event_id: "abc" })
    }))

  it.scopedLive("textEvents: 'ga' uses response.output_text.delta", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ textEvents: "ga", reply: { text: "hi" } })
      const client = yield* open(server)
      yield* client.send({ type: "session.update", session: { output_modalities: ["text"] } })
      yield* client.until("session.updated")
      yield* client.send({ type: "response.create" })
      const events = yield* client.until("response.done")
      assert.isTrue(events.some((e) => e.type === "response.output_text.delta" && e.delta === "hi"))
    }))

  it.scopedLive("a function-call round trip: call, then a reply mentioning the tool output", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      const client = yield* open(server)
      yield* client.send({
        type: "session.update",
        session: {
          tools: [
            {
              type: "function",
              name: "get_weather",
              description: "Weather for a city",
              parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } }, required: ["city", "unit"] }
            }
          ]
        }
      })
      yield* client.until("session.updated")
      yield* client.send({ type: "conversation.item.create", item: { type: "message", role: "user", content: [{ type: "input_text", text: "Please get weather in Paris" }] } })
      yield* client.until("conversation.item.added")
      yield* client.send({ type: "response.create" })
      const events = yield* client.until("response.done")
      assert.deepStrictEqual(types(events).filter((t) => t !== "response.function_call_arguments.delta"), [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.done"
      ])
      const args = events.filter((e) => e.type === "response.function_call_arguments.delta").map((e) => e.delta).join("")
      const done = events.find((e) => e.type === "response.function_call_arguments.done")!
      assert.strictEqual(done.name, "get_weather")
      assert.strictEqual(done.arguments, args)
      assert.deepStrictEqual(JSON.parse(args), { city: "fake", unit: "c" })
      const item = events.find((e) => e.type === "response.output_item.done")!.item as Json
      assert.strictEqual(item.type, "function_call")
      assert.strictEqual(item.call_id, done.call_id)
      assert.strictEqual((events.at(-1)!.response as Json).status, "completed")

      yield* client.send({ type: "conversation.item.create", item: { type: "function_call_output", call_id: done.call_id, output: "{\"temp\":21}" } })
      const added = yield* client.next
      assert.strictEqual(added.type, "conversation.item.added")
      assert.strictEqual(added.previous_item_id, item.id)
      yield* client.send({ type: "response.create" })
      const reply = yield* client.until("response.done")
      const text = reply.filter((e) => e.type === "response.output_audio_transcript.delta").map((e) => e.delta).join("")
      assert.strictEqual(text, "The get_weather tool returned {\"temp\":21}.")
      assert.isFalse(reply.some((e) => e.type === "response.function_call_arguments.done"))
    }))

  it.scopedLive("a configured toolCall trigger calls the tool with the configured arguments", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ toolCall: { name: "lookup", trigger: "look it up", arguments: { q: "x" } } })
      const client = yield* open(server)
      yield* client.send({ type: "response.create", response: { instructions: "Please LOOK IT UP now" } })
      const events = yield* client.until("response.done")
      const done = events.find((e) => e.type === "response.function_call_arguments.done")!
      assert.strictEqual(done.name, "lookup")
      assert.deepStrictEqual(JSON.parse(String(done.arguments)), { q: "x" })
    }))

  it.scopedLive("response.cancel ends the active response with status cancelled and stops its audio", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ pacing: "realtime", reply: { audioMs: 10_000 } })
      const client = yield* open(server)
      yield* client.send({ type: "response.create" })
      const first = yield* client.until("response.output_audio.delta")
      const responseId = (first[0]!.response as Json).id
      yield* client.send({ type: "response.create", event_id: "second" })
      const busy = yield* client.until("error")
      assert.strictEqual((busy.at(-1)!.error as Json).code, "conversation_already_has_active_response")
      yield* client.send({ type: "response.cancel" })
      const rest = yield* client.until("response.done")
      const done = rest.at(-1)!.response as Json
      assert.strictEqual(done.id, responseId)
      assert.strictEqual(done.status, "cancelled")
      assert.deepStrictEqual(done.status_details, { type: "cancelled", reason: "client_cancelled" })
      assert.strictEqual(((done.output as Array<Json>)[0]!).status, "incomplete")
      // a new response can start, and nothing of the cancelled one follows its response.done
      yield* client.send({ type: "response.create", response: { output_modalities: ["text"] } })
      const next = yield* client.next
      assert.strictEqual(next.type, "response.created")
      assert.notStrictEqual((next.response as Json).id, responseId)
      yield* client.send({ type: "response.cancel" })
      const after = yield* client.until("response.done")
      assert.isFalse(after.some((e) => e.response_id === responseId))
    }))

  it.scopedLive("speech during a response interrupts it (turn_detected) when interrupt_response is on", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ pacing: "realtime", reply: { audioMs: 10_000 } })
      const client = yield* open(server)
      yield* client.send({ type: "response.create" })
      yield* client.until("response.output_audio.delta")
      yield* append(client, tone(200, -20))
      const events = yield* client.until("response.done")
      assert.isTrue(events.some((e) => e.type === "input_audio_buffer.speech_started"))
      assert.deepStrictEqual((events.at(-1)!.response as Json).status_details, { type: "cancelled", reason: "turn_detected" })
    }))

  it.scopedLive("truncate, delete and create keep the conversation; bad truncates are rejected", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ reply: { text: "a b c d e f g h i j", audioMs: 1000 } })
      const client = yield* open(server)
      yield* client.send({ type: "response.create" })
      const events = yield* client.until("response.done")
      const itemId = ((events.find((e) => e.type === "response.output_item.added")!.item) as Json).id
      yield* client.send({ type: "conversation.item.truncate", item_id: itemId, content_index: 0, audio_end_ms: 500 })
      const truncated = yield* client.next
      assert.strictEqual(truncated.type, "conversation.item.truncated")
      assert.strictEqual(truncated.audio_end_ms, 500)
      assert.strictEqual(truncated.transcript, "a b c d e")
      for (const ms of [0, 600]) {
        yield* client.send({ type: "conversation.item.truncate", item_id: itemId, content_index: 0, audio_end_ms: ms })
        const e = yield* client.next
        assert.strictEqual(e.type, "error")
        assert.strictEqual((e.error as Json).param, "audio_end_ms")
      }
      yield* client.send({ type: "conversation.item.create", previous_item_id: "root", item: { id: "mine", type: "message", role: "user", content: [{ type: "input_text", text: "first" }] } })
      const added = yield* client.next
      assert.strictEqual(added.type, "conversation.item.added")
      assert.strictEqual(added.previous_item_id, null)
      assert.strictEqual((added.item as Json).id, "mine")
      yield* client.send({ type: "conversation.item.create", previous_item_id: "mine", item: { type: "message", role: "user", content: [{ type: "input_text", text: "second" }] } })
      assert.strictEqual((yield* client.next).previous_item_id, "mine")
      yield* client.send({ type: "conversation.item.delete", item_id: itemId })
      const deleted = yield* client.next
      assert.strictEqual(deleted.type, "conversation.item.deleted")
      assert.strictEqual(deleted.item_id, itemId)
      yield* client.send({ type: "conversation.item.delete", item_id: itemId })
      assert.strictEqual(((yield* client.next).error as Json).code, "item_not_found")
    }))

  it.scopedLive("an xAI force_message item is spoken as a full response without response.create", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      const client = yield* open(server)
      yield* client.send({ type: "conversation.item.create", item: { type: "force_message", role: "assistant", content: [{ type: "output_text", text: "Say exactly this." }] } })
      const events = yield* client.until("response.done")
      assert.strictEqual(events[0]!.type, "response.created")
      const done = events.find((e) => e.type === "response.output_audio_transcript.done")!
      assert.strictEqual(done.transcript, "Say exactly this.")
      assert.strictEqual((events.at(-1)!.response as Json).status, "completed")
    }))

  it.scopedLive("unknown, untyped and non-JSON client frames get invalid_request_error errors", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      const client = yield* open(server)
      yield* client.send({ type: "conversation.item.retrieve", event_id: "e9" })
      const e1 = (yield* client.next).error as Json
      assert.strictEqual(e1.type, "invalid_request_error")
      assert.strictEqual(e1.event_id, "e9")
      yield* client.send({ hello: 1 })
      assert.strictEqual(((yield* client.next).error as Json).type, "invalid_request_error")
      yield* client.send("not json")
      assert.strictEqual(((yield* client.next).error as Json).code, "invalid_json")
    }))

  it.scopedLive("echo voice replies with the user's committed audio", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ reply: { voice: "echo" } })
      const client = yield* open(server)
      yield* manual(client)
      const chunks = tone(300, -20)
      yield* append(client, chunks)
      yield* client.send({ type: "input_audio_buffer.commit" })
      yield* client.until("conversation.item.input_audio_transcription.completed")
      yield* client.send({ type: "response.create" })
      const events = yield* client.until("response.done")
      const audio = events.filter((e) => e.type === "response.output_audio.delta").map((e) => e.delta)
      assert.deepStrictEqual(audio, chunks)
    }))

  it.scopedLive("pings every pingIntervalMs", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make({ pingIntervalMs: 20 })
      const client = yield* open(server)
      const ping = yield* client.next
      assert.strictEqual(ping.type, "ping")
      assert.isNumber(ping.timestamp)
    }))

  it.scopedLive("?conversation_id= resumes a known conversation, replaying its items as conversation.item.created", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      const first = yield* connect(server.url)
      yield* first.next
      const conversationId = ((yield* first.next).conversation as Json).id
      yield* first.send({ type: "conversation.item.create", item: { id: "m1", type: "message", role: "user", content: [{ type: "input_text", text: "remember me" }] } })
      yield* first.until("conversation.item.added")
      const second = yield* connect(`${server.url}?conversation_id=${conversationId}`)
      const events = yield* second.until("conversation.item.created")
      assert.strictEqual((events[1]!.conversation as Json).id, conversationId)
      assert.strictEqual((events[2]!.item as Json).id, "m1")
    }))

  it.scopedLive("inject, closeAll and connections act on every open connection", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      const a = yield* open(server)
      const b = yield* open(server)
      assert.strictEqual(yield* server.connections, 2)
      yield* server.inject({ type: "custom.event", n: 1 })
      yield* server.inject("raw text")
      for (const c of [a, b]) {
        assert.deepStrictEqual(yield* c.next, { type: "custom.event", n: 1 })
        assert.strictEqual(yield* c.nextRaw, "raw text")
      }
      yield* server.closeAll(4000, "bye")
      assert.deepStrictEqual(yield* a.closed, { code: 4000, reason: "bye" })
      assert.deepStrictEqual(yield* b.closed, { code: 4000, reason: "bye" })
    }))

  it.scopedLive("closing the server's Scope drops its connections and stops listening", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const server = yield* Scope.extend(FakeServer.make({ pingIntervalMs: 10_000 }), scope)
      const client = yield* open(server)
      yield* Scope.close(scope, Exit.void)
      const closed = yield* client.closed
      assert.strictEqual(closed.code, 1006)
      const again = yield* Effect.either(connect(server.url))
      assert.isTrue(again._tag === "Left")
    }))

  it.scopedLive("a busy port is a FakeServerError", () =>
    Effect.gen(function* () {
      const server = yield* FakeServer.make()
      const result = yield* Effect.either(FakeServer.make({ port: server.port }))
      assert.isTrue(result._tag === "Left" && result.left._tag === "FakeServerError")
    }))

  it.live("start() gives a Promise face that close() stops", () =>
    Effect.promise(async () => {
      const { server, close } = await FakeServer.start({ reply: { text: "hi" } })
      try {
        assert.strictEqual(await server.connections(), 0)
        assert.match(server.url, /^ws:\/\/127\.0\.0\.1:/)
        await server.setFaults({ rejectHandshake: 401 })
      } finally {
        await close()
      }
    }))
})
