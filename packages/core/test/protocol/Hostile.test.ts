import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { ProtocolError } from "../../src/Errors.js"
import * as Protocol from "../../src/Protocol.js"

const MAX_MESSAGE = 401 // 400 characters and an ellipsis
const MAX_PATH = 121

/** Checks the codec's contract on one result: Right, or a short ProtocolError. */
const leftOf = <A>(r: Either.Either<A, ProtocolError>): ProtocolError => {
  if (Either.isRight(r)) assert.fail("expected a ProtocolError")
  assert.instanceOf(r.left, ProtocolError)
  assert.isAtMost(r.left.message.length, MAX_MESSAGE)
  assert.isAtMost((r.left.path ?? "").length, MAX_PATH)
  return r.left
}

const nest = (depth: number, open: string, close: string, inner = "1") => open.repeat(depth) + inner + close.repeat(depth)
const big = (n: number) => "QUJD".repeat(n / 4)

describe("codec: hostile frames never throw", () => {
  it("200,000 nested arrays or objects, at the root and inside known event fields", () => {
    const frames = [
      nest(200_000, "[", "]"),
      nest(200_000, "{\"a\":", "}"),
      `{"type":"conversation.item.added","item":${nest(200_000, "[", "]")}}`,
      `{"type":"response.done","response":${nest(200_000, "{\"a\":", "}")}}`,
      `{"type":"response.done","response":{"id":"r","status":${nest(100_000, "[", "]")}}}`,
      `{"type":"response.output_audio.delta","delta":${nest(100_000, "{\"x\":", "}")}}`
    ]
    for (const text of frames) {
      leftOf(Protocol.decodeServerEvent(text))
      leftOf(Protocol.decodeClientEvent(text))
    }
  })

  it("deep values under unknown-typed fields decode (they are not walked)", () => {
    const text = `{"type":"response.done","response":{"id":"r","metadata":{"x":${nest(100_000, "[", "]")}}}}`
    assert.isTrue(Either.isRight(Protocol.decodeServerEvent(text)))
  })

  it("multi-MB values of the wrong type give a short error without the payload", () => {
    const payload = big(4_000_000)
    const frames = [
      JSON.stringify({ type: "response.output_audio.delta", response_id: "r", item_id: "i", output_index: 0, content_index: payload, delta: payload }),
      JSON.stringify({ type: "response.done", response: { id: "r", status: 1, output: payload } }),
      JSON.stringify({ type: "response.done", response: { id: payload.length } }),
      JSON.stringify({ type: "input_audio_buffer.append", audio: [payload] })
    ]
    for (const text of frames) {
      const results: Array<Either.Either<unknown, ProtocolError>> = [Protocol.decodeServerEvent(text), Protocol.decodeClientEvent(text)]
      for (const r of results) {
        if (Either.isRight(r)) continue // a client frame may be an unknown-but-valid server event
        const e = leftOf(r)
        assert.notInclude(e.message, "QUJDQUJDQUJD")
        assert.notInclude(e.path ?? "", "QUJDQUJDQUJD")
      }
    }
  })

  it("a wrong-typed field holding a huge array or object is described by its size, not walked", () => {
    const items = Array.from({ length: 200_000 }, (_, i) => ({ type: "message", role: i }))
    const e = leftOf(Protocol.decodeServerEventUnknown({ type: "response.done", response: { id: "r", status: items } }))
    assert.strictEqual(e.path, "response.status")
    assert.include(e.message, "an array (200000 items)")
  })

  it("toString, __proto__ and constructor keys, and a non-string type", () => {
    const frames = [
      `{"type":"response.done","response":{"toString":{}}}`,
      `{"type":"response.done","response":{"id":"r","status":{"toString":{}}}}`,
      `{"type":{"toString":{}}}`,
      `{"type":{"toString":{},"valueOf":{}}}`,
      `{"type":"response.done","response":{"id":{"constructor":{"name":"x"},"__proto__":{"toString":1}}}}`,
      `{"type":42}`,
      `{"type":null}`,
      `{"__proto__":{"type":"response.done"}}`
    ]
    for (const text of frames) {
      leftOf(Protocol.decodeServerEvent(text))
      leftOf(Protocol.decodeClientEvent(text))
    }
  })

  it("a 10 MB type is an Unknown event; its name in errors is cut short", () => {
    const type = "x".repeat(10_000_000)
    const r = Protocol.decodeServerEvent(JSON.stringify({ type }))
    assert.isTrue(Either.isRight(r) && Protocol.isUnknownServerEvent(r.right))
    const e = leftOf(Protocol.decodeClientEvent(JSON.stringify({ type })))
    assert.isAtMost(e.eventType!.length, 80)
  })

  it("non-JSON-parse inputs to the Unknown decoders: throwing getters, revoked proxies, cycles", () => {
    const throwingType = Object.defineProperty({}, "type", { get: () => { throw new Error("boom") } })
    const ref = { type: "response.output_audio.delta", response_id: "r", item_id: "i", output_index: 0, content_index: 0 }
    const throwingField = Object.defineProperty(ref, "delta", {
      enumerable: true,
      get: () => { throw new Error("boom") }
    })
    const { proxy, revoke } = Proxy.revocable({ type: "ping" }, {})
    revoke()
    const cyclic: Record<string, unknown> = { type: "response.done" }
    cyclic.response = cyclic
    for (const value of [throwingType, throwingField, proxy]) {
      // the throw itself is caught
      assert.include(leftOf(Protocol.decodeServerEventUnknown(value)).message, "Could not decode")
      assert.include(leftOf(Protocol.decodeServerEventUnknownWithSchema(value)).message, "Could not decode")
      leftOf(Protocol.decodeClientEventUnknown(value))
    }
    assert.strictEqual(leftOf(Protocol.decodeServerEventUnknown(throwingField)).eventType, "response.output_audio.delta")
    leftOf(Protocol.decodeServerEventUnknown(cyclic))
    leftOf(Protocol.decodeClientEventUnknown(cyclic))
  })

  it("a string that is not a string (bypassing the types) is a ProtocolError", () => {
    leftOf(Protocol.decodeServerEvent(42 as unknown as string))
    leftOf(Protocol.decodeClientEvent({ type: "ping" } as unknown as string))
  })
})

describe("codec: encoders never throw in their Either form", () => {
  const asEvent = (value: unknown) => value as Protocol.ClientEvent

  it("an invalid field value names the event type and the path", () => {
    const e = leftOf(Protocol.encodeClientEventEither(asEvent({ type: "input_audio_buffer.append", audio: 42 })))
    assert.strictEqual(e.eventType, "input_audio_buffer.append")
    assert.strictEqual(e.path, "audio")
  })

  it("a cycle, a BigInt, a throwing getter or toJSON under an unknown field name the event type", () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const getter = Object.defineProperty({}, "x", { enumerable: true, get: () => { throw new Error("nope") } })
    const values: Array<unknown> = [cyclic, { n: 10n }, getter, { toJSON: () => { throw new Error("nope") } }]
    for (const metadata of values) {
      const event = asEvent({ type: "response.create", response: { metadata } })
      const e = leftOf(Protocol.encodeClientEventEither(event))
      assert.strictEqual(e.eventType, "response.create")
      assert.include(e.message, "response.create")
      assert.throws(() => Protocol.encodeClientEvent(event), ProtocolError)
    }
  })

  it("a getter that throws on a schema field, a missing or unknown type, a non-object", () => {
    const event = Object.defineProperty({ type: "input_audio_buffer.append" }, "audio", {
      enumerable: true,
      get: () => { throw new Error("nope") }
    })
    assert.strictEqual(leftOf(Protocol.encodeClientEventEither(asEvent(event))).eventType, "input_audio_buffer.append")
    assert.strictEqual(leftOf(Protocol.encodeClientEventEither(asEvent({ audio: "" }))).path, "type")
    assert.include(leftOf(Protocol.encodeClientEventEither(asEvent({ type: "nope" }))).message, "Unknown client event type")
    leftOf(Protocol.encodeClientEventEither(asEvent(null)))
    leftOf(Protocol.encodeClientEventEither(asEvent("input_audio_buffer.append")))
  })

  it("a huge invalid payload gives a short error without it", () => {
    const e = leftOf(Protocol.encodeClientEventEither(asEvent({ type: "input_audio_buffer.append", audio: [big(4_000_000)] })))
    assert.notInclude(e.message, "QUJDQUJDQUJD")
  })

  it("valid events encode to the same text as encodeClientEvent", () => {
    const event: Protocol.ClientEvent = { type: "input_audio_buffer.append", audio: big(6400) }
    assert.deepStrictEqual(Protocol.encodeClientEventEither(event), Either.right(Protocol.encodeClientEvent(event)))
  })

  it("encodeServerEventEither: valid events round-trip, invalid ones are ProtocolErrors", () => {
    const event: Protocol.ServerEvent = { type: "ping", timestamp: 1 }
    assert.deepStrictEqual(Protocol.encodeServerEventEither(event), Either.right(Protocol.encodeServerEvent(event)))
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const bad = { type: "response.done", response: { id: "r", metadata: cyclic } } as unknown as Protocol.ServerEvent
    assert.strictEqual(leftOf(Protocol.encodeServerEventEither(bad)).eventType, "response.done")
    assert.throws(() => Protocol.encodeServerEvent(bad), ProtocolError)
  })
})
