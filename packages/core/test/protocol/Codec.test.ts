import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Protocol from "../../src/Protocol.js"

// 100 ms of PCM16 at 24 kHz = 4800 bytes = 6400 base64 chars
const audio6k = "QUJD".repeat(1600)

const known = <E>(r: Either.Either<Protocol.DecodedServerEvent, E>): Protocol.ServerEvent => {
  const event = Either.getOrThrow(r)
  if (Protocol.isUnknownServerEvent(event)) assert.fail(`unexpected Unknown ${event.type}`)
  return event
}

const left = <A, E>(r: Either.Either<A, E>): E => {
  if (Either.isRight(r)) assert.fail("expected a ProtocolError")
  return r.left
}

describe("Codec: errors", () => {
  it("a wrong field names the type and the path, and never carries the audio payload", () => {
    const frame = JSON.stringify({
      type: "response.output_audio.delta",
      event_id: "e1",
      response_id: "r1",
      item_id: "i1",
      output_index: "zero",
      content_index: 0,
      delta: audio6k
    })
    const error = left(Protocol.decodeServerEvent(frame))
    assert.strictEqual(error._tag, "ProtocolError")
    assert.strictEqual(error.eventType, "response.output_audio.delta")
    assert.strictEqual(error.path, "output_index")
    assert.include(error.message, "response.output_audio.delta")
    assert.include(error.message, "output_index")
    assert.notInclude(error.message, "QUJDQUJDQUJDQUJDQUJDQUJD")
    assert.isBelow(error.message.length, 500)
    assert.notInclude(String(error), "QUJDQUJDQUJDQUJDQUJDQUJD")
  })

  it("a wrong audio field itself (number instead of base64) names the delta path", () => {
    const error = left(
      Protocol.decodeServerEventUnknown({
        type: "response.audio.delta",
        response_id: "r",
        item_id: "i",
        output_index: 0,
        content_index: 0,
        delta: 42
      })
    )
    assert.strictEqual(error.eventType, "response.audio.delta")
    assert.strictEqual(error.path, "delta")
  })

  it("a wrong nested field deep in an item names the full path; long payloads inside are scrubbed", () => {
    const error = left(
      Protocol.decodeServerEventUnknown({
        type: "conversation.item.added",
        event_id: "e",
        item: { id: "x", type: "message", role: "robot", content: [{ type: "input_audio", audio: audio6k }] }
      })
    )
    assert.strictEqual(error.eventType, "conversation.item.added")
    assert.match(error.path ?? "", /^item/)
    assert.notInclude(error.message, "QUJDQUJDQUJDQUJDQUJDQUJD")
  })

  it("a huge malformed frame is a short ProtocolError without its text", () => {
    const error = left(Protocol.decodeServerEvent(`{"type":"response.output_audio.delta","delta":"${audio6k}"`))
    assert.include(error.message, "Malformed JSON")
    assert.notInclude(error.message, "QUJDQUJDQUJDQUJDQUJDQUJD")
  })

  it("non-objects and missing types are ProtocolErrors", () => {
    assert.include(left(Protocol.decodeServerEvent("[1,2]")).message, "not a JSON object")
    assert.include(left(Protocol.decodeServerEvent("null")).message, "not a JSON object")
    assert.strictEqual(left(Protocol.decodeServerEvent("{\"event_id\":\"x\"}")).path, "type")
  })
})

describe("Codec: unknown events and keys", () => {
  it("an unknown type is the Unknown member carrying the raw object", () => {
    const raw = { type: "session.future_thing", event_id: "e", payload: { a: 1 } }
    const r = Protocol.decodeServerEvent(JSON.stringify(raw))
    assert.isTrue(Either.isRight(r))
    const event = Either.getOrThrow(r)
    assert.isTrue(Protocol.isUnknownServerEvent(event))
    if (Protocol.isUnknownServerEvent(event)) {
      assert.strictEqual(event._tag, "UnknownServerEvent")
      assert.strictEqual(event.type, "session.future_thing")
      assert.deepStrictEqual(event.raw, raw)
    }
  })

  it("unknown keys never fail a decode (they are dropped)", () => {
    const event = Either.getOrThrow(
      Protocol.decodeServerEventUnknown({ type: "input_audio_buffer.cleared", event_id: "e", extra: { deep: [1] } })
    )
    assert.deepStrictEqual(event, { type: "input_audio_buffer.cleared", event_id: "e" })
  })

  it("beta audio delta decodes to the GA type and keeps the payload string as is", () => {
    const event = known(
      Protocol.decodeServerEvent(
        JSON.stringify({ type: "response.audio.delta", event_id: "e", response_id: "r", item_id: "i", output_index: 0, content_index: 0, delta: audio6k })
      )
    )
    assert.strictEqual(event.type, "response.output_audio.delta")
    if (event.type === "response.output_audio.delta") assert.strictEqual(event.delta, audio6k)
    else assert.fail("wrong member")
  })

  it("opaque items of other kinds are kept whole", () => {
    const item = { type: "mcp_call", id: "m1", server_label: "s", name: "n", arguments: "{}", output: null }
    const event = known(Protocol.decodeServerEventUnknown({ type: "response.output_item.done", response_id: "r", output_index: 0, item }))
    if (event.type === "response.output_item.done") assert.deepStrictEqual(event.item, item)
    else assert.fail("wrong member")
  })
})

describe("Codec: encoding", () => {
  it("encodeClientEvent gives the JSON text of the event", () => {
    const text = Protocol.encodeClientEvent({ type: "input_audio_buffer.append", audio: audio6k })
    assert.deepStrictEqual(JSON.parse(text), { type: "input_audio_buffer.append", audio: audio6k })
  })

  it("encodeClientEvent of a session.update keeps null turn detection (manual turns)", () => {
    const text = Protocol.encodeClientEvent({
      type: "session.update",
      session: { turn_detection: null, voice: "ara", audio: { input: { format: { type: "audio/pcm", rate: 24000 } } } }
    })
    assert.deepStrictEqual(JSON.parse(text).session.turn_detection, null)
  })

  it("encodeServerEvent round-trips through decodeServerEvent", () => {
    const event: Protocol.ServerEvent = { type: "ping", timestamp: 12 }
    assert.deepStrictEqual(Either.getOrThrow(Protocol.decodeServerEvent(Protocol.encodeServerEvent(event))), event)
  })
})
