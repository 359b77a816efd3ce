import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import type { ProtocolError } from "../../src/Errors.js"
import * as Protocol from "../../src/Protocol.js"

// The published payloads, copied into the repository (see fixtures/conformance/README.md).
const conformance = new URL("../fixtures/conformance/", import.meta.url)
const readJsonl = (name: string): Array<Example> =>
  fs.readFileSync(new URL(name, conformance), "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l))

interface Example {
  readonly direction: "server" | "client"
  readonly api: "ga" | "beta" | "xai"
  readonly event: Record<string, unknown>
  readonly note?: string
}

const examples = readJsonl("openai_examples.jsonl")
const eventTypes = JSON.parse(fs.readFileSync(new URL("event_types.json", conformance), "utf8")) as Record<
  string,
  ReadonlyArray<string>
>
const sequence = readJsonl("sequences/beta_text_response_liusida_dictionary.jsonl")

/** Beta wire names and the GA `type` they decode to. */
const betaTwins: Record<string, string> = {
  "response.audio.delta": "response.output_audio.delta",
  "response.audio.done": "response.output_audio.done",
  "response.audio_transcript.delta": "response.output_audio_transcript.delta",
  "response.audio_transcript.done": "response.output_audio_transcript.done",
  "response.text.delta": "response.output_text.delta",
  "response.text.done": "response.output_text.done"
}
const gaName = (type: string): string => betaTwins[type] ?? type

// Examples that are NOT expected to decode to their own typed member, and why.
const isTranslation = (e: Example) => (e.note ?? "").includes("translation session event")
const isWhitespaceType = (e: Example) => (e.note ?? "").includes("leading/trailing whitespace")
const isRetrievedWithCreatedType = (e: Example) => (e.note ?? "").includes("does not match schema enum")
const isLoggerTruncated = (e: Example) => JSON.stringify(e.event).includes("\"[Object]\"")

/** Removes the console.log "[Object]" stubs (array entries and fields) of the recorded session. */
const removeObjectStubs = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.filter((v) => v !== "[Object]").map(removeObjectStubs)
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (v !== "[Object]") out[k] = removeObjectStubs(v)
    return out
  }
  return value
}

const typed = (r: Either.Either<Protocol.DecodedServerEvent, ProtocolError>) => {
  if (Either.isLeft(r)) assert.fail(r.left.message)
  const event = r.right
  if (Protocol.isUnknownServerEvent(event)) assert.fail(`decoded as Unknown: ${event.type}`)
  return event
}

describe("conformance: published examples", () => {
  const server = examples.filter((e) => e.direction === "server")
  const client = examples.filter((e) => e.direction === "client")

  it("has the documented corpus", () => {
    assert.strictEqual(examples.length, 141)
  })

  it("every server example decodes to its typed member (exceptions listed below)", () => {
    let checked = 0
    for (const e of server) {
      if (isTranslation(e) || isWhitespaceType(e) || isLoggerTruncated(e)) continue
      const event = typed(Protocol.decodeServerEventUnknown(e.event))
      assert.strictEqual(event.type, gaName(e.event.type as string), JSON.stringify(e.event).slice(0, 200))
      // it also decodes from its JSON text
      assert.isTrue(Either.isRight(Protocol.decodeServerEvent(JSON.stringify(e.event))))
      checked++
    }
    assert.isAtLeast(checked, 90)
  })

  it("exception: the GA dtmf example has a leading space in its type, so it is an Unknown event", () => {
    const es = server.filter(isWhitespaceType)
    assert.strictEqual(es.length, 1)
    const r = Protocol.decodeServerEventUnknown(es[0]!.event)
    assert.isTrue(Either.isRight(r))
    const event = Either.getOrThrow(r)
    assert.isTrue(Protocol.isUnknownServerEvent(event))
    if (Protocol.isUnknownServerEvent(event)) {
      assert.strictEqual(event.type, " input_audio_buffer.dtmf_event_received")
      assert.deepStrictEqual(event.raw, es[0]!.event)
    }
    // with the type repaired it is the typed member
    const fixed = typed(Protocol.decodeServerEventUnknown({ ...es[0]!.event, type: "input_audio_buffer.dtmf_event_received" }))
    assert.strictEqual(fixed.type, "input_audio_buffer.dtmf_event_received")
  })

  it("exception: the conversation.item.retrieved example says type conversation.item.created, and decodes as that", () => {
    const es = server.filter(isRetrievedWithCreatedType)
    assert.isAtLeast(es.length, 1)
    for (const e of es) {
      const event = typed(Protocol.decodeServerEventUnknown(e.event))
      assert.strictEqual(event.type, "conversation.item.created")
    }
  })

  it("exception: logger-truncated \"[Object]\" stubs are ProtocolErrors naming the path; without the stubs they decode", () => {
    const es = server.filter(isLoggerTruncated)
    assert.strictEqual(es.length, 2)
    for (const e of es) {
      const r = Protocol.decodeServerEventUnknown(e.event)
      assert.isTrue(Either.isLeft(r))
      if (Either.isLeft(r)) {
        assert.strictEqual(r.left.eventType, e.event.type)
        assert.match(r.left.path ?? "", /^(item\.content\[0\]|response\.output\[0\])$/)
      }
      const event = typed(Protocol.decodeServerEventUnknown(removeObjectStubs(e.event)))
      assert.strictEqual(event.type, e.event.type)
    }
  })

  it("exception: translation-session events are another protocol and never decode as session events", () => {
    const es = server.filter(isTranslation)
    assert.strictEqual(es.length, 6)
    for (const e of es) {
      const r = Protocol.decodeServerEventUnknown(e.event)
      // session.created/updated of type "translation" fail SessionConfig.type; the rest are Unknown
      assert.isTrue(Either.isLeft(r) || Protocol.isUnknownServerEvent(r.right), JSON.stringify(e.event))
    }
  })

  it("the beta response.created with a stray timestamp key decodes (unknown keys never fail)", () => {
    const e = server.find((x) => x.event.type === "response.created" && "timestamp" in x.event)
    assert.isDefined(e)
    assert.strictEqual(typed(Protocol.decodeServerEventUnknown(e!.event)).type, "response.created")
  })

  it("every client example decodes and re-encodes to an equal object (translation ones excluded)", () => {
    let checked = 0
    for (const e of client) {
      if (isTranslation(e)) continue
      const r = Protocol.decodeClientEvent(JSON.stringify(e.event))
      if (Either.isLeft(r)) assert.fail(`${r.left.message}: ${JSON.stringify(e.event).slice(0, 200)}`)
      const decoded = Either.getOrThrow(r)
      assert.deepStrictEqual(JSON.parse(Protocol.encodeClientEvent(decoded)), e.event)
      checked++
    }
    assert.strictEqual(checked, 32)
  })

  it("translation client events are not client events of this protocol", () => {
    const es = client.filter(isTranslation).filter((e) => String(e.event.type).startsWith("session."))
    for (const e of es.filter((x) => x.event.type !== "session.update")) {
      assert.isTrue(Either.isLeft(Protocol.decodeClientEventUnknown(e.event)))
    }
  })

  it("xAI's force_message item is accepted by conversation.item.create", () => {
    const event = {
      type: "conversation.item.create",
      item: { type: "force_message", role: "assistant", content: [{ type: "output_text", text: "Hello there" }] }
    }
    const r = Protocol.decodeClientEventUnknown(event)
    assert.isTrue(Either.isRight(r))
    assert.deepStrictEqual(JSON.parse(Protocol.encodeClientEvent(Either.getOrThrow(r))), event)
  })
})

describe("conformance: event_types.json", () => {
  const serverLists = ["ga_server", "beta_server", "xai_server"]
  const clientLists = ["ga_client", "beta_client", "xai_client"]

  it("has the documented list sizes", () => {
    assert.strictEqual(eventTypes["ga_server"]!.length, 46)
    assert.strictEqual(eventTypes["ga_client"]!.length, 11)
  })

  it("every server type (GA, beta, xAI) has a member", () => {
    for (const list of serverLists) {
      for (const type of eventTypes[list]!) {
        assert.isTrue(Protocol.serverEventTypes.has(type), `${list}: ${type}`)
      }
    }
  })

  it("every client type (GA, beta, xAI) has a member", () => {
    for (const list of clientLists) {
      for (const type of eventTypes[list]!) {
        assert.isTrue(Protocol.clientEventTypes.has(type), `${list}: ${type}`)
      }
    }
  })

  it("xAI-only events documented in PROTOCOL.md have members and decode", () => {
    const frames = [
      { type: "ping", timestamp: 1750000000 },
      { type: "conversation.item.input_audio_transcription.updated", event_id: "e", item_id: "i", transcript: "hel" },
      { type: "input_audio_buffer.timeout_triggered", event_id: "e", item_id: "i", audio_start_ms: 0, audio_end_ms: 10 },
      { type: "conversation.item.truncated", event_id: "e", item_id: "i", content_index: 0, audio_end_ms: 5, transcript: "he" },
      { type: "conversation.created", event_id: "e", conversation: { id: "conv_1" } },
      { type: "conversation.item.deleted", event_id: "e", item_id: "" },
      { type: "conversation.item.added", event_id: "e", previous_item_id: null, item: { id: "x", type: "message", role: "user", content: [] } },
      { type: "response.output_audio_transcript.delta", event_id: "e", response_id: "r", item_id: "i", output_index: 0, content_index: 0, delta: "Hi", start_time: 0.25 },
      { type: "conversation.item.input_audio_transcription.completed", event_id: "e", item_id: "i", transcript: "hi", status: "in_progress" },
      { type: "error", event_id: "e", error: { type: "max_duration", message: "Session reached its maximum duration" } }
    ]
    for (const f of frames) {
      assert.strictEqual(typed(Protocol.decodeServerEventUnknown(f)).type, f.type)
    }
  })

  it("a beta or xAI wire name decodes with the GA type", () => {
    const text = JSON.stringify({ type: "response.text.delta", event_id: "e", response_id: "r", item_id: "i", output_index: 0, content_index: 0, delta: "Hi" })
    const event = typed(Protocol.decodeServerEvent(text))
    assert.strictEqual(event.type, "response.output_text.delta")
    // and encodes back with the GA name
    assert.strictEqual(JSON.parse(Protocol.encodeServerEvent(event)).type, "response.output_text.delta")
  })
})

describe("conformance: recorded beta sequence", () => {
  it("decodes fully, in order (the two logger-truncated lines after removing their \"[Object]\" stubs)", () => {
    assert.strictEqual(sequence.length, 85)
    const types: Array<string> = []
    for (const line of sequence) {
      const event = typed(Protocol.decodeServerEventUnknown(removeObjectStubs(line.event)))
      types.push(event.type)
    }
    assert.strictEqual(types[0], "response.created")
    assert.strictEqual(types[types.length - 1], "response.done")
    assert.strictEqual(types.filter((t) => t === "response.output_text.delta").length, 77)
    const done = typed(Protocol.decodeServerEventUnknown(removeObjectStubs(sequence[84]!.event)))
    if (done.type === "response.done") {
      assert.strictEqual(done.response.status, "completed")
      assert.strictEqual(done.response.usage?.output_tokens, 79)
      assert.deepStrictEqual(done.response.metadata, { request_id: "a68f767f-0d18-4494-9012-f113cf16d43a" })
    } else {
      assert.fail("last event is not response.done")
    }
  })
})
