import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as fc from "fast-check"
import * as Redact from "../src/internal/redact.js"
import * as Protocol from "../src/Protocol.js"
import * as Tool from "../src/Tool.js"

/** Every string value (not key) anywhere inside a value. */
const stringLeaves = (value: unknown, out: Array<string> = []): Array<string> => {
  if (typeof value === "string") out.push(value)
  else if (Array.isArray(value)) for (const item of value) stringLeaves(item, out)
  else if (typeof value === "object" && value !== null) for (const item of Object.values(value)) stringLeaves(item, out)
  return out
}

const leaksAny = (value: unknown, secrets: ReadonlyArray<string>): boolean =>
  stringLeaves(value).some((leaf) => secrets.some((secret) => leaf.includes(secret)))

/** A secret that cannot occur by chance in the other fields of the events built below. */
const secret = fc.string({ minLength: 1, maxLength: 40 }).map((s) => `SECRET-${s}`)
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/)

const mcpTool = fc.record({
  authorization: fc.option(secret, { nil: undefined }),
  headers: fc.option(fc.dictionary(headerName, secret, { maxKeys: 4 }), { nil: undefined })
}).map(({ authorization, headers }) => ({
  type: "mcp" as const,
  server_label: "deepwiki",
  server_url: "https://mcp.example/sse",
  allowed_tools: ["ask"],
  ...(authorization !== undefined ? { authorization } : {}),
  ...(headers !== undefined ? { headers } : {})
}))

const otherTool = fc.constantFrom<ReadonlyArray<Protocol.ToolDefinition>>(
  [],
  [{ type: "web_search" }],
  [{ type: "function", name: "lookup", description: "d", parameters: { type: "object" } }]
)

const toolsWithSecrets = fc.tuple(otherTool, fc.array(mcpTool, { minLength: 1, maxLength: 4 }), otherTool)
  .map(([before, mcp, after]): ReadonlyArray<Protocol.ToolDefinition> => [...before, ...mcp, ...after])

const secretsOf = (tools: ReadonlyArray<Protocol.ToolDefinition>): ReadonlyArray<string> =>
  tools.flatMap((tool) =>
    tool.type === "mcp" ? [...(tool.authorization !== undefined ? [tool.authorization] : []), ...Object.values(tool.headers ?? {})] : []
  )

/** The tools as they should come out: credentials replaced by the marker, all else equal. */
const expectedTools = (tools: ReadonlyArray<Protocol.ToolDefinition>) =>
  tools.map((tool) =>
    tool.type !== "mcp" ? tool : {
      ...tool,
      ...(tool.authorization !== undefined ? { authorization: Redact.redactedMarker } : {}),
      ...(tool.headers != null
        ? { headers: Object.fromEntries(Object.keys(tool.headers).map((k) => [k, Redact.redactedMarker])) }
        : {})
    }
  )

describe("internal/redact: MCP credentials in events", () => {
  it("property: session.update and response.create keep no MCP secret, change nothing else, leave the input intact", () => {
    fc.assert(
      fc.property(toolsWithSecrets, (tools) => {
        const secrets = secretsOf(tools)
        const snapshot = JSON.stringify(tools)
        const update: Protocol.ClientEvent = {
          type: "session.update",
          session: { instructions: "Be brief.", voice: "ara", tools }
        }
        const out = Redact.redactClientEvent(update)
        assert.isFalse(leaksAny(out, secrets))
        assert.deepStrictEqual(out, {
          type: "session.update",
          session: { instructions: "Be brief.", voice: "ara", tools: expectedTools(tools) }
        })
        const create: Protocol.ClientEvent = { type: "response.create", response: { instructions: "x", tools } }
        const outCreate = Redact.redactClientEvent(create)
        assert.isFalse(leaksAny(outCreate, secrets))
        assert.deepStrictEqual(outCreate, { type: "response.create", response: { instructions: "x", tools: expectedTools(tools) } })
        // the event that is sent is untouched
        assert.strictEqual(JSON.stringify(tools), snapshot)
        // redacting twice changes nothing more (and allocates nothing)
        assert.strictEqual(Redact.redactClientEvent(out), out)
      }),
      { numRuns: 300 }
    )
  })

  it("property: the server's session.created / session.updated echo (decoded from the wire) keeps no MCP secret", () => {
    fc.assert(
      fc.property(toolsWithSecrets, fc.constantFrom("session.created", "session.updated"), (tools, type) => {
        const secrets = secretsOf(tools)
        const decoded = Protocol.decodeServerEvent(JSON.stringify({ type, event_id: "ev_1", session: { model: "m", tools } }))
        assert.isTrue(Either.isRight(decoded))
        if (Either.isLeft(decoded)) return
        assert.strictEqual(leaksAny(decoded.right, secrets), secrets.length > 0) // the decoded echo carries them...
        const out = Redact.redactServerEvent(decoded.right)
        assert.isFalse(leaksAny(out, secrets)) // ...the published one does not
        assert.deepStrictEqual(out as unknown, { type, event_id: "ev_1", session: { model: "m", tools: expectedTools(tools) } })
      }),
      { numRuns: 300 }
    )
  })

  it("property: an unmodelled event's raw session or response tools are redacted too", () => {
    fc.assert(
      fc.property(toolsWithSecrets, fc.constantFrom("session", "response"), (tools, field) => {
        const event: Protocol.DecodedServerEvent = {
          _tag: "UnknownServerEvent",
          type: "vendor.session.echo",
          raw: { type: "vendor.session.echo", [field]: { id: "s", tools } }
        }
        const out = Redact.redactServerEvent(event)
        assert.isFalse(leaksAny(out, secretsOf(tools)))
        assert.deepStrictEqual(out, { ...event, raw: { type: "vendor.session.echo", [field]: { id: "s", tools: expectedTools(tools) } } })
      }),
      { numRuns: 100 }
    )
  })

  it("the wire definition of Tool.mcp (Redacted values unwrapped) is redacted, header names kept", () => {
    const tool = Tool.mcp({
      serverUrl: "https://mcp.example",
      serverLabel: "m",
      authorization: Redacted.make("Bearer mcp-token-123456"),
      headers: { "X-Api-Key": Redacted.make("mcp-header-key-7890"), Accept: "text/event-stream" }
    })
    const event: Protocol.ClientEvent = { type: "session.update", session: { tools: [tool.definition] } }
    assert.include(JSON.stringify(event), "mcp-token-123456")
    const out = JSON.stringify(Redact.redactClientEvent(event))
    assert.notInclude(out, "mcp-token-123456")
    assert.notInclude(out, "mcp-header-key-7890")
    assert.include(out, "\"X-Api-Key\":\"<redacted>\"")
    assert.include(out, "\"authorization\":\"<redacted>\"")
    assert.include(out, "https://mcp.example")
  })

  it("returns the same object when there is nothing to redact (the common path allocates nothing)", () => {
    const clientEvents: ReadonlyArray<Protocol.ClientEvent> = [
      { type: "input_audio_buffer.append", audio: "AAAA" },
      { type: "session.update", session: { voice: "ara" } },
      { type: "session.update", session: { tools: [{ type: "web_search" }, { type: "mcp", server_label: "m", server_url: "https://m" }] } },
      { type: "session.update", session: { tools: [{ type: "mcp", server_label: "m", headers: null }] } },
      { type: "response.create" },
      { type: "response.create", response: { instructions: "hi" } },
      { type: "conversation.item.delete", item_id: "it_1" }
    ]
    for (const event of clientEvents) assert.strictEqual(Redact.redactClientEvent(event), event)
    const frames = [
      { type: "response.output_audio.delta", response_id: "r", item_id: "i", output_index: 0, content_index: 0, delta: "AAAA" },
      { type: "session.created", session: { model: "m", tools: [{ type: "mcp", server_label: "m" }] } },
      { type: "error", error: { type: "invalid_request_error", message: "bad" } }
    ]
    for (const frame of frames) {
      const decoded = Protocol.decodeServerEvent(JSON.stringify(frame))
      assert.isTrue(Either.isRight(decoded))
      if (Either.isRight(decoded)) assert.strictEqual(Redact.redactServerEvent(decoded.right), decoded.right)
    }
    const unknown: Protocol.DecodedServerEvent = { _tag: "UnknownServerEvent", type: "x", raw: "not an object" }
    assert.strictEqual(Redact.redactServerEvent(unknown), unknown)
  })

  it("a non-object `headers` value (only possible in raw events) is replaced as a whole", () => {
    const event: Protocol.DecodedServerEvent = {
      _tag: "UnknownServerEvent",
      type: "x",
      raw: { session: { tools: [{ type: "mcp", headers: "X-Key: SECRET-abcdefgh" }] } }
    }
    assert.notInclude(JSON.stringify(Redact.redactServerEvent(event)), "SECRET-abcdefgh")
  })
})

describe("internal/redact: capString", () => {
  it("property: bounded length; the input itself when short enough; otherwise a prefix and the count cut", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 600 }), fc.integer({ min: 0, max: 300 }), (s, max) => {
        const out = Redact.capString(s, max)
        assert.isAtMost(out.length, max + 40)
        if (s.length <= max) {
          assert.strictEqual(out, s)
          return
        }
        const marker = out.lastIndexOf("…(")
        assert.isAtLeast(marker, 0)
        const prefix = out.slice(0, marker)
        assert.isTrue(s.startsWith(prefix))
        assert.isAtLeast(prefix.length, max - 1)
        assert.strictEqual(out.slice(marker), `…(${s.length - prefix.length} characters cut)`)
      }),
      { numRuns: 1000 }
    )
  })

  it("a 70 KB item id becomes 256 characters and a note; a surrogate pair is never split", () => {
    const id = "item_" + "x".repeat(70_000)
    const out = Redact.capString(id)
    assert.isTrue(out.startsWith("item_xxx"))
    assert.isAtMost(out.length, Redact.defaultCap + 40)
    assert.include(out, `${70_005 - 256} characters cut`)
    const emoji = "a".repeat(255) + "😀" + "b".repeat(10)
    const cut = Redact.capString(emoji)
    assert.isTrue(cut.startsWith("a".repeat(255) + "…("))
    assert.strictEqual(Redact.capString("short"), "short")
    assert.strictEqual(Redact.capString("abcdef", Number.NaN), "abcdef")
  })
})

describe("internal/redact: scrubSecrets", () => {
  const usableSecret = fc.string({ unit: "grapheme-ascii", minLength: 8, maxLength: 30 }).filter((s) => s.trim().length >= 8)

  it("property: no secret survives, wherever it is placed and whatever it contains", () => {
    fc.assert(
      fc.property(
        fc.array(usableSecret, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.nat()), { maxLength: 8 }),
        (secrets, pieces) => {
          const text = pieces.map(([filler, i]) => filler + secrets[i % secrets.length]!).join("")
          const out = Redact.scrubSecrets(text, secrets)
          for (const s of secrets) assert.notInclude(out, s.trim())
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("property: text around the secrets is kept exactly, one marker per run of secrets", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[A-Z0-9]{8,24}$/), { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.stringMatching(/^[a-z .:]{0,12}$/), fc.nat()), { maxLength: 8 }),
        fc.stringMatching(/^[a-z .:]{0,12}$/),
        (secrets, pieces, tail) => {
          const text = pieces.map(([filler, i]) => filler + secrets[i % secrets.length]!).join("") + tail
          let expected = ""
          for (const [filler, _] of pieces) {
            expected += filler === "" && expected.endsWith(Redact.redactedMarker) ? "" : `${filler}${Redact.redactedMarker}`
          }
          assert.strictEqual(Redact.scrubSecrets(text, secrets), expected + tail)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("ignores blank and short secrets; overlapping secrets leave no fragment; hostile secrets are still removed", () => {
    assert.strictEqual(Redact.scrubSecrets("the password is abc", ["abc", "", "   ", "1234567"]), "the password is abc")
    assert.strictEqual(Redact.scrubSecrets("key sk-123456789 bad", ["  sk-123456789  "]), "key <redacted> bad")
    // two secrets overlapping in the text: no tail of the second remains
    assert.strictEqual(Redact.scrubSecrets("x 11111111AAAA22222222 y", ["11111111AAAA", "AAAA22222222"]), "x <redacted> y")
    // a secret that is the marker itself, or a marker's edge plus text, still never survives
    assert.notInclude(Redact.scrubSecrets("a <redacted> b", ["<redacted>"]), "<redacted>")
    // the first pass gives "<redacted>tail", which holds the second secret: a further pass removes it
    const edge = Redact.scrubSecrets("sk-aaaaaaaaaaatail", ["sk-aaaaaaaaaaa", "ted>tail"])
    assert.notInclude(edge, "ted>tail")
    assert.notInclude(edge, "sk-aaaaaaaaaaa")
    assert.strictEqual(Redact.makeScrubber(["sk-123456789"])("Incorrect API key provided: sk-123456789."), "Incorrect API key provided: <redacted>.")
    assert.strictEqual(Redact.makeScrubber([])("unchanged"), "unchanged")
  })
})
