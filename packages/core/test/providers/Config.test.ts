// layerConfig in Effect's conventions (every option from Config, the environment variable names as
// defaults, errors naming the variable and never a value) and secrets refused unless Redacted.
import { assert, describe, it } from "@effect/vitest"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { ConfigurationError } from "../../src/Errors.js"
import * as OpenAI from "../../src/OpenAI.js"
import { RealtimeModel } from "../../src/RealtimeModel.js"
import type { TransportRequest } from "../../src/Transport.js"
import * as Xai from "../../src/Xai.js"

const secret = "xai-config-secret-0123456789"
const openaiSecret = "sk-config-secret-0123456789"

const headers = (request: TransportRequest): Record<string, string> =>
  Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k, Redacted.isRedacted(v) ? Redacted.value(v) : v])
  )

const withEnv = (entries: ReadonlyArray<readonly [string, string]>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))

const build = <E, R>(layer: Layer.Layer<RealtimeModel, E, R>) => RealtimeModel.pipe(Effect.provide(layer))

/** The ConfigurationError a layer fails with (the test fails if it succeeds or fails otherwise). */
const configurationError = <A>(exit: Exit.Exit<A, ConfigurationError>): ConfigurationError => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
  assert.strictEqual(error?._tag, "ConfigurationError")
  return error!
}

describe("layerConfig: every option from Config", () => {
  it.effect("xAI: options read from their own variables, mixed with plain values", () =>
    Effect.gen(function*() {
      const model = yield* build(Xai.layerConfig({
        apiKey: Config.redacted("MY_XAI_KEY"),
        model: Config.string("XAI_MODEL"),
        voice: Config.string("XAI_VOICE").pipe(Config.withDefault("rex")),
        speed: Config.number("XAI_SPEED"),
        reasoning: { effort: Config.literal("high", "none")("XAI_EFFORT") },
        instructions: "plain value"
      })).pipe(withEnv([
        ["MY_XAI_KEY", secret],
        ["XAI_MODEL", "grok-voice-fast-1.0"],
        ["XAI_SPEED", "1.2"],
        ["XAI_EFFORT", "none"]
      ]))
      assert.strictEqual(model.options.model, "grok-voice-fast-1.0")
      assert.strictEqual(model.options.voice, "rex")
      assert.strictEqual(model.options.speed, 1.2)
      assert.deepStrictEqual(model.options.reasoning, { effort: "none" })
      assert.strictEqual(model.options.instructions, "plain value")
      assert.strictEqual(headers(model.request()).Authorization, `Bearer ${secret}`)
      assert.include(model.request().url, "model=grok-voice-fast-1.0")
    }))

  it.effect("xAI: a Config.Config.Wrap<Options> value and a whole Config<Options> are accepted", () =>
    Effect.gen(function*() {
      const wrapped: Config.Config.Wrap<Xai.Options> = {
        apiKey: Config.redacted("K"),
        voice: Config.string("V")
      }
      const fromWrap = yield* build(Xai.layerConfig(wrapped)).pipe(withEnv([["K", secret], ["V", "leo"]]))
      assert.strictEqual(fromWrap.options.voice, "leo")
      const whole: Config.Config<Xai.Options> = Config.all({ apiKey: Config.redacted("K"), model: Config.string("M") })
      const fromWhole = yield* build(Xai.layerConfig(whole)).pipe(withEnv([["K", secret], ["M", "grok-voice-latest"]]))
      assert.strictEqual(headers(fromWhole.request()).Authorization, `Bearer ${secret}`)
      assert.strictEqual(fromWhole.options.model, "grok-voice-latest")
    }))

  it.effect("xAI: no argument and plain options work as before (XAI_API_KEY is the default key)", () =>
    Effect.gen(function*() {
      const bare = yield* build(Xai.layerConfig()).pipe(withEnv([["XAI_API_KEY", secret]]))
      assert.strictEqual(headers(bare.request()).Authorization, `Bearer ${secret}`)
      const options: Xai.Options = { voice: "Eve", speed: 0.9 }
      const plain = yield* build(Xai.layerConfig(options)).pipe(withEnv([["XAI_API_KEY", secret]]))
      assert.strictEqual(plain.options.voice, "eve")
      assert.strictEqual(plain.options.speed, 0.9)
      // A given key wins over the environment.
      const given = yield* build(Xai.layerConfig({ apiKey: Redacted.make("xai-given-key") })).pipe(
        withEnv([["XAI_API_KEY", secret]])
      )
      assert.strictEqual(headers(given.request()).Authorization, "Bearer xai-given-key")
    }))

  it.effect("a missing variable is a ConfigurationError naming it; an invalid one never shows its value", () =>
    Effect.gen(function*() {
      const missing = configurationError(
        yield* build(Xai.layerConfig({ model: Config.string("XAI_MODEL") })).pipe(withEnv([["XAI_API_KEY", secret]]), Effect.exit)
      )
      assert.include(missing.message, "XAI_MODEL is missing")
      const missingKey = configurationError(
        yield* build(Xai.layerConfig({ apiKey: Config.redacted("MY_XAI_KEY") })).pipe(withEnv([["XAI_API_KEY", secret]]), Effect.exit)
      )
      assert.include(missingKey.message, "MY_XAI_KEY is missing")
      assert.notInclude(missingKey.message, secret)
      // The key read into a number by mistake: named, never quoted.
      const invalid = configurationError(
        yield* build(Xai.layerConfig({ speed: Config.number("XAI_API_KEY") })).pipe(withEnv([["XAI_API_KEY", secret]]), Effect.exit)
      )
      assert.include(invalid.message, "XAI_API_KEY is invalid")
      assert.notInclude(invalid.message, secret)
      assert.notInclude(invalid.message, "0123456789")
      const noKey = configurationError(yield* build(Xai.layerConfig()).pipe(withEnv([]), Effect.exit))
      assert.include(noKey.message, "XAI_API_KEY")
    }))

  it.effect("OpenAI: options from Config; OPENAI_API_KEY stays the default key", () =>
    Effect.gen(function*() {
      const model = yield* build(OpenAI.layerConfig({
        model: Config.string("OPENAI_REALTIME_MODEL"),
        voice: Config.string("OPENAI_VOICE").pipe(Config.withDefault("cedar")),
        maxOutputTokens: Config.integer("OPENAI_MAX_TOKENS")
      })).pipe(withEnv([
        ["OPENAI_API_KEY", openaiSecret],
        ["OPENAI_REALTIME_MODEL", "gpt-realtime-mini"],
        ["OPENAI_MAX_TOKENS", "512"]
      ]))
      assert.strictEqual(model.options.model, "gpt-realtime-mini")
      assert.strictEqual(model.options.voice, "cedar")
      assert.strictEqual(model.options.maxOutputTokens, 512)
      assert.strictEqual(headers(model.request()).Authorization, `Bearer ${openaiSecret}`)
      const wrapped: Config.Config.Wrap<OpenAI.Options> = {
        apiKey: Config.redacted("PROJECT_OPENAI_KEY"),
        azure: Config.succeed(undefined)
      }
      const fromWrap = yield* build(OpenAI.layerConfig(wrapped)).pipe(withEnv([["PROJECT_OPENAI_KEY", openaiSecret]]))
      assert.strictEqual(fromWrap.options.provider, "openai")
      const ownKey = yield* build(OpenAI.layerConfig({ apiKey: Config.redacted("PROJECT_OPENAI_KEY") })).pipe(
        withEnv([["PROJECT_OPENAI_KEY", openaiSecret]])
      )
      assert.strictEqual(headers(ownKey.request()).Authorization, `Bearer ${openaiSecret}`)
    }))

  it.effect("Azure: nested fields from Config; AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY stay the defaults", () =>
    Effect.gen(function*() {
      const env = withEnv([
        ["AZURE_OPENAI_DEPLOYMENT", "realtime-prod"],
        ["AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"],
        ["AZURE_OPENAI_API_KEY", openaiSecret]
      ])
      const model = yield* build(OpenAI.layerConfig({ azure: { deployment: Config.string("AZURE_OPENAI_DEPLOYMENT") } })).pipe(env)
      assert.strictEqual(model.options.provider, "azure")
      assert.strictEqual(model.request().url, "wss://res.openai.azure.com/openai/v1/realtime?model=realtime-prod")
      assert.strictEqual(headers(model.request())["api-key"], openaiSecret)
      const entra = yield* build(OpenAI.layerConfig({
        azure: { deployment: "d1", entraToken: Config.redacted("ENTRA_TOKEN"), endpoint: Config.string("ENDPOINT") }
      })).pipe(withEnv([["ENTRA_TOKEN", "entra-token-value"], ["ENDPOINT", "https://other.openai.azure.com"]]))
      assert.strictEqual(headers(entra.request()).Authorization, "Bearer entra-token-value")
      assert.isUndefined(headers(entra.request())["api-key"])
      const missing = configurationError(
        yield* build(OpenAI.layerConfig({ azure: { deployment: Config.string("AZURE_OPENAI_DEPLOYMENT") } })).pipe(
          withEnv([]),
          Effect.exit
        )
      )
      assert.include(missing.message, "AZURE_OPENAI_DEPLOYMENT is missing")
    }))
})

describe("secrets given as plain strings", () => {
  const plain = "xai-plain-string-secret-42" as unknown as Redacted.Redacted<string>
  const refused = (exit: Exit.Exit<unknown, ConfigurationError>, name: string) => {
    const error = configurationError(exit)
    assert.include(error.message, `\`${name}\``)
    assert.include(error.message, "Redacted.make(...)")
    assert.notInclude(error.message, "plain-string-secret")
  }

  it.effect("every credential option is a ConfigurationError naming the option, never a crash or the value", () =>
    Effect.gen(function*() {
      refused(yield* Effect.exit(Xai.make({ apiKey: plain })), "apiKey")
      refused(yield* Effect.exit(Xai.make({ clientSecret: plain })), "clientSecret")
      refused(yield* build(Xai.layer({ apiKey: plain })).pipe(Effect.exit), "apiKey")
      refused(yield* build(Xai.layerConfig({ apiKey: plain })).pipe(withEnv([]), Effect.exit), "apiKey")
      refused(yield* Effect.exit(OpenAI.make({ apiKey: plain })), "apiKey")
      refused(yield* build(OpenAI.layerConfig({ apiKey: plain })).pipe(withEnv([]), Effect.exit), "apiKey")
      refused(
        yield* Effect.exit(OpenAI.make({ azure: { deployment: "d", endpoint: "https://r.openai.azure.com", apiKey: plain } })),
        "azure.apiKey"
      )
      refused(
        yield* Effect.exit(OpenAI.make({ azure: { deployment: "d", endpoint: "https://r.openai.azure.com", entraToken: plain } })),
        "azure.entraToken"
      )
    }))

  it.effect("a Redacted of a non-string, or a value of another type, is refused too", () =>
    Effect.gen(function*() {
      const number = configurationError(
        yield* Effect.exit(Xai.make({ apiKey: Redacted.make(42) as unknown as Redacted.Redacted<string> }))
      )
      assert.include(number.message, "Redacted string")
      const object = configurationError(
        yield* Effect.exit(OpenAI.make({ apiKey: { key: "x" } as unknown as Redacted.Redacted<string> }))
      )
      assert.include(object.message, "`apiKey` must be a Redacted string")
    }))

  it.effect("createClientSecret refuses a plain-string key before any request", () =>
    Effect.gen(function*() {
      let requests = 0
      const client = HttpClient.make(() => Effect.sync(() => requests++).pipe(Effect.zipRight(Effect.die("no request expected"))))
      const exit = yield* Xai.createClientSecret({ apiKey: plain }).pipe(
        Effect.provideService(HttpClient.HttpClient, client),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      assert.strictEqual(error?._tag, "ConfigurationError")
      assert.notInclude(error?.message ?? "", "plain-string-secret")
      assert.strictEqual(requests, 0)
    }))
})
