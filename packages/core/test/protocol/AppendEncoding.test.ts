// The append fast path: `Protocol.encodeAppend` and the append branch of `encodeClientEventEither`
// build the JSON text without Schema; they must give exactly the Schema encoding's bytes.
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"
import * as AudioFrame from "../../src/AudioFrame.js"
import * as Protocol from "../../src/Protocol.js"

/** The reference: the member schema's encoding, then JSON.stringify (what the codec did before). */
const schemaText = (event: unknown): string =>
  JSON.stringify(Schema.encodeUnknownSync(Protocol.InputAudioBufferAppend)(event))

const viaCodec = (event: Protocol.ClientEvent): string => Either.getOrThrow(Protocol.encodeClientEventEither(event))

describe("append encoding without Schema", () => {
  it("encodeAppend(b64) equals encodeClientEventEither and the Schema encoding, byte for byte (random base64)", () => {
    fc.assert(
      fc.property(fc.base64String({ maxLength: 9000 }), (audio) => {
        const event = { type: "input_audio_buffer.append" as const, audio }
        const fast = Protocol.encodeAppend(audio)
        assert.strictEqual(fast, viaCodec(event))
        assert.strictEqual(fast, schemaText(event))
        assert.deepStrictEqual(JSON.parse(fast), event)
      }),
      { numRuns: 300 }
    )
  })

  it("any string (quotes, control characters, lone surrogates) is escaped as JSON.stringify does", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 64 }), (audio) => {
        const event = { type: "input_audio_buffer.append" as const, audio }
        assert.strictEqual(Protocol.encodeAppend(audio), schemaText(event))
        assert.strictEqual(viaCodec(event), schemaText(event))
      }),
      { numRuns: 60 }
    )
  })

  it("with an event_id, or extra keys (dropped), the codec's fast branch still equals the Schema encoding", () => {
    fc.assert(
      fc.property(
        fc.base64String({ maxLength: 400 }),
        fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 3 }),
        (audio, eventId, extra) => {
          const event = { ...extra, type: "input_audio_buffer.append" as const, audio, event_id: eventId }
          assert.strictEqual(viaCodec(event), schemaText(event))
        }
      )
    )
  })

  it("encodeAppendPcm(pcm) equals the Schema encoding of the append of encodeBase64(pcm), byte for byte (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 3000 }), fc.nat(5), (samples, at) => {
        // a view at an offset into a larger buffer, as a chunk of the caller's frame may be
        const whole = new Int16Array(samples.length + at + 3).fill(-1)
        whole.set(samples, at)
        const pcm = whole.subarray(at, at + samples.length)
        const event = { type: "input_audio_buffer.append" as const, audio: AudioFrame.encodeBase64(pcm) }
        const text = Protocol.encodeAppendPcm(pcm)
        assert.strictEqual(text, schemaText(event))
        assert.strictEqual(text, Protocol.encodeAppend(event.audio))
        assert.deepStrictEqual(Array.from(AudioFrame.decodeBase64(JSON.parse(text).audio)), samples)
      }),
      { numRuns: 200 }
    )
  })

  it("an append the schema refuses is still refused with a ProtocolError naming it", () => {
    for (const bad of [{ audio: 42 }, { audio: "AAAA", event_id: 7 }, {}]) {
      const result = Protocol.encodeClientEventEither({ type: "input_audio_buffer.append", ...bad } as never)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.include(result.left.message, "input_audio_buffer.append")
    }
  })
})
