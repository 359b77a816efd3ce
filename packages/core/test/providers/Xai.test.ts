import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { RealtimeModel, userAgent } from "../../src/RealtimeModel.js"
import type { TransportRequest } from "../../src/Transport.js"
import * as Xai from "../../src/Xai.js"

const secret = "xai-secret-key-0123456789"

const unwrapHeaders = (request: TransportRequest): Record<string, string> =>
  Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k, Redacted.isRedacted(v) ? Redacted.value(v) : v])
  )

const failureMessage = <A, E extends { readonly message: string }>(exit: Exit.Exit<A, E>): string => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (error === undefined) throw new Error("expected a Fail cause")
  return error.message
}

describe("Xai", () => {
  it.effect("default request: URL with ?model=, Bearer auth, User-Agent, no subprotocol", () =>
    Effect.gen(function*() {
      const model = yield* Xai.make({ apiKey: Redacted.make(secret) })
      const request = model.request()
      assert.strictEqual(request.url, "wss://api.x.ai/v1/realtime?model=grok-voice-latest")
      assert.deepStrictEqual(unwrapHeaders(request), {
        "User-Agent": "realtime-fx/0.1.0",
        Authorization: `Bearer ${secret}`
      })
      assert.isTrue(Redacted.isRedacted(request.headers.Authorization))
      assert.deepStrictEqual(request.protocols, [])
      assert.strictEqual(userAgent, "realtime-fx/0.1.0")
      assert.strictEqual(
        model.request({ conversationId: "conv_1" }).url,
        "wss://api.x.ai/v1/realtime?model=grok-voice-latest&conversation_id=conv_1"
      )
      assert.strictEqual(model.options.provider, "xai")
      assert.strictEqual(model.options.voice, "ara")
      assert.isUndefined(model.options.maxSessionDuration)
      assert.strictEqual(model.options.connOptions.maxRetry, 3)
      assert.isTrue(Duration.equals(model.options.connOptions.retryInterval, Duration.seconds(2)))
      assert.isTrue(Duration.equals(model.options.connOptions.timeout, Duration.seconds(10)))
    }))

  it.effect("full sessionConfig in the xAI shape: voice and turn_detection top-level", () =>
    Effect.gen(function*() {
      const model = yield* Xai.make({
        apiKey: Redacted.make(secret),
        voice: "Eve",
        instructions: "Be brief.",
        speed: 1.2,
        reasoning: { effort: "high" },
        inputAudioTranscription: { model: "grok-transcribe", language_hint: "en" }
      })
      assert.deepStrictEqual(model.sessionConfig(model.options), {
        model: "grok-voice-latest",
        instructions: "Be brief.",
        output_modalities: ["audio"],
        voice: "eve",
        turn_detection: {
          type: "server_vad",
          threshold: 0.5,
          prefix_padding_ms: 300,
          silence_duration_ms: 200,
          create_response: true,
          interrupt_response: true
        },
        reasoning: { effort: "high" },
        audio: {
          input: {
            format: { type: "audio/pcm", rate: 24000 },
            transcription: { model: "grok-transcribe", language_hint: "en" }
          },
          output: { format: { type: "audio/pcm", rate: 24000 }, speed: 1.2 }
        }
      })
      // partial: only the given fields; null turn detection stays null
      assert.deepStrictEqual(model.sessionConfig({ voice: "rex", turnDetection: null }), {
        voice: "rex",
        turn_detection: null
      })
      assert.deepStrictEqual(model.sessionConfig({}), {})
      assert.strictEqual(
        model.request().url,
        "wss://api.x.ai/v1/realtime?model=grok-voice-latest&reasoning.effort=high"
      )
    }))

  it.effect("manual turns, custom model and base URL, URL override used as given", () =>
    Effect.gen(function*() {
      const manual = yield* Xai.make({
        apiKey: Redacted.make(secret),
        turnDetection: null,
        model: "grok-voice-think-fast-1.0",
        baseUrl: "https://gw.example.com/v1",
        voice: "my-custom-Voice"
      })
      assert.isNull(manual.options.turnDetection)
      assert.isNull(manual.sessionConfig(manual.options).turn_detection)
      assert.strictEqual(manual.options.voice, "my-custom-Voice")
      assert.strictEqual(manual.request().url, "wss://gw.example.com/v1/realtime?model=grok-voice-think-fast-1.0")

      const override = yield* Xai.make({ apiKey: Redacted.make(secret), url: "wss://gw.example.com/xai-voice" })
      assert.strictEqual(override.request().url, "wss://gw.example.com/xai-voice")
      assert.strictEqual(override.request({ conversationId: "c" }).url, "wss://gw.example.com/xai-voice?conversation_id=c")
    }))

  it.effect("client secret goes as the subprotocol, not a header", () =>
    Effect.gen(function*() {
      const model = yield* Xai.make({ clientSecret: Redacted.make("cs_abc") })
      const request = model.request()
      assert.isUndefined(request.headers.Authorization)
      assert.strictEqual(request.protocols.length, 1)
      const protocol = request.protocols[0]!
      assert.isTrue(Redacted.isRedacted(protocol))
      assert.strictEqual(Redacted.isRedacted(protocol) ? Redacted.value(protocol) : protocol, "xai-client-secret.cs_abc")
      assert.notInclude(JSON.stringify(request), "cs_abc")
    }))

  it.effect("isRecycleError: max_duration by type or code", () =>
    Effect.gen(function*() {
      const model = yield* Xai.make({ apiKey: Redacted.make(secret) })
      assert.isTrue(model.isRecycleError({ type: "max_duration" }))
      assert.isTrue(model.isRecycleError({ code: "max_duration" }))
      assert.isFalse(model.isRecycleError({ type: "invalid_request_error", code: "invalid_api_key" }))
      assert.isFalse(model.isRecycleError({}))
    }))

  it.effect("layerConfig reads XAI_API_KEY; a missing key is a ConfigurationError naming the fix", () =>
    Effect.gen(function*() {
      const withKey = yield* RealtimeModel.pipe(
        Effect.provide(Xai.layerConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["XAI_API_KEY", secret]])))
      )
      assert.strictEqual(unwrapHeaders(withKey.request()).Authorization, `Bearer ${secret}`)
      assert.notInclude(JSON.stringify(withKey.options), secret)
      assert.notInclude(String(withKey.request().headers.Authorization), secret)

      const missing = yield* RealtimeModel.pipe(
        Effect.provide(Xai.layerConfig({ voice: "eve" })),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
        Effect.exit
      )
      const message = failureMessage(missing)
      assert.include(message, "XAI_API_KEY")
      assert.include(message, "apiKey")
      if (Exit.isFailure(missing) && missing.cause._tag === "Fail") {
        assert.strictEqual(missing.cause.error._tag, "ConfigurationError")
      }

      const blank = yield* Effect.exit(Xai.make({ apiKey: Redacted.make("  ") }))
      assert.include(failureMessage(blank), "XAI_API_KEY")
      const both = yield* Effect.exit(Xai.make({ apiKey: Redacted.make(secret), clientSecret: Redacted.make(secret) }))
      assert.notInclude(failureMessage(both), secret)
      assert.notInclude(String(Exit.isFailure(both) ? both.cause : ""), secret)
      const badUrl = yield* Effect.exit(Xai.make({ apiKey: Redacted.make(secret), baseUrl: "ftp://x" }))
      assert.include(failureMessage(badUrl), "Invalid realtime URL")
      const badSpeed = yield* Effect.exit(Xai.make({ apiKey: Redacted.make(secret), speed: 3 }))
      assert.include(failureMessage(badSpeed), "speed")
    }))

  it.effect("Xai.layer builds the service", () =>
    Effect.gen(function*() {
      const model = yield* RealtimeModel
      assert.strictEqual(model.options.model, "grok-voice-think-fast-2.0")
      assert.isTrue(Duration.equals(model.options.maxSessionDuration!, Duration.minutes(50)))
      assert.strictEqual(model.options.connOptions.maxRetry, 5)
    }).pipe(Effect.provide(Xai.layer({
      apiKey: Redacted.make(secret),
      model: "grok-voice-think-fast-2.0",
      maxSessionDuration: "50 minutes",
      connOptions: { maxRetry: 5 }
    }))))
})

describe("Xai.createClientSecret", () => {
  const mockClient = (status: number, body: unknown, seen: Array<HttpClientRequest.HttpClientRequest>) =>
    Layer.succeed(
      HttpClient.HttpClient,
      HttpClient.make((request) =>
        Effect.sync(() => {
          seen.push(request)
          return HttpClientResponse.fromWeb(
            request,
            new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })
          )
        })
      )
    )

  it.effect("POSTs expires_after with the key and returns a Redacted value", () =>
    Effect.gen(function*() {
      const seen: Array<HttpClientRequest.HttpClientRequest> = []
      const result = yield* Xai.createClientSecret({ apiKey: Redacted.make(secret), expiresAfterSeconds: 300 }).pipe(
        Effect.provide(mockClient(200, { value: "cs_value_1", expires_at: 1_900_000_000 }, seen))
      )
      assert.strictEqual(Redacted.value(result.value), "cs_value_1")
      assert.strictEqual(result.expiresAt, 1_900_000_000)
      assert.notInclude(String(result.value), "cs_value_1")
      assert.strictEqual(seen.length, 1)
      const request = seen[0]!
      assert.strictEqual(request.method, "POST")
      assert.strictEqual(request.url, "https://api.x.ai/v1/realtime/client_secrets")
      assert.strictEqual(request.headers.authorization, `Bearer ${secret}`)
      assert.strictEqual(request.headers["user-agent"], "realtime-fx/0.1.0")
      const body = request.body
      assert.strictEqual(body._tag, "Uint8Array")
      if (body._tag === "Uint8Array") {
        assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(body.body)), { expires_after: { seconds: 300 } })
      }
    }))

  it.effect("defaults to 600 s, validates the range, maps 401 and bad bodies to typed errors", () =>
    Effect.gen(function*() {
      const seen: Array<HttpClientRequest.HttpClientRequest> = []
      yield* Xai.createClientSecret({ apiKey: Redacted.make(secret) }).pipe(
        Effect.provide(mockClient(200, { value: "v", expires_at: 1 }, seen))
      )
      const body = seen[0]!.body
      if (body._tag === "Uint8Array") {
        assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(body.body)), { expires_after: { seconds: 600 } })
      }
      for (const bad of [0, 3601, 1.5]) {
        const exit = yield* Xai.createClientSecret({ apiKey: Redacted.make(secret), expiresAfterSeconds: bad }).pipe(
          Effect.provide(mockClient(200, { value: "v", expires_at: 1 }, [])),
          Effect.flip
        )
        assert.strictEqual(exit._tag, "ConfigurationError")
      }
      const denied = yield* Xai.createClientSecret({ apiKey: Redacted.make(secret) }).pipe(
        Effect.provide(mockClient(401, { error: "bad key" }, [])),
        Effect.flip
      )
      assert.strictEqual(denied._tag, "AuthenticationError")
      const busy = yield* Xai.createClientSecret({ apiKey: Redacted.make(secret) }).pipe(
        Effect.provide(mockClient(503, {}, [])),
        Effect.flip
      )
      assert.strictEqual(busy._tag, "ConnectionError")
      assert.isTrue(busy._tag === "ConnectionError" && busy.retryable)
      const malformed = yield* Xai.createClientSecret({ apiKey: Redacted.make(secret) }).pipe(
        Effect.provide(mockClient(200, { value: 42, expires_at: "soon" }, [])),
        Effect.flip
      )
      assert.strictEqual(malformed._tag, "ProtocolError")
      assert.notInclude(JSON.stringify(malformed), "42")
      assert.notInclude(String(denied) + JSON.stringify(denied), secret)
    }))
})
