// Decoder fuzz suite: random and mutated frames through decodeServerEvent (and decodeClientEvent).
// Under CI=true the properties below run 20,000 cases in total (about 15 s on a 2-core machine);
// locally a tenth of that. Multi-MB values and 200,000-deep nesting are in Hostile.test.ts.
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import * as fs from "node:fs"
import { ProtocolError } from "../../src/Errors.js"
import * as Protocol from "../../src/Protocol.js"

const CI = process.env.CI === "true"
const runs = (n: number) => (CI ? n : Math.ceil(n / 10))

// ---------------------------------------------------------------------------------------------
// corpus: every published frame (both directions), as JSON text
// ---------------------------------------------------------------------------------------------

const frames: ReadonlyArray<string> = fs
  .readFileSync(new URL("../fixtures/conformance/openai_examples.jsonl", import.meta.url), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.stringify((JSON.parse(l) as { readonly event: unknown }).event))

const knownTypes = [...new Set([...Protocol.serverEventTypes, ...Protocol.clientEventTypes])]

/** Field names the schemas use, so that random objects reach past the first check more often. */
const fieldNames = [
  "type", "event_id", "response", "item", "item_id", "response_id", "output_index", "content_index", "delta",
  "session", "id", "status", "status_details", "usage", "output", "content", "role", "metadata", "transcript",
  "audio", "error", "part", "previous_item_id", "conversation", "arguments", "name", "call_id", "__proto__",
  "constructor", "toString"
]

// ---------------------------------------------------------------------------------------------
// checks
// ---------------------------------------------------------------------------------------------

const MAX_MESSAGE = 401 // 400 characters and an ellipsis
const MAX_PATH = 121
const MAX_EVENT_TYPE = 70 // 48 characters and "…(N chars)"

const prototypeKeys = (): string =>
  [...Object.getOwnPropertyNames(Object.prototype), ...Object.getOwnPropertySymbols(Object.prototype).map(String)].sort().join(",")
const objectPrototypeBefore = prototypeKeys()
const arrayPrototypeBefore = Object.getOwnPropertyNames(Array.prototype).sort().join(",")

/** Every object of a decoded value keeps a plain prototype (bounded walk: decoded values are small). */
const assertPlainPrototypes = (value: unknown) => {
  const stack: Array<{ readonly v: unknown; readonly depth: number }> = [{ v: value, depth: 0 }]
  let seen = 0
  while (stack.length > 0 && seen < 10_000) {
    const { v, depth } = stack.pop()!
    seen++
    if (typeof v !== "object" || v === null || depth > 64) continue
    const proto = Object.getPrototypeOf(v)
    assert.isTrue(proto === Object.prototype || proto === Array.prototype || proto === null, "a decoded object with a foreign prototype")
    for (const k of Object.keys(v)) stack.push({ v: (v as Record<string, unknown>)[k], depth: depth + 1 })
  }
}

// A safety bound against catastrophic blow-up (exponential backtracking, quadratic error building,
// a walk of a huge input while formatting an error), NOT a speed target: the codec runs at about
// 1 GB/s (bench/protocol.bench.mjs); the bound allows 50 ms plus 1 µs per byte (1 MB/s). A call over
// the bound is timed again and only the faster of the two counts, so that one GC pause or a
// scheduler hiccup on a loaded 2-core machine cannot fail the suite, while a blow-up (deterministic)
// still does.
const bound = (bytes: number) => 50 + bytes / 1000
let totalMs = 0
let totalBytes = 0

const timed = <A>(f: () => A): { readonly result: A; readonly ms: number } => {
  const t0 = performance.now()
  const result = f()
  return { result, ms: performance.now() - t0 }
}

const checkError = (e: unknown) => {
  assert.instanceOf(e, ProtocolError)
  const error = e as ProtocolError
  assert.isString(error.message)
  assert.isAtMost(error.message.length, MAX_MESSAGE)
  assert.isAtMost((error.path ?? "").length, MAX_PATH)
  assert.isAtMost((error.eventType ?? "").length, MAX_EVENT_TYPE)
  // never a payload: no long base64-like run
  assert.notMatch(error.message, /[A-Za-z0-9+/]{64,}/)
}

/** The properties every frame must satisfy, for both decoders. */
const checkFrame = (text: string) => {
  let server: { readonly result: Either.Either<Protocol.DecodedServerEvent, ProtocolError>; readonly ms: number }
  try {
    server = timed(() => Protocol.decodeServerEvent(text))
  } catch (e) {
    assert.fail(`decodeServerEvent threw: ${String(e).slice(0, 200)}`)
  }
  let ms = server.ms
  if (ms > bound(text.length)) ms = Math.min(ms, timed(() => Protocol.decodeServerEvent(text)).ms)
  assert.isBelow(ms, bound(text.length), `decodeServerEvent took ${ms.toFixed(1)} ms for ${text.length} chars`)
  totalMs += ms
  totalBytes += text.length

  const r = server.result
  assert.isTrue(Either.isEither(r))
  if (Either.isLeft(r)) checkError(r.left)
  else {
    assert.isString(r.right.type)
    assertPlainPrototypes(Protocol.isUnknownServerEvent(r.right) ? undefined : r.right)
  }

  let client: Either.Either<Protocol.ClientEvent, ProtocolError>
  try {
    client = Protocol.decodeClientEvent(text)
  } catch (e) {
    assert.fail(`decodeClientEvent threw: ${String(e).slice(0, 200)}`)
  }
  if (Either.isLeft(client)) checkError(client.left)
  else assertPlainPrototypes(client.right)

  // nothing reached the shared prototypes
  assert.isUndefined(({} as Record<string, unknown>).polluted)
  assert.strictEqual(Object.getOwnPropertyNames(Object.prototype).length + Object.getOwnPropertySymbols(Object.prototype).length, objectPrototypeBefore.split(",").length)
}

// ---------------------------------------------------------------------------------------------
// generators
// ---------------------------------------------------------------------------------------------

const frame = fc.constantFrom(...frames)

/** A random JSON object carrying a known (or nearly known) `type`. */
const knownTypedObject = fc
  .record({
    type: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...knownTypes) },
      { weight: 1, arbitrary: fc.constantFrom(...knownTypes).map((t) => ` ${t}`) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }
    ),
    rest: fc.dictionary(fc.oneof(fc.constantFrom(...fieldNames), fc.string()), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 })
  })
  .map(({ rest, type }) => JSON.stringify({ ...rest, type }))

const specialChar = fc.oneof(
  fc.constantFrom("{", "}", "[", "]", "\"", ":", ",", "\\", "0", "-", "e", ".", "n", "t", "f", " ", "\u0000", "\ud800", "\u2028"),
  fc.string({ minLength: 1, maxLength: 1 })
)

type Mutation = { readonly kind: "flip" | "insert" | "delete"; readonly at: number; readonly char: string }

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("flip" as const, "insert" as const, "delete" as const),
  at: fc.nat(),
  char: specialChar
})

/** A published frame with 1 to 4 characters flipped, inserted or deleted. */
const charMutated = fc.tuple(frame, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([text, ms]) => {
  let out = text
  for (const m of ms) {
    const i = out.length === 0 ? 0 : m.at % out.length
    if (m.kind === "flip") out = out.slice(0, i) + m.char + out.slice(i + 1)
    else if (m.kind === "insert") out = out.slice(0, i) + m.char + out.slice(i)
    else out = out.slice(0, i) + out.slice(i + 1)
  }
  return out
})

/** Every (container, key) of a parsed frame, in document order. */
const slots = (root: unknown): Array<{ readonly parent: Record<string, unknown> | Array<unknown>; readonly key: string | number }> => {
  const out: Array<{ readonly parent: Record<string, unknown> | Array<unknown>; readonly key: string | number }> = []
  const go = (v: unknown) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i })
        go(x)
      })
    } else if (typeof v === "object" && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k })
        go(x)
      }
    }
  }
  go(root)
  return out
}

/** A published frame with one field replaced by a value of another kind (the placeholder is swapped in as text). */
const withField = (replacement: fc.Arbitrary<string>) =>
  fc.tuple(frame, fc.nat(), replacement).map(([text, n, value]) => {
    const parsed = JSON.parse(text) as unknown
    const all = slots(parsed)
    if (all.length === 0) return text
    const slot = all[n % all.length]!
    ;(slot.parent as Record<string | number, unknown>)[slot.key] = "\u0001PLACEHOLDER\u0001"
    return JSON.stringify(parsed).replace("\"\\u0001PLACEHOLDER\\u0001\"", () => value)
  })

const otherKind = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom("null", "true", "0", "-1e308", "1e999", "\"\"", "[]", "{}", "{\"toString\":{}}", "{\"__proto__\":{\"polluted\":1}}"),
  fc.integer().map(String),
  fc.string().map((s) => JSON.stringify(s))
)

const nested = fc
  .record({ depth: fc.integer({ min: 1, max: 3000 }), array: fc.boolean(), inner: fc.constantFrom("1", "\"x\"", "null", "{}", "[]") })
  .map(({ array, depth, inner }) => (array ? "[".repeat(depth) + inner + "]".repeat(depth) : "{\"a\":".repeat(depth) + inner + "}".repeat(depth)))

const longString = fc
  .record({ length: fc.integer({ min: 1_000, max: 1 << 18 }), unit: fc.constantFrom("QUJD", "a", "\\u00e9", "\\\"", "é") })
  .map(({ length, unit }) => `"${unit.repeat(Math.ceil(length / unit.length))}"`)

const longArray = fc
  .record({ length: fc.integer({ min: 1_000, max: 20_000 }), item: fc.constantFrom("1", "\"QUJD\"", "{}", "{\"type\":\"message\"}", "null") })
  .map(({ item, length }) => `[${new Array<string>(length).fill(item).join(",")}]`)

/** A published frame with `"__proto__":{...}` inserted after a random `{`. */
const protoInjected = fc
  .tuple(frame, fc.nat(), fc.constantFrom("{\"polluted\":1}", "{\"polluted\":1,\"type\":\"x\"}", "{\"toString\":1}", "null", "[]"))
  .map(([text, n, value]) => {
    const opens: Array<number> = []
    for (let i = 0; i < text.length; i++) if (text[i] === "{") opens.push(i)
    if (opens.length === 0) return text
    const at = opens[n % opens.length]! + 1
    const sep = text[at] === "}" ? "" : ","
    return `${text.slice(0, at)}"__proto__":${value}${sep}${text.slice(at)}`
  })

// ---------------------------------------------------------------------------------------------
// properties (20,000 runs under CI=true)
// ---------------------------------------------------------------------------------------------

describe("fuzz: decodeServerEvent never throws and its errors stay small", () => {
  afterAll(() => {
    // the prototypes are exactly as they were
    assert.strictEqual(prototypeKeys(), objectPrototypeBefore)
    assert.strictEqual(Object.getOwnPropertyNames(Array.prototype).sort().join(","), arrayPrototypeBefore)
    // in aggregate too, far below the per-call bound (see `bound`)
    if (totalBytes > 0) assert.isBelow(totalMs / totalBytes, 1 / 1000, "ms per byte over the whole run")
  })

  it("random JSON objects with a known type mixed in", () => {
    fc.assert(fc.property(knownTypedObject, checkFrame), { numRuns: runs(5_000) })
  })

  it("published frames with characters flipped, inserted or deleted", () => {
    fc.assert(fc.property(charMutated, checkFrame), { numRuns: runs(8_000) })
  })

  it("published frames with a field of another type", () => {
    fc.assert(fc.property(withField(otherKind), checkFrame), { numRuns: runs(3_500) })
  })

  it("deep nesting in place of a field", () => {
    fc.assert(fc.property(withField(nested), checkFrame), { numRuns: runs(1_500) })
  })

  it("long strings and huge arrays in place of a field", () => {
    fc.assert(fc.property(withField(fc.oneof(longString, longArray)), checkFrame), { numRuns: runs(500) })
  })

  it("__proto__ keys injected anywhere never reach Object.prototype", () => {
    fc.assert(fc.property(protoInjected, checkFrame), { numRuns: runs(1_500) })
  })

  it("a decoded event built from {\"__proto__\":{\"polluted\":1}} leaves ({}).polluted undefined", () => {
    const texts = [
      `{"__proto__":{"polluted":1},"type":"ping","timestamp":1}`,
      `{"type":"session.future","__proto__":{"polluted":1}}`,
      `{"type":"response.done","response":{"id":"r","metadata":{"__proto__":{"polluted":1}},"__proto__":{"polluted":1}}}`,
      `{"type":"response.output_item.done","response_id":"r","output_index":0,"item":{"type":"mcp_call","__proto__":{"polluted":1}}}`
    ]
    for (const text of texts) {
      const r = Protocol.decodeServerEvent(text)
      assert.isTrue(Either.isRight(r), text)
      checkFrame(text)
      assert.isUndefined(({} as Record<string, unknown>).polluted)
    }
  })
})
