/**
 * The `RealtimeModel` service: a provider's resolved options, its connection request and its
 * `session.update` shape, as consumed by the session engine.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
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
