/**
 * The OpenAI Realtime provider (GA protocol) and its Azure OpenAI mode (GA `/openai/v1/realtime`, or
 * the legacy preview URL and beta session shape when an `apiVersion` is given).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { ConfigurationError } from "./Errors.js"
import * as Provider from "./internal/provider.js"
import * as Url from "./internal/url.js"
import type {
  InputAudioTranscription,
  NoiseReduction,
  ServerVad,
  ToolChoice,
  Tracing,
  TurnDetection
} from "./protocol/Session.js"
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
 * The default model (`gpt-realtime`).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultModel = "gpt-realtime"

/**
 * The default voice (`marin`).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultVoice = "marin"

/**
 * The default REST base URL; the WebSocket URL is derived from it.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBaseUrl = "https://api.openai.com/v1"

/**
 * OpenAI's default turn detection: semantic VAD that creates and interrupts responses.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTurnDetection: TurnDetection = {
  type: "semantic_vad",
  create_response: true,
  interrupt_response: true
}

/**
 * Azure's default turn detection: server VAD (available on every Azure API version).
 *
 * @since 0.1.0
 * @category constants
 */
export const azureDefaultTurnDetection: ServerVad = {
  type: "server_vad",
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 200,
  create_response: true,
  interrupt_response: true
}

/**
 * Input transcription on by default (user transcripts are part of the chat context):
 * `gpt-4o-mini-transcribe` on OpenAI, as LiveKit does.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultInputAudioTranscription: InputAudioTranscription = { model: "gpt-4o-mini-transcribe" }

/**
 * Azure's default input transcription model (`whisper-1`, as LiveKit's Azure mode).
 *
 * @since 0.1.0
 * @category constants
 */
export const azureDefaultInputAudioTranscription: InputAudioTranscription = { model: "whisper-1" }

/**
 * Azure OpenAI settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface AzureOptions {
  /**
   * `https://<resource>.openai.azure.com`; `layerConfig` reads `AZURE_OPENAI_ENDPOINT` when absent.
   * An endpoint with `user:password@` credentials is refused.
   */
  readonly endpoint?: string | undefined
  /** The deployment name (sent as `?model=` on GA, `?deployment=` on the legacy URL). */
  readonly deployment: string
  /** Given: the legacy preview URL `<endpoint>/openai/realtime?api-version=<v>&deployment=<d>` and the beta session shape. */
  readonly apiVersion?: string | undefined
  /**
   * Sent as the `api-key` header; `layerConfig` reads `AZURE_OPENAI_API_KEY` when neither credential
   * is given. Must be `Redacted` (`Redacted.make(key)`): a plain string is a `ConfigurationError`.
   */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** A Microsoft Entra ID token, sent as `Authorization: Bearer`. Must be `Redacted`, as `apiKey`. */
  readonly entraToken?: Redacted.Redacted<string> | undefined
}

/**
 * Options of the OpenAI provider. Every field is optional. `R` is what the `tools`' handlers require
 * (`never` by default); the layer built from these options then requires it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<R = never> {
  /** Default `gpt-realtime` (Azure: the deployment name). */
  readonly model?: string | undefined
  /** Default `marin`. */
  readonly voice?: string | undefined
  /**
   * Sent as `Authorization: Bearer`; `layerConfig` reads `OPENAI_API_KEY` when absent. Must be
   * `Redacted` (`Redacted.make(key)`, `Config.redacted(name)`): a plain string is a `ConfigurationError`.
   */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Default `https://api.openai.com/v1`. A URL with `user:password@` credentials is refused. */
  readonly baseUrl?: string | undefined
  /** A full URL used as given (gateways). A URL with `user:password@` credentials is refused. */
  readonly url?: string | undefined
  /**
   * Default `false`: a cleartext `ws://` (or `http://`) URL, endpoint included, is refused unless
   * its host is loopback (`localhost`, `127.0.0.0/8`, `[::1]`), because the API key or Entra token
   * would cross the network readable by anyone on the path. `true` allows it (a trusted network, a
   * TLS-terminating sidecar).
   *
   * @since 0.2.0
   */
  readonly allowInsecure?: boolean | undefined
  /** Azure OpenAI mode (provider `"azure"`). */
  readonly azure?: AzureOptions | undefined
  /** Default `["text", "audio"]`. */
  readonly modalities?: ReadonlyArray<"text" | "audio"> | undefined
  readonly instructions?: string | undefined
  /** Default semantic VAD (Azure: server VAD); `null` = manual turns. */
  readonly turnDetection?: TurnDetection | null | undefined
  /** Default `gpt-4o-mini-transcribe` (Azure: `whisper-1`); `null` = off. */
  readonly inputAudioTranscription?: InputAudioTranscription | null | undefined
  /** Default `null` (off). */
  readonly inputAudioNoiseReduction?: NoiseReduction | null | undefined
  /** 0.25 to 1.5. */
  readonly speed?: number | undefined
  readonly toolChoice?: ToolChoice | undefined
  readonly maxOutputTokens?: number | "inf" | undefined
  readonly tracing?: Tracing | undefined
  /** Function tools whose handlers may require services (`R`), and server tools. */
  readonly tools?: ReadonlyArray<Tool.Tool<R>> | undefined
  /** Default 20 minutes (servers expire sessions at 30). */
  readonly maxSessionDuration?: Duration.DurationInput | undefined
  readonly connOptions?: ConnOptionsInput | undefined
}

/**
 * OpenAI's and Azure's server as the protocol describes it: one final transcript per item, explicit
 * delete ids, every response ends with `response.done`, `null` previous ids mean the head;
 * `session_expired` asks for a reconnect; conversations are not resumable.
 *
 * @since 0.2.0
 * @category constants
 */
export const dialect: Dialect = {
  inputTranscripts: "final",
  emptyDeleteId: "ignore",
  dropsUnspokenResponses: false,
  nullPreviousItemId: "head",
  serverToolNames: new Set(),
  fatalErrorCodes: new Set(["insufficient_quota", "invalid_api_key", "account_deactivated", "billing_hard_limit_reached"]),
  isRecycleError: (error) => error.code === "session_expired" || error.type === "session_expired",
  resumesConversations: false
}

const missingOpenAIKey = "OpenAI API key missing: set the OPENAI_API_KEY environment variable or pass `apiKey`"
const missingAzureKey =
  "Azure OpenAI credential missing: set the AZURE_OPENAI_API_KEY environment variable or pass `azure.apiKey` (or `azure.entraToken`)"
const missingAzureEndpoint =
  "Azure OpenAI endpoint missing: set the AZURE_OPENAI_ENDPOINT environment variable or pass `azure.endpoint`"

/**
 * `<endpoint>` with its path ending in `/openai` (legacy) or `/openai/v1` (GA).
 *
 * @internal
 */
const azureBase = (endpoint: string, legacy: boolean): string => {
  const [withoutQuery, query] = endpoint.trim().split("?", 2) as [string, string | undefined]
  let base = withoutQuery.replace(/\/+$/, "")
  if (base.endsWith("/openai/v1")) base = base.slice(0, -3)
  if (!base.endsWith("/openai")) base = `${base}/openai`
  if (!legacy) base = `${base}/v1`
  return query !== undefined ? `${base}?${query}` : base
}

/**
 * Options of `layerConfig`: the `Options` in which any value (nested `azure` fields included) may
 * be a `Config` (as `Config.Config.Wrap<Options>`, which it accepts), a whole `Config<Options>`, or
 * plain values.
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
 * Builds the OpenAI (or Azure OpenAI) `RealtimeModel` service. Fails with `ConfigurationError`
 * (never showing a secret) when a credential or the Azure endpoint is missing, a credential is not
 * `Redacted`, the URL is invalid or an option is out of range. The tools' handlers get the services
 * they require (`R`) from the context this effect runs in.
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
    const azure = options.azure
    const speedCheck = Provider.checkRange("speed", options.speed, 0.25, 1.5)
    if (Either.isLeft(speedCheck)) return Effect.fail(speedCheck.left)
    const headers: Record<string, string | Redacted.Redacted<string>> = { "User-Agent": userAgent }
    const credentials: Array<Redacted.Redacted<string> | undefined> = []
    let url: Either.Either<string, ConfigurationError>
    let model: string
    if (azure !== undefined) {
      const secrets = Either.all({
        apiKey: Provider.checkSecret("azure.apiKey", azure.apiKey),
        entraToken: Provider.checkSecret("azure.entraToken", azure.entraToken)
      })
      if (Either.isLeft(secrets)) return Effect.fail(secrets.left)
      const { apiKey, entraToken } = secrets.right
      if (apiKey === undefined && entraToken === undefined) return Effect.fail(Provider.configError(missingAzureKey))
      if (apiKey !== undefined && entraToken !== undefined) {
        return Effect.fail(Provider.configError("pass either `azure.apiKey` or `azure.entraToken`, not both"))
      }
      credentials.push(apiKey, entraToken)
      if (apiKey !== undefined) headers["api-key"] = apiKey
      if (entraToken !== undefined) headers.Authorization = Provider.bearer(entraToken)
      if (azure.deployment.trim() === "") return Effect.fail(Provider.configError("`azure.deployment` must not be empty"))
      model = options.model ?? azure.deployment
      if (options.url !== undefined) {
        url = Provider.fromUrlEither(Url.override(options.url))
      } else if (azure.endpoint === undefined || azure.endpoint.trim() === "") {
        return Effect.fail(Provider.configError(missingAzureEndpoint))
      } else {
        const legacy = azure.apiVersion !== undefined
        url = Provider.fromUrlEither(
          legacy
            ? Url.build(azureBase(azure.endpoint, true), {
              set: [["api-version", azure.apiVersion], ["deployment", azure.deployment]]
            })
            : Url.build(azureBase(azure.endpoint, false), { model: azure.deployment })
        )
      }
    } else {
      const apiKeyCheck = Provider.checkSecret("apiKey", options.apiKey)
      if (Either.isLeft(apiKeyCheck)) return Effect.fail(apiKeyCheck.left)
      const apiKey = apiKeyCheck.right
      if (apiKey === undefined) return Effect.fail(Provider.configError(missingOpenAIKey))
      credentials.push(apiKey)
      headers.Authorization = Provider.bearer(apiKey)
      model = options.model ?? defaultModel
      url = options.url !== undefined
        ? Provider.fromUrlEither(Url.override(options.url))
        : Provider.fromUrlEither(Url.build(options.baseUrl ?? defaultBaseUrl, { model }))
    }
    if (Either.isLeft(url)) return Effect.fail(url.left)
    const finalUrl = url.right
    const transport = Provider.checkTransport(finalUrl, options.allowInsecure)
    if (Either.isLeft(transport)) return Effect.fail(transport.left)
    const tools = options.tools ?? []
    const shape: Provider.Shape = azure?.apiVersion !== undefined ? "beta" : "ga"
    const resolved: RealtimeModelOptions = {
      provider: azure !== undefined ? "azure" : "openai",
      model,
      voice: options.voice ?? defaultVoice,
      modalities: options.modalities ?? ["text", "audio"],
      instructions: options.instructions,
      turnDetection: options.turnDetection === undefined
        ? (azure !== undefined ? azureDefaultTurnDetection : defaultTurnDetection)
        : options.turnDetection,
      inputAudioTranscription: options.inputAudioTranscription === undefined
        ? (azure !== undefined ? azureDefaultInputAudioTranscription : defaultInputAudioTranscription)
        : options.inputAudioTranscription,
      inputAudioNoiseReduction: options.inputAudioNoiseReduction ?? null,
      speed: options.speed,
      reasoning: undefined,
      toolChoice: options.toolChoice,
      maxOutputTokens: options.maxOutputTokens,
      tracing: options.tracing,
      maxSessionDuration: Duration.decode(options.maxSessionDuration ?? Duration.minutes(20)),
      connOptions: resolveConnOptions(options.connOptions)
    }
    const request = (_params?: { readonly conversationId?: string | undefined }): TransportRequest => ({
      url: finalUrl,
      headers,
      protocols: []
    })
    return Effect.succeed<RealtimeModelService>({
      options: resolved,
      tools,
      request,
      sessionConfig: (partial) => Provider.sessionConfig(shape, partial),
      isRecycleError: dialect.isRecycleError,
      dialect,
      resolveUpdate: (update) => Provider.resolveUpdate(update, { speed: [0.25, 1.5], normalizeVoice: (v) => v, reasoning: false }),
      scrub: Provider.scrubber(credentials, tools)
    })
  })

/**
 * The OpenAI / Azure `RealtimeModel` layer from explicit options (a credential is required). When
 * the tools' handlers require services, the layer requires them (provide them with `Layer.provide`).
 *
 * @example
 * ```ts
 * import * as OpenAI from "@realtime-fx/core/OpenAI"
 * import * as Redacted from "effect/Redacted"
 *
 * const OpenAILive = OpenAI.layer({ apiKey: Redacted.make("sk-..."), voice: "marin" })
 *
 * // Azure OpenAI (GA endpoint); `apiVersion` selects the legacy preview URL instead.
 * const AzureLive = OpenAI.layer({
 *   azure: {
 *     endpoint: "https://my-resource.openai.azure.com",
 *     deployment: "gpt-realtime",
 *     apiKey: Redacted.make("...")
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <T extends Tool.Tool<unknown> = never>(
  options: OptionsWithTools<T> = {}
): Layer.Layer<RealtimeModel, ConfigurationError, Tool.Requirements<T>> =>
  Layer.effect(RealtimeModel, make(options))

const optionalRedacted = (name: string, message: string) =>
  Config.option(Config.redacted(name)).pipe(
    Effect.map(Option.getOrUndefined),
    Effect.mapError(() => Provider.configError(message))
  )

/**
 * The OpenAI / Azure `RealtimeModel` layer with its options read from `Config`: every option may be
 * a `Config` (`Config.Config.Wrap<Options>`, as `@effect/sql` clients take), a plain value, or the
 * whole options a `Config<Options>`. What is not given is read from the environment: `OPENAI_API_KEY`;
 * in Azure mode `AZURE_OPENAI_ENDPOINT` (unless `url` is given) and `AZURE_OPENAI_API_KEY` (unless
 * `azure.apiKey` or `azure.entraToken` is given). A missing or invalid value fails with a
 * `ConfigurationError` naming the variable, never showing a value.
 *
 * @example
 * ```ts
 * import * as OpenAI from "@realtime-fx/core/OpenAI"
 * import * as Config from "effect/Config"
 *
 * // OPENAI_API_KEY and an optional OPENAI_REALTIME_MODEL.
 * const OpenAILive = OpenAI.layerConfig({
 *   model: Config.string("OPENAI_REALTIME_MODEL").pipe(Config.withDefault(OpenAI.defaultModel))
 * })
 *
 * // Azure: the deployment from AZURE_OPENAI_DEPLOYMENT; the endpoint and key from their defaults.
 * const AzureLive = OpenAI.layerConfig({ azure: { deployment: Config.string("AZURE_OPENAI_DEPLOYMENT") } })
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
      const loaded = yield* Provider.loadOptions<Options, T>(options, "OpenAI")
      const azure = loaded.azure
      if (azure === undefined) {
        if (loaded.apiKey !== undefined) return yield* make(loaded)
        const apiKey = yield* optionalRedacted("OPENAI_API_KEY", missingOpenAIKey)
        return yield* make({ ...loaded, apiKey })
      }
      const endpoint = azure.endpoint ?? (loaded.url !== undefined ? undefined : yield* Config.option(Config.string("AZURE_OPENAI_ENDPOINT")).pipe(
        Effect.map(Option.getOrUndefined),
        Effect.mapError(() => Provider.configError(missingAzureEndpoint))
      ))
      const apiKey = azure.apiKey === undefined && azure.entraToken === undefined
        ? yield* optionalRedacted("AZURE_OPENAI_API_KEY", missingAzureKey)
        : azure.apiKey
      return yield* make({ ...loaded, azure: { ...azure, endpoint, apiKey } })
    })
  )
