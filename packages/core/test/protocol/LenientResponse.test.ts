import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import type { ProtocolError } from "../../src/Errors.js"
import * as Protocol from "../../src/Protocol.js"

// The published response.created / response.done payloads (see fixtures/conformance/README.md),
// without the two whose items a logger truncated to "[Object]" (Conformance.test.ts covers those).
const examples = fs
  .readFileSync(new URL("../fixtures/conformance/openai_examples.jsonl", import.meta.url), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as { readonly direction: string; readonly event: Record<string, unknown> })
const responseEvents = examples
  .filter((e) => e.direction === "server" && (e.event.type === "response.done" || e.event.type === "response.created"))
  .filter((e) => !JSON.stringify(e.event).includes("\"[Object]\""))
  .map((e) => e.event)

type Json = Record<string, unknown>

/** Decodes through the fast path, the Schema reference decoder and the JSON text; all three must agree. */
const decodeResponse = (event: Json): Protocol.Response => {
  const results: Array<Either.Either<Protocol.DecodedServerEvent, ProtocolError>> = [
    Protocol.decodeServerEventUnknown(event),
    Protocol.decodeServerEventUnknownWithSchema(event),
    Protocol.decodeServerEvent(JSON.stringify(event))
  ]
  const responses = results.map((r) => {
    if (Either.isLeft(r)) assert.fail(r.left.message)
    const decoded = r.right
    if (Protocol.isUnknownServerEvent(decoded)) assert.fail(`decoded as Unknown: ${decoded.type}`)
    if (decoded.type !== "response.done" && decoded.type !== "response.created") assert.fail(`wrong member ${decoded.type}`)
    return decoded.response
  })
  assert.deepStrictEqual(responses[1], responses[0])
  assert.deepStrictEqual(responses[2], responses[0])
  return responses[0]!
}

const failure = (event: Json): ProtocolError => {
  const r = Protocol.decodeServerEventUnknown(event)
  if (Either.isRight(r)) assert.fail("expected a ProtocolError")
  const reference = Protocol.decodeServerEventUnknownWithSchema(event)
  if (Either.isRight(reference)) assert.fail("the Schema decoder accepted what the fast path refused")
  return r.left
}

const done = (response: Json): Json => ({ type: "response.done", event_id: "e", response })

describe("conformance: lenient response.created / response.done", () => {
  it("the published response events are in the corpus and decode", () => {
    assert.isAtLeast(responseEvents.length, 4)
    for (const e of responseEvents) assert.isString(decodeResponse(e).id)
  })

  it("a status this library does not know decodes and keeps its string", () => {
    for (const e of responseEvents) {
      const response = { ...(e.response as Json), status: "expired" }
      const decoded = decodeResponse({ ...e, response })
      assert.strictEqual(decoded.status, "expired")
      assert.isFalse(Protocol.isKnownResponseStatus(decoded.status!))
    }
  })

  it("the documented statuses decode as known ones", () => {
    for (const status of Protocol.KnownResponseStatus.literals) {
      const decoded = decodeResponse(done({ id: "r", status }))
      assert.strictEqual(decoded.status, status)
      assert.isTrue(Protocol.isKnownResponseStatus(decoded.status!))
    }
  })

  it("every optional field of a real response.done can be missing", () => {
    const optional = ["object", "status", "status_details", "output", "usage", "metadata", "conversation_id", "output_modalities", "modalities", "audio"]
    for (const e of responseEvents) {
      const full = e.response as Json
      for (const key of optional) {
        const { [key]: _removed, ...rest } = full
        const decoded = decodeResponse({ ...e, response: rest })
        assert.isUndefined((decoded as Json)[key], key)
        assert.strictEqual(decoded.id, full.id)
      }
      // all at once: only the id is left
      assert.deepStrictEqual(decodeResponse({ ...e, response: { id: full.id } }), { id: full.id as string })
    }
  })

  it("usage with missing sub-fields and unknown extra fields decodes (the extras are dropped)", () => {
    const usage = {
      total_tokens: 10,
      future_tokens: 3,
      input_token_details: { audio_tokens: 2, video_tokens: 7, cached_tokens_details: { future: true } },
      output_token_details: {},
      billing: { tier: "x" }
    }
    const decoded = decodeResponse(done({ id: "r", status: "completed", usage }))
    assert.deepStrictEqual(decoded.usage, {
      total_tokens: 10,
      input_token_details: { audio_tokens: 2, cached_tokens_details: {} },
      output_token_details: {}
    })
    assert.deepStrictEqual(decodeResponse(done({ id: "r", usage: {} })).usage, {})
    assert.isNull(decodeResponse(done({ id: "r", usage: null })).usage)
  })

  it("documented status_details decode typed, with their extra keys kept", () => {
    const details = { type: "incomplete", reason: "max_output_tokens", error: null, retry_after_ms: 20 }
    const decoded = decodeResponse(done({ id: "r", status: "incomplete", status_details: details }))
    assert.deepStrictEqual(decoded.status_details, details)
    const sd = decoded.status_details!
    assert.isTrue(Protocol.isStatusDetails(sd))
    if (Protocol.isStatusDetails(sd)) assert.strictEqual(sd.reason, "max_output_tokens")
  })

  it("status_details of an unknown shape decode as an opaque record, kept whole", () => {
    const shapes: Array<Json> = [
      { type: 7, reason: { code: "quota" } },
      { reason: ["a", "b"], error: "boom" },
      { error: { code: 42, message: ["nested"] } },
      {}
    ]
    for (const details of shapes) {
      const decoded = decodeResponse(done({ id: "r", status: "failed", status_details: details }))
      assert.deepStrictEqual(decoded.status_details, details)
    }
    assert.isFalse(Protocol.isStatusDetails({ type: 7 }))
  })

  it("still refused: no id, a status that is not a string, a response that is not an object", () => {
    assert.strictEqual(failure(done({ status: "completed" })).path, "response.id")
    const e = failure(done({ id: "r", status: 3 }))
    assert.strictEqual(e.path, "response.status")
    assert.strictEqual(e.eventType, "response.done")
    assert.strictEqual(failure({ type: "response.created", response: "r" }).path, "response")
  })

  it("a __proto__ key in status_details, usage or metadata never reaches Object.prototype", () => {
    const text =
      `{"type":"response.done","response":{"id":"r","status":"expired","__proto__":{"polluted":1},` +
      `"status_details":{"__proto__":{"polluted":2},"type":5},"usage":{"__proto__":{"polluted":3}},` +
      `"metadata":{"__proto__":{"polluted":4},"k":"v"}}}`
    const r = Protocol.decodeServerEvent(text)
    assert.isTrue(Either.isRight(r))
    assert.isUndefined(({} as Json).polluted)
    if (Either.isRight(r) && !Protocol.isUnknownServerEvent(r.right) && r.right.type === "response.done") {
      const response = r.right.response
      assert.strictEqual(response.status, "expired")
      assert.strictEqual(Object.getPrototypeOf(response.status_details), Object.prototype)
      assert.isUndefined((response.status_details as Json).polluted)
      assert.isUndefined((response.metadata as Json).polluted)
      assert.strictEqual((response.metadata as Json).k, "v")
    } else {
      assert.fail("not a response.done")
    }
  })
})
