/**
 * The xAI Grok Voice Agent provider: builds the `RealtimeModel` service for `wss://api.x.ai/v1/realtime`
 * and mints short-lived client secrets for browsers.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { AuthenticationError, type ConfigurationError, ConnectionError, ProtocolError } from "./Errors.js"
import * as Provider from "./internal/provider.js"
import { capString } from "./internal/redact.js"
import * as Url from "./internal/url.js"
import type { InputAudioTranscription, NoiseReduction, ServerVad } from "./protocol/Session.js"
import {
  type ConnOptionsInput,
  type Dialect,
  RealtimeModel,
  type RealtimeModelOptions,
  type RealtimeModelService,
  resolveConnOptions,
  userAgent
} from "./RealtimeModel.js"
import * as Tool from "./Tool.js"
import type { TransportRequest } from "./Transport.js"

/**
 * The xAI voice ids known at release (ids are case-insensitive; custom voice ids are accepted too).
 *
 * @since 0.1.0
 * @category constants
 */
export const knownVoices = [
  "ara", "eve", "leo", "rex", "sal",
  "altair", "atlas", "aurora", "carina", "castor", "celeste", "cosmo", "helios", "helix", "iris", "kepler",
  "liora", "lumen", "luna", "lux", "naksh", "orion", "perseus", "rigel", "sirius", "ursa", "zagan", "zenith"
] as const

/**
 * An xAI voice: a known id (autocompleted) or any other string (custom voices).
 *
 * @since 0.1.0
 * @category models
 */
export type Voice = (typeof knownVoices)[number] | (string & {})

/**
 * An xAI voice model: a known id or any other string.
 *
 * @since 0.1.0
 * @category models
 */
export type Model =
  | "grok-voice-latest"
  | "grok-voice-think-fast-2.0"
  | "grok-voice-think-fast-1.0"
  | "grok-voice-fast-1.0"
  | (string & {})

/**
 * The default model (`grok-voice-latest`).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultModel = "grok-voice-latest"

/**
 * The default voice (`ara`).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultVoice = "ara"

/**
 * The default WebSocket endpoint.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBaseUrl = "wss://api.x.ai/v1/realtime"

/**
 * Server VAD as the reference implementation sets it.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTurnDetection: ServerVad = {
  type: "server_vad",
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 200,
  create_response: true,
  interrupt_response: true
}

/**
 * Options of the xAI provider. Every field is optional. `R` is what the `tools`' handlers require
 * (`never` by default); the layer built from these options then requires it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<R = never> {
  /** Default `grok-voice-latest`. Sent as `?model=` (xAI reads the model only from the URL). */
  readonly model?: Model | undefined
  /** Default `ara`. */
  readonly voice?: Voice | undefined
  /**
   * Sent as `Authorization: Bearer`. `layerConfig` reads `XAI_API_KEY` when neither credential is given.
   * Must be `Redacted` (`Redacted.make(key)`, `Config.redacted(name)`): a plain string is refused with
   * a `ConfigurationError`.
   */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /**
   * A client secret from `createClientSecret`, sent as the subprotocol `xai-client-secret.<value>`
   * (browsers). Must be `Redacted`, as `apiKey`.
   */
  readonly clientSecret?: Redacted.Redacted<string> | undefined
  /**
   * Default `wss://api.x.ai/v1/realtime`; normalized (http→ws, `/v1` → `/v1/realtime`, `?model=` added).
   * A URL with `user:password@` credentials is refused.
   */
  readonly baseUrl?: string | undefined
  /**
   * A full URL used as given (gateways that reject `?model=`): no path or `model` is added; only
   * `conversation_id` is appended when a conversation is resumed. A URL with `user:password@`
   * credentials is refused.
   */
  readonly url?: string | undefined
  /**
   * Default `false`: a cleartext `ws://` (or `http://`) URL is refused unless its host is loopback
   * (`localhost`, `127.0.0.0/8`, `[::1]`), because the API key or client secret would cross the
   * network readable by anyone on the path. `true` allows it (a trusted network, a TLS-terminating
   * sidecar).
   *
   * @since 0.2.0
   */
  readonly allowInsecure?: boolean | undefined
  /** Default server VAD (threshold 0.5, 300 ms padding, 200 ms silence); `null` = manual turns. */
  readonly turnDetection?: ServerVad | null | undefined
  /** Default none (`null`): the server's own default applies. */
  readonly inputAudioTranscription?: InputAudioTranscription | null | undefined
  readonly inputAudioNoiseReduction?: NoiseReduction | null | undefined
  /** 0.7 to 1.5. */
  readonly speed?: number | undefined
  readonly reasoning?: { readonly effort: "high" | "none" } | undefined
  readonly instructions?: string | undefined
  /** Default `["text", "audio"]`. */
  readonly modalities?: ReadonlyArray<"text" | "audio"> | undefined
  /** Function tools whose handlers may require services (`R`), and server tools. */
  readonly tools?: ReadonlyArray<Tool.Tool<R>> | undefined
  /** Default none: xAI sessions are recycled on its `max_duration` error instead. */
  readonly maxSessionDuration?: Duration.DurationInput | undefined
  readonly connOptions?: ConnOptionsInput | undefined
}

/**
 * How xAI's server differs from the protocol's letter: transcripts revised until the reply speaks,
 * empty delete ids, unspoken responses dropped without `response.done`, `null` previous ids meaning
 * "after the last item", built-in server tools, `max_duration` expiry, resumable conversations.
 *
 * @since 0.2.0
 * @category constants
 */
export const dialect: Dialect = {
  inputTranscripts: "revised",
  emptyDeleteId: "oldestPendingDelete",
  dropsUnspokenResponses: true,
  nullPreviousItemId: "tail",
  serverToolNames: Tool.builtInServerToolNames,
  fatalErrorCodes: new Set(["insufficient_quota", "invalid_api_key", "account_deactivated", "billing_hard_limit_reached"]),
  isRecycleError: (error) => error.type === "max_duration" || error.code === "max_duration",
  resumesConversations: true
}

const missingKeyMessage = "xAI API key missing: set the XAI_API_KEY environment variable or pass `apiKey` (or `clientSecret`)"

const normalizeVoice = (voice: string): string => {
  const lower = voice.toLowerCase()
  return (knownVoices as ReadonlyArray<string>).includes(lower) ? lower : voice
}

/**
 * Options of `layerConfig`: the `Options` in which any value may be a `Config` (as
 * `Config.Config.Wrap<Options>`, which it accepts), a whole `Config<Options>`, or plain values.
 *
 * @since 0.2.0
 * @category models
 */
export type ConfigOptions<R = never> = ConfigOptionsWithTools<Tool.Tool<R>>

/**
 * `Options` whose tools are of type `T`: what `make` and `layer` take, so that the services required
 * by tools of different types add up (`Tool.Requirements<T>`).
 *
 * @since 0.2.0
 * @category models
 */
export type OptionsWithTools<T extends Tool.Tool<unknown>> = Provider.OptionsWithTools<Options, T>

/**
 * `ConfigOptions` whose tools are of type `T`: what `layerConfig` takes.
 *
 * @since 0.2.0
 * @category models
 */
export type ConfigOptionsWithTools<T extends Tool.Tool<unknown>> = Provider.ConfigOptionsWithTools<Options, T>

/**
 * Builds the xAI `RealtimeModel` service. Fails with `ConfigurationError` (never showing a secret)
 * when no credential is given, both are given, a credential is not `Redacted`, the URL is invalid
 * or an option is out of range. The tools' handlers get the services they require (`R`) from the
 * context this effect runs in.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <T extends Tool.Tool<unknown> = never>(
  options: OptionsWithTools<T> = {}
): Effect.Effect<RealtimeModelService, ConfigurationError, Tool.Requirements<T>> =>
  Provider.withToolServices(options, makeService)

const makeService = (options: Options): Effect.Effect<RealtimeModelService, ConfigurationError> =>
  Effect.suspend(() => {
    const secrets = Either.all({
      apiKey: Provider.checkSecret("apiKey", options.apiKey),
      clientSecret: Provider.checkSecret("clientSecret", options.clientSecret)
    })
    if (Either.isLeft(secrets)) return Effect.fail(secrets.left)
    const { apiKey, clientSecret } = secrets.right
    if (apiKey === undefined && clientSecret === undefined) {
      return Effect.fail(Provider.configError(missingKeyMessage))
    }
    if (apiKey !== undefined && clientSecret !== undefined) {
      return Effect.fail(Provider.configError("pass either `apiKey` or `clientSecret` to the xAI provider, not both"))
    }
    const speedCheck = Provider.checkRange("speed", options.speed, 0.7, 1.5)
    if (Either.isLeft(speedCheck)) return Effect.fail(speedCheck.left)
    const model = options.model ?? defaultModel
    const resolved: RealtimeModelOptions = {
      provider: "xai",
      model,
      voice: normalizeVoice(options.voice ?? defaultVoice),
      modalities: options.modalities ?? ["text", "audio"],
      instructions: options.instructions,
      turnDetection: options.turnDetection === undefined ? defaultTurnDetection : options.turnDetection,
      inputAudioTranscription: options.inputAudioTranscription ?? null,
      inputAudioNoiseReduction: options.inputAudioNoiseReduction ?? null,
      speed: options.speed,
      reasoning: options.reasoning,
      toolChoice: undefined,
      maxOutputTokens: undefined,
      tracing: undefined,
      maxSessionDuration: options.maxSessionDuration !== undefined
        ? Duration.decode(options.maxSessionDuration)
        : undefined,
      connOptions: resolveConnOptions(options.connOptions)
    }
    const baseUrl = options.url !== undefined
      ? Provider.fromUrlEither(Url.override(options.url))
      : Provider.fromUrlEither(Url.build(options.baseUrl ?? defaultBaseUrl, {
        model,
        set: [["reasoning.effort", options.reasoning?.effort]]
      }))
    if (Either.isLeft(baseUrl)) return Effect.fail(baseUrl.left)
    const url = baseUrl.right
    const transport = Provider.checkTransport(url, options.allowInsecure)
    if (Either.isLeft(transport)) return Effect.fail(transport.left)
    const tools = options.tools ?? []
    const headers: Record<string, string | Redacted.Redacted<string>> = { "User-Agent": userAgent }
    if (apiKey !== undefined) headers.Authorization = Provider.bearer(apiKey)
    const protocols = clientSecret !== undefined
      ? [Redacted.make(`xai-client-secret.${Redacted.value(clientSecret)}`)]
      : []
    const request = (params?: { readonly conversationId?: string | undefined }): TransportRequest => ({
      url: params?.conversationId !== undefined && params.conversationId !== ""
        ? Either.getOrElse(Url.withQuery(url, { set: [["conversation_id", params.conversationId]] }), () => url)
        : url,
      headers,
      protocols
    })
    return Effect.succeed<RealtimeModelService>({
      options: resolved,
      tools,
      request,
      sessionConfig: (partial) => Provider.sessionConfig("xai", partial),
      isRecycleError: dialect.isRecycleError,
      dialect,
      resolveUpdate: (update) => Provider.resolveUpdate(update, { speed: [0.7, 1.5], normalizeVoice, reasoning: true }),
      scrub: Provider.scrubber([apiKey, clientSecret], tools)
    })
  })

/**
 * The xAI `RealtimeModel` layer from explicit options (a credential is required). When the tools'
 * handlers require services, the layer requires them (provide them with `Layer.provide`).
 *
 * @example
 * ```ts
 * import * as Tool from "@realtime-fx/core/Tool"
 * import * as Xai from "@realtime-fx/core/Xai"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as Redacted from "effect/Redacted"
 * import * as Schema from "effect/Schema"
 *
 * class Weather extends Effect.Tag("Weather")<Weather, {
 *   readonly forecast: (city: string) => Effect.Effect<string>
 * }>() {}
 *
 * const getWeather = Tool.make("get_weather", {
 *   description: "The weather in a city",
 *   parameters: Schema.Struct({ city: Schema.String }),
 *   handler: ({ city }) => Weather.forecast(city)
 * })
 *
 * // Layer<RealtimeModel, ConfigurationError, Weather>: the tool's service is provided by a Layer.
 * const ModelLive = Xai.layer({
 *   apiKey: Redacted.make("xai-..."),
 *   voice: "eve",
 *   instructions: "You are a weather assistant.",
 *   tools: [getWeather]
 * }).pipe(
 *   Layer.provide(Layer.succeed(Weather, { forecast: (city) => Effect.succeed(`sunny in ${city}`) }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <T extends Tool.Tool<unknown> = never>(
  options: OptionsWithTools<T> = {}
): Layer.Layer<RealtimeModel, ConfigurationError, Tool.Requirements<T>> =>
  Layer.effect(RealtimeModel, make(options))

/**
 * The xAI `RealtimeModel` layer with its options read from `Config`: every option may be a `Config`
 * (`Config.Config.Wrap<Options>`, as `@effect/sql` clients take), a plain value, or the whole
 * options a `Config<Options>`. Unless `apiKey` or `clientSecret` is given, the key is read from
 * `XAI_API_KEY` (`Config.redacted`). A missing or invalid value fails with a `ConfigurationError`
 * naming the variable, never showing a value.
 *
 * @example
 * ```ts
 * import * as Xai from "@realtime-fx/core/Xai"
 * import * as Config from "effect/Config"
 *
 * // XAI_API_KEY, plus the model and the voice from the environment (with defaults).
 * const ModelLive = Xai.layerConfig({
 *   model: Config.string("XAI_MODEL").pipe(Config.withDefault(Xai.defaultModel)),
 *   voice: Config.string("XAI_VOICE").pipe(Config.withDefault("eve")),
 *   instructions: "Answer briefly."
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = <T extends Tool.Tool<unknown> = never>(
  options: ConfigOptionsWithTools<T> = {}
): Layer.Layer<RealtimeModel, ConfigurationError, Tool.Requirements<T>> =>
  Layer.effect(
    RealtimeModel,
    Effect.gen(function*() {
      const loaded = yield* Provider.loadOptions<Options, T>(options, "xAI")
      if (loaded.apiKey !== undefined || loaded.clientSecret !== undefined) return yield* make(loaded)
      const apiKey = yield* Config.option(Config.redacted("XAI_API_KEY")).pipe(
        Effect.mapError(() => Provider.configError(missingKeyMessage))
      )
      return yield* make({ ...loaded, apiKey: Option.getOrUndefined(apiKey) })
    })
  )

/**
 * A client secret for browsers: pass it as `clientSecret` (it becomes the subprotocol
 * `xai-client-secret.<value>`). `expiresAt` is in Unix seconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientSecret {
  readonly value: Redacted.Redacted<string>
  readonly expiresAt: number
}

const ClientSecretResponse = Schema.Struct({
  value: Schema.String,
  expires_at: Schema.Number
})

/**
 * Mints a client secret: `POST https://api.x.ai/v1/realtime/client_secrets` with the API key and
 * `{"expires_after":{"seconds":N}}` (N an integer from 1 to 3600, default 600). HTTP 401/403 fail
 * with `AuthenticationError`, other failures with `ConnectionError` (retryable for network errors,
 * 429 and 5xx), an unexpected body with `ProtocolError`; no error carries the key or the secret.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClientSecret = (options: {
  readonly apiKey: Redacted.Redacted<string>
  readonly expiresAfterSeconds?: number | undefined
  /** Default `https://api.x.ai/v1`. A URL with `user:password@` credentials is refused. */
  readonly baseUrl?: string | undefined
  /**
   * Default `false`: a cleartext `http://` base URL is refused unless its host is loopback (the API
   * key would cross the network in clear); `true` allows it.
   *
   * @since 0.2.0
   */
  readonly allowInsecure?: boolean | undefined
}): Effect.Effect<
  ClientSecret,
  ConfigurationError | AuthenticationError | ConnectionError | ProtocolError,
  HttpClient.HttpClient
> =>
  Effect.gen(function*() {
    yield* Provider.checkSecret("apiKey", options.apiKey)
    const seconds = options.expiresAfterSeconds ?? 600
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) {
      return yield* Provider.configError(`expiresAfterSeconds must be an integer from 1 to 3600, got ${seconds}`)
    }
    const base = yield* Either.mapLeft(
      Url.checkHttpUrl((options.baseUrl ?? "https://api.x.ai/v1").trim().replace(/\/+$/, "")),
      (message) => Provider.configError(`Invalid client secret URL: ${message}`)
    )
    yield* Provider.checkTransport(base, options.allowInsecure)
    const client = yield* HttpClient.HttpClient
    const request = HttpClientRequest.post(`${base}/realtime/client_secrets`).pipe(
      HttpClientRequest.bearerToken(options.apiKey),
      HttpClientRequest.setHeader("User-Agent", userAgent),
      HttpClientRequest.acceptJson,
      HttpClientRequest.bodyUnsafeJson({ expires_after: { seconds } })
    )
    const response = yield* client.execute(request).pipe(
      Effect.mapError((error) =>
        new ConnectionError({ message: `client secret request failed (${error.reason})`, retryable: true })
      )
    )
    if (response.status === 401 || response.status === 403) {
      return yield* new AuthenticationError({
        message: `xAI rejected the API key (HTTP ${response.status})`,
        status: response.status
      })
    }
    if (response.status < 200 || response.status >= 300) {
      return yield* new ConnectionError({
        message: `client secret request failed with HTTP ${response.status}`,
        retryable: response.status === 429 || response.status >= 500
      })
    }
    const body = yield* HttpClientResponse.schemaBodyJson(ClientSecretResponse)(response).pipe(
      Effect.mapError((error) =>
        new ProtocolError({
          message: ParseResult.isParseError(error)
            ? `unexpected client secret response: ${
              capString(
                ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => `${issue.path.join(".")} ${issue.message}`)
                  .join("; ").replace(/actual .*/g, "")
              )
            }`
            : "unreadable client secret response"
        })
      )
    )
    return { value: Redacted.make(body.value), expiresAt: body.expires_at }
  })

