// Tools in Effect's conventions: handlers that require services (provided by a Context, the current
// context or a provider layer), the optional success schema, and the types without `any` defaults.
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { RealtimeModel } from "../src/RealtimeModel.js"
import * as Tool from "../src/Tool.js"
import * as Xai from "../src/Xai.js"
import * as Harness from "./session/harness.js"

class Weather extends Context.Tag("test/Weather")<Weather, {
  readonly forecast: (city: string) => Effect.Effect<string>
}>() {}

class Units extends Context.Tag("test/Units")<Units, "metric" | "imperial">() {}

const getWeather = Tool.make("get_weather", {
  description: "The weather in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  handler: ({ city }) => Effect.flatMap(Weather, (weather) => weather.forecast(city))
})

const getUnits = Tool.make("get_units", {
  description: "The unit system",
  parameters: Schema.Struct({}),
  handler: () => Units
})

const plain = Tool.make("ping", {
  description: "ping",
  parameters: Schema.Struct({}),
  handler: () => Effect.succeed("pong")
})

const WeatherLive = Layer.succeed(Weather, { forecast: (city) => Effect.succeed(`Sunny in ${city}`) })
const weatherContext = Context.make(Weather, { forecast: (city: string) => Effect.succeed(`Rain in ${city}`) })

describe("Tool: handlers with services", () => {
  it("records the handler's requirements in the tool's type; a tool without services requires nothing", () => {
    expectTypeOf(getWeather).toEqualTypeOf<Tool.FunctionTool<{ readonly city: string }, { readonly city: string }, Weather>>()
    expectTypeOf<Tool.Requirements<typeof getWeather>>().toEqualTypeOf<Weather>()
    expectTypeOf<Tool.Requirements<typeof plain>>().toEqualTypeOf<never>()
    // No `any` defaults: the bare type is the unknown arguments of a tool needing nothing.
    expectTypeOf<Tool.FunctionTool>().toEqualTypeOf<Tool.FunctionTool<unknown, unknown, never>>()
    expectTypeOf<Tool.Tool>().toEqualTypeOf<Tool.Tool<never>>()
    // A tool that needs a service is not a ready-to-run `Tool`...
    // @ts-expect-error Weather is not provided
    const _notReady: Tool.Tool = getWeather
    // ...but is a `Tool<Weather>`, and a tool without services is both.
    const _ready: ReadonlyArray<Tool.Tool<Weather>> = [getWeather, plain, Tool.webSearch()]
    expectTypeOf(Tool.execute(getWeather, "{}")).toEqualTypeOf<Effect.Effect<string, never, Weather>>()
    // The success schema and the handler's result must agree.
    const _typed = Tool.make("typed", {
      description: "typed",
      parameters: Schema.Struct({}),
      success: Schema.Number,
      // @ts-expect-error a string is not a number
      handler: () => Effect.succeed("not a number")
    })
    assert.deepStrictEqual([_notReady.name, _ready.length, _typed.name], ["get_weather", 3, "typed"])
  })

  it.effect("execute runs the handler with the services of the context it runs in", () =>
    Effect.gen(function*() {
      const output = yield* Tool.execute(getWeather, JSON.stringify({ city: "Oslo" })).pipe(Effect.provide(WeatherLive))
      assert.strictEqual(output, "Sunny in Oslo")
      const call = yield* Tool.executeCall([getWeather, plain], { name: "get_weather", arguments: "{\"city\":\"Rome\"}" })
        .pipe(Effect.provide(WeatherLive))
      assert.deepStrictEqual(call, Option.some("Sunny in Rome"))
    }))

  it.effect("provideContext erases what it provides (types and run time); other tools pass through unchanged", () =>
    Effect.gen(function*() {
      const ready = Tool.provideContext(getWeather, weatherContext)
      expectTypeOf(ready).toEqualTypeOf<Tool.FunctionTool<{ readonly city: string }, { readonly city: string }, never>>()
      assert.strictEqual(yield* Tool.execute(ready, "{\"city\":\"Bergen\"}"), "Rain in Bergen")
      assert.strictEqual(ready.name, "get_weather")
      assert.strictEqual(ready.parameters, getWeather.parameters)
      // Partial: only what the context holds is removed from the requirements.
      const both = Tool.make("both", {
        description: "both",
        parameters: Schema.Struct({}),
        handler: () => Effect.zipWith(Weather, Units, (w, u) => w.forecast(u)).pipe(Effect.flatten)
      })
      const half = Tool.provideContext(Context.make(Units, "metric"))(both)
      expectTypeOf(half).toEqualTypeOf<Tool.FunctionTool<{}, {}, Weather>>()
      assert.strictEqual(yield* Tool.execute(half, "{}").pipe(Effect.provide(WeatherLive)), "Sunny in metric")
      const search = Tool.webSearch()
      assert.strictEqual(Tool.provideContext(search, weatherContext), search)
    }))

  it.effect("provideCurrentContext: tools ready for updateTools, their services taken where the effect runs", () =>
    Effect.gen(function*() {
      const tools = yield* Tool.provideCurrentContext([getWeather, getUnits, plain]).pipe(
        Effect.provide(Layer.merge(WeatherLive, Layer.succeed(Units, "imperial")))
      )
      expectTypeOf(tools).toEqualTypeOf<ReadonlyArray<Tool.Tool>>()
      // Run without any service in scope: the captured ones are used.
      assert.deepStrictEqual(yield* Tool.executeCall(tools, { name: "get_units", arguments: "" }), Option.some("imperial"))
      assert.deepStrictEqual(
        yield* Tool.executeCall(tools, { name: "get_weather", arguments: "{\"city\":\"Lima\"}" }),
        Option.some("Sunny in Lima")
      )
      assert.deepStrictEqual(yield* Tool.executeCall(tools, { name: "ping", arguments: "{}" }), Option.some("pong"))
    }))

  it.effect("a captured context does not re-parent the tool's spans (the caller's span stays the parent)", () =>
    Effect.gen(function*() {
      const spanned = Tool.make("spanned", {
        description: "reports its parent span",
        parameters: Schema.Struct({}),
        handler: () =>
          Effect.map(Effect.currentParentSpan, (span) => span._tag === "Span" ? span.name : "external")
      })
      // The context is captured inside a span named "capture".
      const [ready] = yield* Tool.provideCurrentContext([spanned]).pipe(Effect.withSpan("capture"))
      const output = yield* Tool.executeCall([ready!], { name: "spanned", arguments: "{}" }).pipe(Effect.withSpan("run"))
      assert.deepStrictEqual(output, Option.some("run"))
    }))

  it.effect("a provider layer requires its tools' services and gives them to the handlers", () =>
    Effect.gen(function*() {
      const layer = Xai.layer({ apiKey: Redacted.make("xai-test"), tools: [getWeather, plain] })
      expectTypeOf(layer).toEqualTypeOf<Layer.Layer<RealtimeModel, import("../src/Errors.js").ConfigurationError, Weather>>()
      const model = yield* RealtimeModel.pipe(Effect.provide(layer.pipe(Layer.provide(WeatherLive))))
      // The session runs the model's tools in its own context, which has no Weather: the layer's is used.
      const output = yield* Tool.executeCall(model.tools, { name: "get_weather", arguments: "{\"city\":\"Kyiv\"}" })
      assert.deepStrictEqual(output, Option.some("Sunny in Kyiv"))
      assert.deepStrictEqual(model.tools.map((tool) => tool.name), ["get_weather", "ping"])
      // layerConfig too (R inferred through the config options).
      const fromConfig = Xai.layerConfig({ apiKey: Redacted.make("xai-test"), tools: [getWeather] })
      expectTypeOf(fromConfig).toEqualTypeOf<Layer.Layer<RealtimeModel, import("../src/Errors.js").ConfigurationError, Weather>>()
      const model2 = yield* RealtimeModel.pipe(Effect.provide(fromConfig.pipe(Layer.provide(WeatherLive))))
      assert.deepStrictEqual(
        yield* Tool.executeCall(model2.tools, { name: "get_weather", arguments: "{\"city\":\"Riga\"}" }),
        Option.some("Sunny in Riga")
      )
      // Tools needing different services: the layer requires all of them.
      expectTypeOf(Xai.layer({ apiKey: Redacted.make("k"), tools: [getWeather, getUnits, Tool.webSearch()] }))
        .toEqualTypeOf<Layer.Layer<RealtimeModel, import("../src/Errors.js").ConfigurationError, Weather | Units>>()
      // Options typed by the user keep working.
      const options: Xai.Options<Weather> = { apiKey: Redacted.make("k"), tools: [getWeather] }
      expectTypeOf(Xai.layer(options)).toEqualTypeOf<
        Layer.Layer<RealtimeModel, import("../src/Errors.js").ConfigurationError, Weather>
      >()
      // A layer without tools needing services requires nothing.
      expectTypeOf(Xai.layer({ apiKey: Redacted.make("k"), tools: [plain] })).toEqualTypeOf<
        Layer.Layer<RealtimeModel, import("../src/Errors.js").ConfigurationError, never>
      >()
    }))
})

describe("Tool: handlers with services in a session", () => {
  const ServiceLive = Layer.succeed(Weather, { forecast: (city) => Effect.succeed(`Weather service: fog in ${city}`) })
  // The harness's layer (mock transport, a model without tools, a resampler) with its model replaced
  // by one whose tool requires Weather, provided by a Layer (`Layer.merge`: the right side wins).
  const layer = Layer.merge(
    Harness.layer(),
    Xai.layer({ apiKey: Redacted.make("xai-test-key"), tools: [getWeather] }).pipe(Layer.provide(ServiceLive), Layer.orDie)
  )

  it.scoped("the session runs the tool and sends the output its service produced", () =>
    Effect.gen(function*() {
      const { generations, server } = yield* Harness.open()
      const first = yield* Effect.fork(Stream.runHead(generations))
      yield* Harness.script.responseCreated("resp_f")
      yield* Fiber.join(first)
      yield* Harness.script.functionCallDone("resp_f", "item_f", "call_1", "get_weather", JSON.stringify({ city: "Paris" }))
      yield* Harness.script.responseDone("resp_f")
      const output = yield* server.nextClientEventOfType("conversation.item.create")
      assert.deepStrictEqual(output.event["item"], {
        type: "function_call_output",
        call_id: "call_1",
        output: "Weather service: fog in Paris"
      })
    }).pipe(Effect.provide(layer)))

  it.scoped("updateTools takes tools whose services come from provideCurrentContext", () =>
    Effect.gen(function*() {
      const { generations, server, session } = yield* Harness.open()
      const tools = yield* Tool.provideCurrentContext([getUnits]).pipe(Effect.provide(Layer.succeed(Units, "metric")))
      const update = yield* session.updateTools(tools)
      assert.deepStrictEqual(update.tools.map((tool) => tool.name), ["get_units"])
      const first = yield* Effect.fork(Stream.runHead(generations))
      yield* Harness.script.responseCreated("resp_u")
      yield* Fiber.join(first)
      yield* Harness.script.functionCallDone("resp_u", "item_u", "call_u", "get_units", "{}")
      yield* Harness.script.responseDone("resp_u")
      const output = yield* server.nextClientEventOfType("conversation.item.create")
      assert.deepStrictEqual(output.event["item"], { type: "function_call_output", call_id: "call_u", output: "metric" })
    }).pipe(Effect.provide(layer)))
})

describe("Tool: success schema", () => {
  const Reading = Schema.Struct({ at: Schema.Date, celsius: Schema.Number })

  it.effect("the handler's result is encoded with the schema; the model gets the JSON of the encoded value", () =>
    Effect.gen(function*() {
      const tool = Tool.make("reading", {
        description: "a reading",
        parameters: Schema.Struct({}),
        success: Reading,
        handler: () => Effect.succeed({ at: new Date("2026-01-02T03:04:05.000Z"), celsius: 21.5 })
      })
      const output = yield* Tool.execute(tool, "{}")
      assert.deepStrictEqual(JSON.parse(output), { at: "2026-01-02T03:04:05.000Z", celsius: 21.5 })
    }))

  it.effect("a string encoded value is sent as is (not JSON-quoted)", () =>
    Effect.gen(function*() {
      const tool = Tool.make("count", {
        description: "a count",
        parameters: Schema.Struct({}),
        success: Schema.NumberFromString,
        handler: () => Effect.succeed(42)
      })
      assert.strictEqual(yield* Tool.execute(tool, "{}"), "42")
    }))

  it.effect("a result the schema cannot encode fails the call like a handler failure (an error text)", () =>
    Effect.gen(function*() {
      const Positive = Schema.Number.pipe(Schema.positive())
      const tool = Tool.make("bad", {
        description: "bad",
        parameters: Schema.Struct({}),
        success: Positive,
        handler: () => Effect.succeed(-1)
      })
      const output = yield* Tool.execute(tool, "{}")
      assert.match(output, /^Tool "bad" failed: /)
      assert.include(output, "ParseError")
    }))

})
