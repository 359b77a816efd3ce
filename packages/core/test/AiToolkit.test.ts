import * as AiTool from "@effect/ai/Tool"
import * as AiToolkitModule from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as AiToolkit from "../src/AiToolkit.js"
import * as Tool from "../src/Tool.js"

class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", { message: Schema.String }) {}

class Greeting extends Context.Tag("test/Greeting")<Greeting, string>() {}

const GetWeather = AiTool.make("get_weather", {
  description: "Get the weather",
  parameters: {
    city: Schema.String.annotations({ description: "The city name" }),
    days: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 7))),
    // A transforming field: the adapter must hand the toolkit its encoded form back.
    from: Schema.optional(Schema.Date)
  },
  success: Schema.Struct({ city: Schema.String, days: Schema.Number, from: Schema.DateFromString })
})

const BookTable = AiTool.make("book_table", {
  description: "Book a table",
  parameters: { people: Schema.Number.pipe(Schema.int()) },
  success: Schema.String,
  failure: Unavailable
})

const Lookup = AiTool.make("lookup", {
  description: "Look a word up",
  parameters: { word: Schema.String },
  success: Schema.String,
  failure: Unavailable,
  failureMode: "return"
})

const Ping = AiTool.make("ping", { description: "Ping" })

const Greet = AiTool.make("greet", { description: "Greet someone", parameters: { name: Schema.String } })
  .setSuccess(Schema.String)
  .addDependency(Greeting)

const WebSearch = AiTool.providerDefined({
  id: "openai.web_search",
  toolkitName: "OpenAiWebSearch",
  providerName: "web_search",
  args: {}
})({})

const Toolkit = AiToolkitModule.make(GetWeather, BookTable, Lookup, Ping, Greet, WebSearch)

const ToolkitLive = Toolkit.toLayer({
  get_weather: ({ city, days, from }) =>
    Effect.succeed({ city, days: days ?? 1, from: from ?? new Date("2025-01-01T00:00:00.000Z") }),
  book_table: ({ people }) =>
    people > 8 ? Effect.fail(new Unavailable({ message: "fully booked" })) : Effect.succeed(`booked for ${people}`),
  lookup: ({ word }) => Effect.fail(new Unavailable({ message: `no entry for ${word}` })),
  ping: () => Effect.void,
  greet: ({ name }) => Effect.map(Greeting, (greeting) => `${greeting}, ${name}`)
})

const convert = AiToolkit.fromToolkit(Toolkit).pipe(
  Effect.provide(Layer.merge(ToolkitLive, Layer.succeed(Greeting, "hello")))
)

const byName = (tools: ReadonlyArray<Tool.FunctionTool>, name: string): Tool.FunctionTool => {
  const tool = tools.find((candidate) => candidate.name === name)
  assert.isDefined(tool)
  return tool!
}

describe("AiToolkit", () => {
  it.effect("converts the user-defined tools in order, skipping provider-defined ones", () =>
    Effect.gen(function*() {
      const tools = yield* convert
      assert.deepStrictEqual(tools.map((tool) => [tool._tag, tool.name, tool.description]), [
        ["FunctionTool", "get_weather", "Get the weather"],
        ["FunctionTool", "book_table", "Book a table"],
        ["FunctionTool", "lookup", "Look a word up"],
        ["FunctionTool", "ping", "Ping"],
        ["FunctionTool", "greet", "Greet someone"]
      ])
      assert.deepStrictEqual(AiToolkit.unsupported(Toolkit), [
        { name: "OpenAiWebSearch", reason: "provider-defined tools run on their own provider and are skipped" }
      ])
    }))

  it.effect("sends the JSON Schema of the tool's parameter Struct (the same one @effect/ai computes)", () =>
    Effect.gen(function*() {
      const tools = yield* convert
      const { definitions, rejected } = Tool.partition(tools)
      assert.deepStrictEqual(rejected, [])
      const weather = definitions[0] as unknown as { readonly parameters: unknown }
      assert.deepStrictEqual(definitions[0]!.type, "function")
      assert.deepStrictEqual(weather.parameters, {
        type: "object",
        required: ["city"],
        properties: {
          city: { type: "string", description: "The city name" },
          days: { type: "integer", description: "a number between 1 and 7", title: "between(1, 7)", minimum: 1, maximum: 7 },
          from: { type: "string", description: "a string to be decoded into a Date" }
        },
        additionalProperties: false
      })
      assert.deepStrictEqual(weather.parameters, AiTool.getJsonSchema(GetWeather))
    }))

  it.effect("describes a tool without parameters as an empty object and runs it on empty arguments", () =>
    Effect.gen(function*() {
      const tools = yield* convert
      const { definitions } = Tool.partition(tools)
      const ping = definitions.find((definition) => "name" in definition && definition.name === "ping") as unknown as {
        readonly parameters: unknown
      }
      assert.deepStrictEqual(ping.parameters, { type: "object", properties: {}, additionalProperties: false })
      assert.strictEqual(yield* Tool.execute(byName(tools, "ping"), ""), "ok")
      assert.strictEqual(yield* Tool.execute(byName(tools, "ping"), "{}"), "ok")
    }))

  it.effect("runs the handler on good JSON arguments and returns its encoded success value", () =>
    Effect.gen(function*() {
      const tools = yield* convert
      const weather = byName(tools, "get_weather")
      assert.deepStrictEqual(
        JSON.parse(yield* Tool.execute(weather, `{"city":"Oslo","days":3,"from":"2025-06-01T12:00:00.000Z"}`)),
        { city: "Oslo", days: 3, from: "2025-06-01T12:00:00.000Z" }
      )
      assert.deepStrictEqual(JSON.parse(yield* Tool.execute(weather, `{"city":"Rome"}`)), {
        city: "Rome",
        days: 1,
        from: "2025-01-01T00:00:00.000Z"
      })
      assert.strictEqual(yield* Tool.execute(byName(tools, "book_table"), `{"people":2}`), "booked for 2")
    }))

  it.effect("turns a failing handler into an error text (failureMode error and return)", () =>
    Effect.gen(function*() {
      const tools = yield* convert
      assert.strictEqual(
        yield* Tool.execute(byName(tools, "book_table"), `{"people":12}`),
        `Tool "book_table" failed: Unavailable: fully booked`
      )
      assert.strictEqual(
        yield* Tool.execute(byName(tools, "lookup"), `{"word":"zyx"}`),
        `Tool "lookup" failed: Unavailable: no entry for zyx`
      )
    }))

  it.effect("answers bad arguments with a decode error text naming the path", () =>
    Effect.gen(function*() {
      const tools = yield* convert
      const weather = byName(tools, "get_weather")
      const wrongType = yield* Tool.execute(weather, `{"city":3}`)
      assert.match(wrongType, /^Invalid arguments for tool "get_weather": at city: Expected string, actual 3/)
      const outOfRange = yield* Tool.execute(weather, `{"city":"Oslo","days":9}`)
      assert.match(outOfRange, /^Invalid arguments for tool "get_weather": at days: /)
      const badDate = yield* Tool.execute(weather, `{"city":"Oslo","from":"not a date"}`)
      assert.match(badDate, /^Invalid arguments for tool "get_weather": at from: /)
      assert.strictEqual(
        yield* Tool.execute(weather, `{"city":`),
        `Invalid arguments for tool "get_weather": not valid JSON`
      )
      assert.match(yield* Tool.execute(byName(tools, "book_table"), `{"people":1.5}`), /at people: /)
    }))

  it.effect("runs handlers with the dependencies provided when the toolkit was converted", () =>
    Effect.gen(function*() {
      const tools = yield* convert
      assert.strictEqual(yield* Tool.execute(byName(tools, "greet"), `{"name":"Ann"}`), "hello, Ann")
    }))

  it.effect("is what Tool.executeCall dispatches to by name", () =>
    Effect.gen(function*() {
      const tools = yield* convert
      assert.deepStrictEqual(
        yield* Tool.executeCall(tools, { name: "book_table", arguments: `{"people":4}` }),
        Option.some("booked for 4")
      )
      assert.deepStrictEqual(
        yield* Tool.executeCall(tools, { name: "OpenAiWebSearch", arguments: "{}" }),
        Option.some(`Unknown tool "OpenAiWebSearch": no such tool is available`)
      )
    }))

  it.effect.prop(
    "passes any valid arguments through to the handler unchanged",
    [FastCheck.string(), FastCheck.integer({ min: 1, max: 7 }), FastCheck.date({
      min: new Date("1970-01-01T00:00:00.000Z"),
      max: new Date("2100-01-01T00:00:00.000Z"),
      noInvalidDate: true
    })],
    ([city, days, from]) =>
      Effect.gen(function*() {
        const tools = yield* convert
        const text = yield* Tool.execute(
          byName(tools, "get_weather"),
          JSON.stringify({ city, days, from: from.toISOString() })
        )
        assert.deepStrictEqual(JSON.parse(text), { city, days, from: from.toISOString() })
      }),
    { fastCheck: { numRuns: 50 } }
  )
})
