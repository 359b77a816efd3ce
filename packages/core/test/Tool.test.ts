import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Tool from "../src/Tool.js"

const Weather = Schema.Struct({
  city: Schema.String.annotations({ description: "The city name" }),
  days: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 7))),
  unit: Schema.optional(Schema.Literal("celsius", "fahrenheit"))
})

const weather = Tool.make("get_weather", {
  description: "Get the weather",
  parameters: Weather,
  handler: ({ city, days }) => Effect.succeed({ city, days: days ?? 1, temperature: 21 })
})

class Opaque {
  readonly x = 1
}

const opaque = Tool.make("opaque", {
  description: "cannot be described",
  parameters: Schema.Struct({ thing: Schema.declare((u: unknown): u is Opaque => u instanceof Opaque) }),
  handler: () => Effect.succeed("never")
})

describe("Tool", () => {
  it("sends the JSON Schema of a Struct with optional fields in the flat function shape", () => {
    const definition = Either.getOrThrow(Tool.toDefinition(weather))
    assert.deepStrictEqual(definition, {
      type: "function",
      name: "get_weather",
      description: "Get the weather",
      parameters: {
        type: "object",
        required: ["city"],
        properties: {
          city: { type: "string", description: "The city name" },
          days: { type: "integer", description: "a number between 1 and 7", title: "between(1, 7)", minimum: 1, maximum: 7 },
          unit: { type: "string", enum: ["celsius", "fahrenheit"] }
        },
        additionalProperties: false
      }
    } as unknown as typeof definition)
  })

  it("describes a tool without parameters as an empty object", () => {
    const ping = Tool.make("ping", { description: "ping", parameters: Schema.Struct({}), handler: () => Effect.void })
    const definition = Either.getOrThrow(Tool.toDefinition(ping))
    assert.deepStrictEqual((definition as { parameters?: unknown }).parameters, {
      type: "object",
      properties: {},
      additionalProperties: false
    })
  })

  it("describes the encoded side, self-contained (recursive schemas keep their $defs)", () => {
    const Inner = Schema.Struct({ n: Schema.NumberFromString }).annotations({ identifier: "Inner" })
    const tool = Tool.make("nested", {
      description: "nested",
      parameters: Schema.Struct({ inner: Inner }),
      handler: ({ inner }) => Effect.succeed(inner.n * 2)
    })
    const definition = Either.getOrThrow(Tool.toDefinition(tool)) as { parameters: Record<string, unknown> }
    assert.isUndefined(definition.parameters.$schema)
    assert.isUndefined(definition.parameters.$defs)
    const inner = (definition.parameters.properties as { inner: { properties: { n: { type: string } } } }).inner
    assert.strictEqual(inner.properties.n.type, "string")

    interface Node {
      readonly name: string
      readonly children: ReadonlyArray<Node>
    }
    const NodeSchema: Schema.Schema<Node> = Schema.Struct({
      name: Schema.String,
      children: Schema.Array(Schema.suspend(() => NodeSchema))
    }).annotations({ identifier: "Node" })
    const tree = Tool.make("tree", {
      description: "",
      parameters: Schema.Struct({ root: NodeSchema }),
      handler: ({ root }) => Effect.succeed(root.children.length)
    })
    const treeDef = Either.getOrThrow(Tool.toDefinition(tree)) as { parameters: { $defs: Record<string, unknown> } }
    assert.deepStrictEqual(Object.keys(treeDef.parameters.$defs), ["Node"])
    assert.include(JSON.stringify(treeDef.parameters), "\"$ref\":\"#/$defs/Node\"")
  })

  it("partition rejects inexpressible parameters, invalid and duplicate names, keeps the rest in order", () => {
    const badName = Tool.make("has space", { description: "", parameters: Schema.Struct({}), handler: () => Effect.void })
    const nonObject = Tool.make("num", { description: "", parameters: Schema.Number, handler: () => Effect.void })
    const result = Tool.partition([weather, opaque, badName, Tool.webSearch(), nonObject, weather])
    assert.deepStrictEqual(result.tools.map((t) => t.name), ["get_weather", "web_search"])
    assert.deepStrictEqual(result.definitions.map((d) => d.type), ["function", "web_search"])
    assert.deepStrictEqual(result.rejected.map((r) => r.name), ["opaque", "has space", "num", "get_weather"])
    assert.include(result.rejected[0]!.reason, "cannot be expressed as JSON Schema")
    assert.include(result.rejected[0]!.reason, "thing")
    assert.include(result.rejected[2]!.reason, "object")
    assert.strictEqual(result.rejected[3]!.reason, "duplicate tool name")
  })

  it.effect("execute decodes good arguments and returns JSON text", () =>
    Effect.gen(function*() {
      const out = yield* Tool.execute(weather, "{\"city\":\"Paris\",\"days\":3}")
      assert.deepStrictEqual(JSON.parse(out), { city: "Paris", days: 3, temperature: 21 })
      const text = yield* Tool.execute(
        Tool.make("echo", {
          description: "",
          parameters: Schema.Struct({ s: Schema.String }),
          handler: ({ s }) => Effect.succeed(s)
        }),
        "{\"s\":\"plain \\\"text\\\"\"}"
      )
      assert.strictEqual(text, "plain \"text\"")
      const empty = yield* Tool.execute(
        Tool.make("noop", { description: "", parameters: Schema.Struct({}), handler: () => Effect.void }),
        ""
      )
      assert.strictEqual(empty, "ok")
    }))

  it.effect("execute turns bad arguments into a short error text naming the path", () =>
    Effect.gen(function*() {
      const wrongType = yield* Tool.execute(weather, "{\"city\":\"Paris\",\"days\":\"three\"}")
      assert.include(wrongType, "Invalid arguments for tool \"get_weather\"")
      assert.include(wrongType, "at days")
      const missing = yield* Tool.execute(weather, "{}")
      assert.include(missing, "at city")
      assert.include(missing, "missing")
      const notJson = yield* Tool.execute(weather, "{city: Paris")
      assert.strictEqual(notJson, "Invalid arguments for tool \"get_weather\": not valid JSON")
    }))

  it.effect("execute turns handler failures and defects into text, never a stack trace", () =>
    Effect.gen(function*() {
      class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { message: Schema.String }) {}
      const failing = Tool.make("lookup", {
        description: "",
        parameters: Schema.Struct({}),
        handler: () => Effect.fail(new NotFound({ message: "no such city" }))
      })
      assert.strictEqual(yield* Tool.execute(failing, "{}"), "Tool \"lookup\" failed: NotFound: no such city")

      const dying = Tool.make("boom", {
        description: "",
        parameters: Schema.Struct({}),
        handler: () => Effect.die(new Error("kaboom"))
      })
      const died = yield* Tool.execute(dying, "{}")
      assert.strictEqual(died, "Tool \"boom\" failed unexpectedly: kaboom")
      assert.notInclude(died, "at ")

      const throwing = Tool.make("throws", {
        description: "",
        parameters: Schema.Struct({}),
        handler: () => {
          throw new Error("sync throw")
        }
      })
      assert.strictEqual(yield* Tool.execute(throwing, "{}"), "Tool \"throws\" failed unexpectedly: sync throw")

      const long = Tool.make("long", {
        description: "",
        parameters: Schema.Struct({}),
        handler: () => Effect.fail("x".repeat(5000))
      })
      assert.isAtMost((yield* Tool.execute(long, "{}")).length, 500)
    }))

  it.effect("executeCall: own tools run, server-side names are ignored, other unknown names get an error output", () =>
    Effect.gen(function*() {
      const tools: ReadonlyArray<Tool.Tool> = [
        weather,
        Tool.xSearch({ allowedXHandles: ["xai"] }),
        Tool.mcp({ serverUrl: "https://mcp.example", serverLabel: "docs", allowedTools: ["search_docs"] })
      ]
      const own = yield* Tool.executeCall(tools, { name: "get_weather", arguments: "{\"city\":\"Oslo\"}" })
      assert.isTrue(Option.isSome(own))
      assert.include(Option.getOrThrow(own), "Oslo")
      assert.isTrue(Option.isNone(yield* Tool.executeCall(tools, { name: "x_search", arguments: "{}" })))
      assert.isTrue(Option.isNone(yield* Tool.executeCall(tools, { name: "x_keyword_search", arguments: "{}" })))
      assert.isTrue(Option.isNone(yield* Tool.executeCall(tools, { name: "search_docs", arguments: "{}" })))
      const unknown = yield* Tool.executeCall(tools, { name: "launch_rockets", arguments: "{}" })
      assert.strictEqual(Option.getOrThrow(unknown), "Unknown tool \"launch_rockets\": no such tool is available")
      const openMcp = [Tool.mcp({ serverUrl: "https://mcp.example", serverLabel: "any" })]
      assert.isTrue(Option.isNone(yield* Tool.executeCall(openMcp, { name: "launch_rockets", arguments: "{}" })))
    }))

  it("server tool definitions; an MCP authorization never prints", () => {
    assert.deepStrictEqual(Tool.fileSearch({ vectorStoreIds: ["vs1"], maxNumResults: 5 }).definition, {
      type: "file_search",
      vector_store_ids: ["vs1"],
      max_num_results: 5
    })
    assert.deepStrictEqual(Tool.xSearch({ fromDate: "2025-01-01" }).definition, { type: "x_search", from_date: "2025-01-01" })
    const secret = "mcp-token-123"
    const tool = Tool.mcp({
      serverUrl: "https://mcp.example",
      serverLabel: "docs",
      authorization: Redacted.make(secret),
      headers: { "X-Key": Redacted.make(secret) }
    })
    assert.notInclude(JSON.stringify(tool), secret)
    assert.notInclude(String(tool), secret)
    assert.notInclude(JSON.stringify([tool]), secret)
    const definition = tool.definition as { authorization?: string; headers?: Record<string, string> }
    assert.strictEqual(definition.authorization, secret)
    assert.deepStrictEqual(definition.headers, { "X-Key": secret })
  })
})
