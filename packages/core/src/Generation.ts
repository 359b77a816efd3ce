/**
 * Generations: a model response as scoped streams of messages (text and audio) and function calls,
 * with the metrics computed when it is done.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as Stream from "effect/Stream"
import type * as AudioFrame from "./AudioFrame.js"
import type { FatalError, SessionClosedError, SlowConsumerError } from "./Errors.js"
import type * as Protocol from "./Protocol.js"

/**
 * Why a generation's streams stopped early: the connection was lost, or the session ended.
 *
 * @since 0.1.0
 * @category errors
 */
export type GenerationError = FatalError | SessionClosedError | SlowConsumerError

/**
 * A piece of reply text (text output or audio transcript), with its start time when the server
 * gives one (timed text).
 *
 * @since 0.1.0
 * @category models
 */
export interface TextDelta {
  readonly text: string
  readonly startTime?: number | undefined
}

/**
 * The output modalities of one message.
 *
 * @since 0.1.0
 * @category models
 */
export type Modalities = ReadonlyArray<"text" | "audio">

/**
 * One assistant message of a generation. Each stream can be consumed once; each ends when the
 * message or the response is done, and fails with a `GenerationError` instead of hanging.
 *
 * @since 0.1.0
 * @category models
 */
export interface MessageGeneration {
  readonly messageId: string
  readonly text: Stream.Stream<TextDelta, GenerationError>
  /**
   * The reply's 24 kHz mono PCM. On Node a frame's samples may be a view into a shared buffer (no
   * allocation per frame): read `data` through its `byteOffset`/`byteLength`, never detach or
   * transfer `data.buffer` (copy with `data.slice()` first).
   */
  readonly audio: Stream.Stream<AudioFrame.AudioFrame, GenerationError>
  /**
   * The same frames without a fiber per frame, for servers that run many sessions: each frame is
   * handed to `onFrame` synchronously as the session receives it (the frames that arrived before the
   * call first, in order). Completes when the message's audio ends; fails as `audio` does. `onFrame`
   * runs in the session's receive path: keep it short and non-blocking (copy, count, write to a
   * socket). A throw from it fails this effect with the defect and drops the message's later frames;
   * the session goes on. Interrupting the effect stops the handing over: later frames wait for
   * `audio` or another `runAudio`. Each frame goes to one consumer: use `audio` or `runAudio`.
   *
   * @since 0.2.0
   */
  readonly runAudio: (onFrame: (frame: AudioFrame.AudioFrame) => void) => Effect.Effect<void, GenerationError>
  readonly modalities: Effect.Effect<Modalities, GenerationError>
}

/**
 * A function call the model made.
 *
 * @since 0.1.0
 * @category models
 */
export interface FunctionCall {
  readonly itemId: string
  readonly callId: string
  readonly name: string
  readonly arguments: string
}

/**
 * The metrics of one response, computed at `response.done`.
 *
 * @since 0.1.0
 * @category models
 */
export interface GenerationMetrics {
  readonly requestId: string
  readonly timestamp: number
  /** Time to first token in ms: the first audio delta, or the first text delta without audio; -1 if none. */
  readonly ttftMs: number
  readonly durationMs: number
  readonly cancelled: boolean
  readonly inputTokens: number
  readonly outputTokens: number
  readonly totalTokens: number
  readonly tokensPerSecond: number
  readonly inputTokenDetails: {
    readonly audioTokens: number
    readonly textTokens: number
    readonly imageTokens: number
    readonly cachedTokens: number
    readonly cachedTokensDetails: { readonly audioTokens: number; readonly textTokens: number; readonly imageTokens: number }
  }
  readonly outputTokenDetails: { readonly textTokens: number; readonly audioTokens: number; readonly imageTokens: number }
  readonly model: string
  readonly provider: string
}

/**
 * How a generation ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResponseSummary {
  readonly responseId: string
  /** The server's status (any string it sends), or `discarded` for a response dropped before it spoke (xAI). */
  readonly status: Protocol.ResponseStatus | "discarded"
  readonly metrics: GenerationMetrics | undefined
  readonly functionCalls: ReadonlyArray<FunctionCall>
}

/**
 * A model response. A generation obtained with `generateReply` lives in the caller's Scope:
 * closing that Scope before the response is done cancels it on the server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Generation {
  readonly responseId: string
  readonly userInitiated: boolean
  readonly messages: Stream.Stream<MessageGeneration, GenerationError>
  readonly functionCalls: Stream.Stream<FunctionCall, GenerationError>
  readonly done: Effect.Effect<ResponseSummary, GenerationError>
}

type Usage = NonNullable<Protocol.Response["usage"]>

/**
 * Computes a response's metrics (pure). Times are Clock milliseconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const computeMetrics = (input: {
  readonly responseId: string
  readonly status: string | undefined
  readonly usage: Usage | undefined | null
  readonly createdAtMs: number
  readonly firstTokenAtMs: number | undefined
  readonly doneAtMs: number
  readonly model: string
  readonly provider: string
}): GenerationMetrics => {
  const u = input.usage ?? undefined
  const inDetails = u?.input_token_details ?? undefined
  const cached = inDetails?.cached_tokens_details ?? undefined
  const outDetails = u?.output_token_details ?? undefined
  const durationMs = Math.max(0, input.doneAtMs - input.createdAtMs)
  const outputTokens = u?.output_tokens ?? 0
  return {
    requestId: input.responseId,
    timestamp: input.createdAtMs,
    ttftMs: input.firstTokenAtMs === undefined ? -1 : Math.max(0, input.firstTokenAtMs - input.createdAtMs),
    durationMs,
    cancelled: input.status === "cancelled",
    inputTokens: u?.input_tokens ?? 0,
    outputTokens,
    totalTokens: u?.total_tokens ?? 0,
    tokensPerSecond: durationMs > 0 ? outputTokens / (durationMs / 1000) : 0,
    inputTokenDetails: {
      audioTokens: inDetails?.audio_tokens ?? 0,
      textTokens: inDetails?.text_tokens ?? 0,
      imageTokens: inDetails?.image_tokens ?? 0,
      cachedTokens: inDetails?.cached_tokens ?? 0,
      cachedTokensDetails: {
        audioTokens: cached?.audio_tokens ?? 0,
        textTokens: cached?.text_tokens ?? 0,
        imageTokens: cached?.image_tokens ?? 0
      }
    },
    outputTokenDetails: {
      textTokens: outDetails?.text_tokens ?? 0,
      audioTokens: outDetails?.audio_tokens ?? 0,
      imageTokens: outDetails?.image_tokens ?? 0
    },
    model: input.model,
    provider: input.provider
  }
}

/**
 * Effect metric: time to first token of each response, in ms (also on the `Metrics` session event).
 *
 * @since 0.1.0
 * @category metrics
 */
export const ttftMetric = Metric.histogram(
  "realtime_fx_ttft_ms",
  MetricBoundaries.exponential({ start: 50, factor: 2, count: 7 }),
  "Time to first token of a response, in ms"
)

/**
 * Effect metric: responses done.
 *
 * @since 0.1.0
 * @category metrics
 */
export const responsesMetric = Metric.counter("realtime_fx_responses_total", { description: "Responses done" })

/**
 * Effect metric: output tokens reported by the server.
 *
 * @since 0.1.0
 * @category metrics
 */
export const outputTokensMetric = Metric.counter("realtime_fx_output_tokens_total", {
  description: "Output tokens"
})
