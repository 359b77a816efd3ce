// The compiled decoders keep an owned input (JSON the codec parsed itself) when it decodes to
// itself, instead of copying it; an input they do not own is always copied, as Schema does.
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import type * as Schema from "effect/Schema"
import { compile, FAIL, wireType } from "../../src/protocol/FastDecoder.js"
import * as Protocol from "../../src/Protocol.js"

/** The compiled decoder of the server member with this wire `type`. */
const compiled = (type: string) => {
  const member = Protocol.serverEventMembers.find((m) => wireType(m as Schema.Schema.AnyNoContext) === type)!
  return compile(member.ast)!
}
const audioDelta = compiled("response.output_audio.delta")
const created = compiled("response.created")

const delta = () => ({
  type: "response.output_audio.delta",
  event_id: "e1",
  response_id: "r1",
  item_id: "i1",
  output_index: 0,
  content_index: 0,
  delta: "AAAA"
})

describe("fast decoders and owned input", () => {
  it("an owned event whose fields all decode to themselves is returned as it is", () => {
    const input = delta()
    assert.strictEqual(audioDelta(input, true), input)
  })

  it("an input that is not owned is copied (the caller may change it later)", () => {
    const input = delta()
    const out = audioDelta(input)
    assert.notStrictEqual(out, input)
    assert.deepStrictEqual(out, input)
  })

  it("an owned event with keys the schema does not model gets a copy without them", () => {
    const input = { ...delta(), extra: { deep: true } }
    const out = audioDelta(input, true) as Record<string, unknown>
    assert.notStrictEqual(out, input)
    assert.deepStrictEqual(out, delta())
    assert.deepStrictEqual(input.extra, { deep: true }, "the input is not changed")
  })

  it("an owned event with a wrong field fails", () => {
    assert.strictEqual(audioDelta({ ...delta(), delta: 42 }, true), FAIL)
  })

  it("nested objects are kept or copied one by one: an extra key deep inside copies the path to it only", () => {
    const response = { id: "r1", object: "realtime.response", status: "in_progress", output: [] }
    const kept = { type: "response.created", event_id: "e", response }
    assert.strictEqual(created(kept, true), kept)
    const withExtra = { type: "response.created", event_id: "e", response: { ...response, surprise: 1 } }
    const decoded = created(withExtra, true) as { readonly response: Record<string, unknown> }
    assert.notStrictEqual(decoded, withExtra)
    assert.isFalse("surprise" in decoded.response)
    assert.deepStrictEqual(decoded as unknown, Either.getOrThrow(Protocol.decodeServerEventUnknownWithSchema(withExtra)) as unknown)
  })
})
