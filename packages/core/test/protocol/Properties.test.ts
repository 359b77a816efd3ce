import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
// Schema arbitraries come from effect's own fast-check: run them with the same copy
import * as EffectFc from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"
import * as fs from "node:fs"
import { ProtocolError } from "../../src/Errors.js"
import * as Protocol from "../../src/Protocol.js"

const roundTrip = <A, I>(name: string, schema: Schema.Schema<A, I>, numRuns = 50) =>
  it(`${name}: decode(encode(a)) == a`, () => {
    const encode = Schema.encodeSync(schema)
    const decode = Schema.decodeUnknownSync(schema)
    EffectFc.assert(
      EffectFc.property(Arbitrary.make(schema), (a) => {
        assert.deepStrictEqual(decode(encode(a)), a)
      }),
      { numRuns }
    )
  })

const nameOf = (schema: Schema.Schema.Any): string => String(schema.ast.annotations[Symbol.for("effect/annotation/Identifier")] ?? "member")

describe("properties: encode then decode is the identity", () => {
  for (const member of Protocol.serverEventMembers) roundTrip(`server ${nameOf(member)}`, member as Schema.Schema<unknown, unknown>)
  for (const member of Protocol.clientEventMembers) roundTrip(`client ${nameOf(member)}`, member as Schema.Schema<unknown, unknown>)
  roundTrip("SessionConfig", Protocol.SessionConfig, 100)
  roundTrip("ConversationItem", Protocol.ConversationItem, 100)
  roundTrip("ServerEvent union", Protocol.ServerEvent, 200)
  roundTrip("ClientEvent union", Protocol.ClientEvent, 200)

  it("client events survive the JSON codec (encodeClientEvent then decodeClientEvent)", () => {
    // JSON cannot carry undefined, -0 or non-finite numbers: compare after a JSON normalisation
    EffectFc.assert(
      EffectFc.property(Arbitrary.make(Protocol.ClientEvent), (event) => {
        const text = Protocol.encodeClientEvent(event)
        const decoded = Protocol.decodeClientEvent(text)
        if (Either.isLeft(decoded)) {
          // only possible when a non-finite number became null in JSON
          assert.match(text, /null/)
          return
        }
        assert.deepStrictEqual(JSON.parse(Protocol.encodeClientEvent(decoded.right)), JSON.parse(text))
      }),
      { numRuns: 200 }
    )
  })

  it("server events survive the JSON codec with their GA type", () => {
    EffectFc.assert(
      EffectFc.property(Arbitrary.make(Protocol.ServerEvent), (event) => {
        const text = Protocol.encodeServerEvent(event)
        const decoded = Protocol.decodeServerEvent(text)
        if (Either.isLeft(decoded)) {
          assert.match(text, /null/)
          return
        }
        assert.isFalse(Protocol.isUnknownServerEvent(decoded.right))
        assert.strictEqual(decoded.right.type, event.type)
      }),
      { numRuns: 200 }
    )
  })
})

describe("properties: random input never throws", () => {
  const check = (r: Either.Either<unknown, ProtocolError>) => {
    if (Either.isLeft(r)) {
      assert.instanceOf(r.left, ProtocolError)
      assert.isString(r.left.message)
    } else {
      const v = r.right as Protocol.DecodedServerEvent
      assert.isString(v.type)
    }
  }

  it("decodeServerEvent on random JSON text", () => {
    fc.assert(fc.property(fc.json(), (text) => check(Protocol.decodeServerEvent(text))), { numRuns: 500 })
  })

  it("decodeServerEvent on random strings (mostly malformed JSON)", () => {
    fc.assert(fc.property(fc.string(), (text) => check(Protocol.decodeServerEvent(text))), { numRuns: 500 })
  })

  it("decodeServerEventUnknown on anything, including objects with a known type", () => {
    const types = [...Protocol.serverEventTypes]
    const knownTyped = fc.record({ type: fc.constantFrom(...types) }).chain((base) =>
      fc.dictionary(fc.string(), fc.anything()).map((rest) => ({ ...rest, ...base }))
    )
    fc.assert(
      fc.property(fc.oneof(fc.anything(), knownTyped), (value) => {
        const r = Protocol.decodeServerEventUnknown(value)
        check(r)
        if (Either.isRight(r) && Protocol.isUnknownServerEvent(r.right)) {
          assert.isFalse(Protocol.serverEventTypes.has(r.right.type))
        }
      }),
      { numRuns: 500 }
    )
  })

  it("decodeClientEvent on random JSON text", () => {
    fc.assert(fc.property(fc.json(), (text) => check(Protocol.decodeClientEvent(text))), { numRuns: 300 })
  })
})

describe("properties: decodeServerFrame is decodeServerEvent without the Either", () => {
  const same = (text: string) => {
    const bare = Protocol.decodeServerFrame(text)
    const wrapped = Protocol.decodeServerEvent(text)
    if (Either.isLeft(wrapped)) {
      assert.instanceOf(bare, ProtocolError)
      assert.strictEqual((bare as ProtocolError).message, wrapped.left.message)
    } else {
      assert.notInstanceOf(bare, ProtocolError)
      assert.deepStrictEqual(bare, wrapped.right)
    }
  }
  const types = [...Protocol.serverEventTypes]
  const knownTyped = fc.constantFrom(...types).chain((type) =>
    fc.dictionary(fc.string(), fc.jsonValue()).map((rest) => JSON.stringify({ ...rest, type }))
  )

  it("on random strings, random JSON and objects of every modelled type (valid or not)", () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), knownTyped), same), { numRuns: 1000 })
  })

  it("on valid encoded events and the published examples", () => {
    for (const member of Protocol.serverEventMembers) {
      const encode = Schema.encodeSync(member as Schema.Schema<unknown, unknown>)
      EffectFc.assert(
        EffectFc.property(Arbitrary.make(member as Schema.Schema<unknown, unknown>), (a) => same(JSON.stringify(encode(a)))),
        { numRuns: 20 }
      )
    }
    const url = new URL("../fixtures/conformance/openai_examples.jsonl", import.meta.url)
    for (const line of fs.readFileSync(url, "utf8").split("\n").filter((l) => l.trim() !== "")) {
      same(JSON.stringify(JSON.parse(line).event))
    }
  })

  it("a value that is not a string (bypassing the types) is a ProtocolError", () => {
    assert.instanceOf(Protocol.decodeServerFrame(42 as unknown as string), ProtocolError)
  })
})

describe("properties: the compiled fast path agrees with the Schema decoder", () => {
  const agree = (fast: Either.Either<unknown, ProtocolError>, reference: Either.Either<unknown, ProtocolError>) => {
    assert.strictEqual(fast._tag, reference._tag)
    if (Either.isRight(fast) && Either.isRight(reference)) assert.deepStrictEqual(fast.right, reference.right)
    if (Either.isLeft(fast) && Either.isLeft(reference)) assert.strictEqual(fast.left.message, reference.left.message)
  }
  /**
   * The fast path on the value as given, and on its JSON text (where the decoder owns the parsed
   * object and keeps what decodes to itself instead of copying it), each against the Schema decoder.
   */
  const same = (value: unknown) => {
    agree(Protocol.decodeServerEventUnknown(value), Protocol.decodeServerEventUnknownWithSchema(value))
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch {
      return
    }
    if (text === undefined) return
    const reference = Protocol.decodeServerEventUnknownWithSchema(JSON.parse(text))
    const frame = Protocol.decodeServerFrame(text)
    agree(frame instanceof ProtocolError ? Either.left(frame) : Either.right(frame), reference)
    agree(Protocol.decodeServerEvent(text), reference)
  }

  it("every server member has a fast path", () => {
    assert.deepStrictEqual([...Protocol.fastPathServerEventTypes].sort(), [...Protocol.serverEventTypes].sort())
  })

  it("on valid events (encoded arbitraries, GA and beta wire names)", () => {
    for (const member of Protocol.serverEventMembers) {
      const schema = member as Schema.Schema<unknown, unknown>
      const encode = Schema.encodeSync(schema)
      EffectFc.assert(EffectFc.property(Arbitrary.make(schema), (a) => same(encode(a))), { numRuns: 30 })
    }
  })

  it("on the published examples, including mistakes and stubs", () => {
    const url = new URL("../fixtures/conformance/openai_examples.jsonl", import.meta.url)
    for (const line of fs.readFileSync(url, "utf8").split("\n").filter((l) => l.trim() !== "")) {
      same(JSON.parse(line).event)
    }
  })

  it("on random objects carrying a known type", () => {
    const types = [...Protocol.serverEventTypes]
    const value = fc.constantFrom(...types).chain((type) =>
      fc.oneof(
        fc.dictionary(fc.string(), fc.anything()).map((rest) => ({ ...rest, type })),
        fc.record({
          type: fc.constant(type),
          event_id: fc.oneof(fc.string(), fc.integer()),
          item_id: fc.oneof(fc.string(), fc.constant(null)),
          response_id: fc.string(),
          output_index: fc.oneof(fc.integer(), fc.string()),
          content_index: fc.integer(),
          delta: fc.oneof(fc.string(), fc.integer()),
          item: fc.anything(),
          response: fc.oneof(fc.record({ id: fc.string(), output: fc.array(fc.anything()) }), fc.anything()),
          session: fc.oneof(fc.record({ voice: fc.string(), turn_detection: fc.constant(null) }), fc.anything())
        }, { requiredKeys: ["type"] })
      )
    )
    fc.assert(fc.property(value, same), { numRuns: 1000 })
  })
})
