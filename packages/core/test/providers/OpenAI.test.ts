import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as OpenAI from "../../src/OpenAI.js"
import { RealtimeModel } from "../../src/RealtimeModel.js"
import type { TransportRequest } from "../../src/Transport.js"

const secret = "sk-openai-secret-0123456789"
const azureKey = "azure-key-abcdef"

const unwrapHeaders = (request: TransportRequest): Record<string, string> =>
  Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k, Redacted.isRedacted(v) ? Redacted.value(v) : v])
  )

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  throw new Error("expected a Fail")
}

const pcm = { type: "audio/pcm", rate: 24000 }

describe("OpenAI", () => {
  it.effect("default request and full GA sessionConfig", () =>
    Effect.gen(function*() {
      const model = yield* OpenAI.make({ apiKey: Redacted.make(secret), instructions: "Hi", maxOutputTokens: "inf" })
      const request = model.request()
      assert.strictEqual(request.url, "wss://api.openai.com/v1/realtime?model=gpt-realtime")
      assert.deepStrictEqual(unwrapHeaders(request), {
        "User-Agent": "realtime-fx/0.1.0",
        Authorization: `Bearer ${secret}`
      })
      assert.deepStrictEqual(request.protocols, [])
      assert.strictEqual(model.options.provider, "openai")
      assert.isTrue(Duration.equals(model.options.maxSessionDuration!, Duration.minutes(20)))
      assert.deepStrictEqual(model.sessionConfig(model.options), {
        type: "realtime",
        model: "gpt-realtime",
        instructions: "Hi",
        output_modalities: ["audio"],
        audio: {
          input: {
            format: pcm,
            turn_detection: { type: "semantic_vad", create_response: true, interrupt_response: true },
            transcription: { model: "gpt-4o-mini-transcribe" },
            noise_reduction: null
          },
          output: { format: pcm, voice: "marin" }
        },
        max_output_tokens: "inf"
      })
      assert.deepStrictEqual(model.sessionConfig({ voice: "cedar", turnDetection: null }), {
        type: "realtime",
        audio: { input: { turn_detection: null }, output: { voice: "cedar" } }
      })
      assert.deepStrictEqual(model.sessionConfig({ modalities: ["text"], toolChoice: "required", tracing: "auto" }), {
        type: "realtime",
        output_modalities: ["text"],
        audio: { input: { format: pcm }, output: { format: pcm } },
        tool_choice: "required",
        tracing: "auto"
      })
      assert.isTrue(model.isRecycleError({ code: "session_expired" }))
      assert.isFalse(model.isRecycleError({ type: "max_duration" }))
      assert.strictEqual(model.request({ conversationId: "ignored" }).url, request.url)
    }))

  it.effect("Azure GA: /openai/v1/realtime?model=<deployment>, api-key header, server VAD + whisper defaults", () =>
    Effect.gen(function*() {
      const model = yield* OpenAI.make({
        azure: { endpoint: "https://my-res.openai.azure.com/", deployment: "my-rt", apiKey: Redacted.make(azureKey) }
      })
      const request = model.request()
      assert.strictEqual(request.url, "wss://my-res.openai.azure.com/openai/v1/realtime?model=my-rt")
      assert.deepStrictEqual(unwrapHeaders(request), { "User-Agent": "realtime-fx/0.1.0", "api-key": azureKey })
      assert.strictEqual(model.options.provider, "azure")
      assert.strictEqual(model.options.model, "my-rt")
      const config = model.sessionConfig(model.options)
      assert.strictEqual(config.type, "realtime")
      assert.deepStrictEqual(config.audio?.input?.turn_detection, OpenAI.azureDefaultTurnDetection)
      assert.deepStrictEqual(config.audio?.input?.transcription, { model: "whisper-1" })
      // an endpoint that already ends in /openai/v1 is not doubled
      const again = yield* OpenAI.make({
        azure: { endpoint: "https://my-res.openai.azure.com/openai/v1", deployment: "my-rt", apiKey: Redacted.make(azureKey) }
      })
      assert.strictEqual(again.request().url, "wss://my-res.openai.azure.com/openai/v1/realtime?model=my-rt")
    }))

  it.effect("Azure legacy preview: api-version + deployment, Entra bearer, beta session shape", () =>
    Effect.gen(function*() {
      const model = yield* OpenAI.make({
        voice: "alloy",
        azure: {
          endpoint: "https://my-res.openai.azure.com",
          deployment: "gpt-4o-realtime",
          apiVersion: "2024-10-01-preview",
          entraToken: Redacted.make("entra-token-xyz")
        }
      })
      const request = model.request()
      assert.strictEqual(
        request.url,
        "wss://my-res.openai.azure.com/openai/realtime?api-version=2024-10-01-preview&deployment=gpt-4o-realtime"
      )
      assert.deepStrictEqual(unwrapHeaders(request), {
        "User-Agent": "realtime-fx/0.1.0",
        Authorization: "Bearer entra-token-xyz"
      })
      assert.deepStrictEqual(model.sessionConfig(model.options), {
        model: "gpt-4o-realtime",
        modalities: ["text", "audio"],
        input_audio_format: "pcm16",
        output_audio_format: "pcm16",
        voice: "alloy",
        turn_detection: OpenAI.azureDefaultTurnDetection,
        input_audio_transcription: { model: "whisper-1" },
        input_audio_noise_reduction: null
      })
    }))

  it.effect("layerConfig reads OPENAI_API_KEY / AZURE_OPENAI_*; missing ones fail with a ConfigurationError", () =>
    Effect.gen(function*() {
      const fromEnv = yield* RealtimeModel.pipe(
        Effect.provide(OpenAI.layerConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OPENAI_API_KEY", secret]])))
      )
      assert.strictEqual(unwrapHeaders(fromEnv.request()).Authorization, `Bearer ${secret}`)
      assert.notInclude(JSON.stringify(fromEnv.options), secret)

      const azure = yield* RealtimeModel.pipe(
        Effect.provide(OpenAI.layerConfig({ azure: { deployment: "d1" } })),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([
          ["AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com"],
          ["AZURE_OPENAI_API_KEY", azureKey]
        ])))
      )
      assert.strictEqual(azure.request().url, "wss://r.openai.azure.com/openai/v1/realtime?model=d1")
      assert.strictEqual(unwrapHeaders(azure.request())["api-key"], azureKey)

      const missing = yield* RealtimeModel.pipe(
        Effect.provide(OpenAI.layerConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
        Effect.exit
      )
      const error = failure(missing)
      assert.strictEqual(error._tag, "ConfigurationError")
      assert.include(error.message, "OPENAI_API_KEY")
      assert.include(error.message, "apiKey")

      const noEndpoint = failure(yield* RealtimeModel.pipe(
        Effect.provide(OpenAI.layerConfig({ azure: { deployment: "d1", apiKey: Redacted.make(azureKey) } })),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
        Effect.exit
      ))
      assert.include(noEndpoint.message, "AZURE_OPENAI_ENDPOINT")
      const noAzureKey = failure(yield* Effect.exit(OpenAI.make({ azure: { endpoint: "https://r", deployment: "d" } })))
      assert.include(noAzureKey.message, "AZURE_OPENAI_API_KEY")
    }))

  it.effect("no secret in errors or options", () =>
    Effect.gen(function*() {
      const both = yield* Effect.exit(OpenAI.make({
        azure: {
          endpoint: "https://r.openai.azure.com",
          deployment: "d",
          apiKey: Redacted.make(azureKey),
          entraToken: Redacted.make(secret)
        }
      }))
      const error = failure(both)
      for (const text of [String(error), JSON.stringify(error), String(Exit.isFailure(both) ? both.cause : "")]) {
        assert.notInclude(text, azureKey)
        assert.notInclude(text, secret)
      }
      const model = yield* OpenAI.make({ apiKey: Redacted.make(secret) })
      assert.notInclude(JSON.stringify(model.options), secret)
      assert.notInclude(JSON.stringify(model.request()), secret)
      assert.notInclude(String(model.request().headers.Authorization), secret)
      const badSpeed = failure(yield* Effect.exit(OpenAI.make({ apiKey: Redacted.make(secret), speed: 0.1 })))
      assert.include(badSpeed.message, "speed")
    }))
})
