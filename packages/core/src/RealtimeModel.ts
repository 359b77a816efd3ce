/**
 * The `RealtimeModel` service: a provider's resolved options, its connection request and its
 * `session.update` shape, as consumed by the session engine.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import type * as Either from "effect/Either"
import type { ConfigurationError } from "./Errors.js"
import type { InputAudioTranscription, NoiseReduction, SessionConfig, ToolChoice, Tracing, TurnDetection } from "./protocol/Session.js"
import type * as Tool from "./Tool.js"
import type { TransportRequest } from "./Transport.js"
import { version } from "./version.js"

/**
 * How connections are retried: up to `maxRetry` retries, 0.1 s before the first and `retryInterval`
 * before each later one; one attempt times out after `timeout`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnOptions {
  readonly maxRetry: number
  readonly retryInterval: Duration.Duration
  readonly timeout: Duration.Duration
}

/**
 * The defaults of the reference implementation: 3 retries, 2 s apart, 10 s per attempt.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultConnOptions: ConnOptions = {
  maxRetry: 3,
  retryInterval: Duration.seconds(2),
  timeout: Duration.seconds(10)
}

/**
 * Connection options as given by a user: any subset, durations in any `DurationInput` form.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnOptionsInput {
  readonly maxRetry?: number | undefined
  readonly retryInterval?: Duration.DurationInput | undefined
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Fills the missing connection options with `defaultConnOptions`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolveConnOptions = (input: ConnOptionsInput | undefined): ConnOptions => ({
  maxRetry: input?.maxRetry ?? defaultConnOptions.maxRetry,
  retryInterval: input?.retryInterval !== undefined ? Duration.decode(input.retryInterval) : defaultConnOptions.retryInterval,
  timeout: input?.timeout !== undefined ? Duration.decode(input.timeout) : defaultConnOptions.timeout
})

/**
 * The resolved options of a realtime model. They never carry a secret (credentials stay inside the
 * service's `request`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RealtimeModelOptions {
  readonly provider: "xai" | "openai" | "azure"
  readonly model: string
  readonly voice: string
  readonly modalities: ReadonlyArray<"text" | "audio">
  readonly instructions: string | undefined
  /** `null` = manual turns. */
  readonly turnDetection: TurnDetection | null
  readonly inputAudioTranscription: InputAudioTranscription | null
  readonly inputAudioNoiseReduction: NoiseReduction | null
  readonly speed: number | undefined
  /** xAI only. */
  readonly reasoning: { readonly effort: "high" | "none" } | undefined
  readonly toolChoice: ToolChoice | undefined
  readonly maxOutputTokens: number | "inf" | undefined
  readonly tracing: Tracing | undefined
  readonly maxSessionDuration: Duration.Duration | undefined
  readonly connOptions: ConnOptions
}

/**
 * How a provider's server differs from the protocol's letter: data the session engine reads instead
 * of branching on the provider. Declared by `Xai` and `OpenAI`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Dialect {
  /**
   * How input transcripts arrive: `"final"`, one `...transcription.completed` per item is the final
   * transcript; `"revised"` (xAI), completions are revisions: each is reported as non-final, the last
   * is held and reported once as final when the reply first speaks, when speech starts for another
   * item, on reconnect or on close.
   */
  readonly inputTranscripts: "final" | "revised"
  /** What a `conversation.item.deleted` with an empty `item_id` acknowledges (xAI: the oldest pending delete). */
  readonly emptyDeleteId: "oldestPendingDelete" | "ignore"
  /**
   * Whether the server drops a response that has not spoken yet when it is interrupted, replaced by a
   * new response, or talked over (speech starts), without a `response.done` (xAI). Such a response is
   * discarded at once; otherwise it stays current until its `response.done`.
   */
  readonly dropsUnspokenResponses: boolean
  /** Where a `conversation.item.added` with `previous_item_id: null` goes: the head (OpenAI) or after the last item (xAI). */
  readonly nullPreviousItemId: "head" | "tail"
  /** Function names that the server runs itself (built-in server tools): the client never answers them. */
  readonly serverToolNames: ReadonlySet<string>
  /** Server `error` codes that retrying cannot fix: they end the session. */
  readonly fatalErrorCodes: ReadonlySet<string>
  /** Server errors that mean "this session expired": reconnect with replay at once (xAI `max_duration`). */
  readonly isRecycleError: (
    error: { readonly type?: string | undefined; readonly code?: string | undefined }
  ) => boolean
  /**
   * Whether a reconnect may resume the server's conversation by the id `conversation.created` gave
   * (xAI `?conversation_id=`) instead of re-sending the chat history. When the server answers with
   * another conversation id, the session falls back to the replay.
   */
  readonly resumesConversations: boolean
}

/**
 * The options that may change mid-session (`RealtimeSession.updateOptions`). The model, credentials,
 * URL and connection options are fixed for a session's life.
 *
 * @since 0.2.0
 * @category models
 */
export interface UpdatableOptions {
  readonly voice?: string | undefined
  readonly instructions?: string | undefined
  readonly modalities?: ReadonlyArray<"text" | "audio"> | undefined
  readonly turnDetection?: TurnDetection | null | undefined
  readonly inputAudioTranscription?: InputAudioTranscription | null | undefined
  readonly inputAudioNoiseReduction?: NoiseReduction | null | undefined
  readonly speed?: number | undefined
  readonly reasoning?: { readonly effort: "high" | "none" } | undefined
  readonly toolChoice?: ToolChoice | undefined
  readonly maxOutputTokens?: number | "inf" | undefined
  readonly tracing?: Tracing | undefined
}

/**
 * What a provider gives the session engine.
 *
 * @since 0.1.0
 * @category models
 */
export interface RealtimeModelService {
  readonly options: RealtimeModelOptions
  /** The initial tools. */
  readonly tools: ReadonlyArray<Tool.Tool>
  /** The request for one connection attempt (URL with query, headers incl. auth and User-Agent, subprotocols). */
  readonly request: (params?: { readonly conversationId?: string | undefined }) => TransportRequest
  /** The `session` object of a session.update in this provider's shape, from (partial) options: only the given fields. */
  readonly sessionConfig: (options: Partial<RealtimeModelOptions>) => SessionConfig
  /** True for server errors that mean "session expired, reconnect with replay" (xAI `max_duration`). */
  readonly isRecycleError: (
    error: { readonly type?: string | undefined; readonly code?: string | undefined }
  ) => boolean
  /** How this provider's server differs from the protocol's letter. */
  readonly dialect: Dialect
  /**
   * Validates and normalises options given to `updateOptions`, as the provider's layer does; options
   * that cannot change mid-session (model, credentials, URL, ...) are refused.
   */
  readonly resolveUpdate: (options: UpdatableOptions) => Either.Either<Partial<RealtimeModelOptions>, ConfigurationError>
  /**
   * Removes this model's secrets (API key, client secret, tokens) from a text that came from the
   * server.
   *
   * @since 0.2.0
   */
  readonly scrub: (text: string) => string
}

/**
 * The realtime model service tag; provided by `Xai.layer`, `OpenAI.layer` and their `layerConfig`s.
 *
 * @since 0.1.0
 * @category tags
 */
export class RealtimeModel extends Context.Tag("@realtime-fx/core/RealtimeModel")<RealtimeModel, RealtimeModelService>() {}

/**
 * The `User-Agent` header every request carries: `realtime-fx/<version of @realtime-fx/core>`.
 *
 * @since 0.1.0
 * @category constants
 */
export const userAgent = `realtime-fx/${version}`
