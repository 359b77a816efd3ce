/**
 * Response schemas: the `response` object of `response.created` / `response.done` (status, details,
 * output, usage, metadata), the `response.create` parameters, error details and usage records.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ConversationItem } from "./Items.js"
import {
  AudioFormat,
  BetaAudioFormat,
  MaxOutputTokens,
  Modality,
  PromptReference,
  ToolChoice,
  ToolDefinition,
  Tracing
} from "./Session.js"

/** Record keys: any string but `__proto__`, which a plain-object decode could not keep as a key. */
const RecordKey = Schema.String.pipe(Schema.filter((key) => key !== "__proto__"))

/**
 * The `error` object of an `error` event (and of a failed transcription). xAI sends
 * `type: "max_duration"` when a session reaches its length limit.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ErrorDetail = Schema.Struct({
  type: Schema.optional(Schema.String),
  code: Schema.optional(Schema.NullOr(Schema.String)),
  message: Schema.optional(Schema.String),
  param: Schema.optional(Schema.NullOr(Schema.String)),
  event_id: Schema.optional(Schema.NullOr(Schema.String))
}).annotations({ identifier: "ErrorDetail" })

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorDetail = typeof ErrorDetail.Type

/**
 * Cached input token breakdown.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CachedTokensDetails = Schema.Struct({
  text_tokens: Schema.optional(Schema.Number),
  audio_tokens: Schema.optional(Schema.Number),
  image_tokens: Schema.optional(Schema.Number)
}).annotations({ identifier: "CachedTokensDetails" })

/**
 * Input token breakdown.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputTokenDetails = Schema.Struct({
  cached_tokens: Schema.optional(Schema.Number),
  text_tokens: Schema.optional(Schema.Number),
  audio_tokens: Schema.optional(Schema.Number),
  image_tokens: Schema.optional(Schema.Number),
  cached_tokens_details: Schema.optional(CachedTokensDetails)
}).annotations({ identifier: "InputTokenDetails" })

/**
 * Output token breakdown.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OutputTokenDetails = Schema.Struct({
  text_tokens: Schema.optional(Schema.Number),
  audio_tokens: Schema.optional(Schema.Number),
  image_tokens: Schema.optional(Schema.Number)
}).annotations({ identifier: "OutputTokenDetails" })

/**
 * Token usage of a response.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Usage = Schema.Struct({
  total_tokens: Schema.optional(Schema.Number),
  input_tokens: Schema.optional(Schema.Number),
  output_tokens: Schema.optional(Schema.Number),
  input_token_details: Schema.optional(InputTokenDetails),
  output_token_details: Schema.optional(OutputTokenDetails)
}).annotations({ identifier: "Usage" })

/**
 * @since 0.1.0
 * @category models
 */
export type Usage = typeof Usage.Type

/**
 * Token usage of an input transcription.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TranscriptionTokenUsage = Schema.Struct({
  type: Schema.Literal("tokens"),
  total_tokens: Schema.optional(Schema.Number),
  input_tokens: Schema.optional(Schema.Number),
  output_tokens: Schema.optional(Schema.Number),
  input_token_details: Schema.optional(
    Schema.Struct({ text_tokens: Schema.optional(Schema.Number), audio_tokens: Schema.optional(Schema.Number) })
  )
}).annotations({ identifier: "TranscriptionTokenUsage" })

/**
 * Duration-billed usage of an input transcription.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TranscriptionDurationUsage = Schema.Struct({
  type: Schema.Literal("duration"),
  seconds: Schema.Number
}).annotations({ identifier: "TranscriptionDurationUsage" })

/**
 * Usage of an input transcription.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TranscriptionUsage = Schema.Union(TranscriptionTokenUsage, TranscriptionDurationUsage).annotations({
  identifier: "TranscriptionUsage"
})

/**
 * @since 0.1.0
 * @category models
 */
export type TranscriptionUsage = typeof TranscriptionUsage.Type

/**
 * The response statuses the APIs document.
 *
 * @since 0.2.0
 * @category schemas
 */
export const KnownResponseStatus = Schema.Literal("completed", "cancelled", "failed", "incomplete", "in_progress")

/**
 * @since 0.2.0
 * @category models
 */
export type KnownResponseStatus = typeof KnownResponseStatus.Type

/**
 * A response's status: one of the documented ones, or any other string a server sends (kept as
 * is, e.g. `"expired"`), so that a new status never fails a `response.done`.
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseStatus = KnownResponseStatus | (string & {})

/**
 * Response status: decodes any string; the documented ones are `KnownResponseStatus`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseStatus: Schema.Schema<ResponseStatus> = Schema.Union(KnownResponseStatus, Schema.String).annotations({
  identifier: "ResponseStatus"
})

const knownResponseStatuses: ReadonlySet<string> = new Set(KnownResponseStatus.literals)

/**
 * True for a status the APIs document (false for one this library does not know).
 *
 * @since 0.2.0
 * @category guards
 */
export const isKnownResponseStatus = (status: ResponseStatus): status is KnownResponseStatus =>
  knownResponseStatuses.has(status)

/**
 * Why a response ended the way it did, in the documented shape (other keys are kept).
 *
 * @since 0.1.0
 * @category schemas
 */
export const StatusDetails = Schema.Struct(
  {
    type: Schema.optional(Schema.String),
    reason: Schema.optional(Schema.NullOr(Schema.String)),
    error: Schema.optional(Schema.NullOr(ErrorDetail))
  },
  Schema.Record({ key: RecordKey, value: Schema.Unknown })
).annotations({ identifier: "StatusDetails" })

/**
 * @since 0.1.0
 * @category models
 */
export type StatusDetails = typeof StatusDetails.Type

/**
 * Status details of another shape (a known key with a value of another type), kept as an opaque
 * record so that they never fail a `response.done`.
 *
 * @since 0.2.0
 * @category schemas
 */
export const OtherStatusDetails = Schema.Struct({}, Schema.Record({ key: RecordKey, value: Schema.Unknown })).annotations({
  identifier: "OtherStatusDetails"
})

/**
 * @since 0.2.0
 * @category models
 */
export type OtherStatusDetails = typeof OtherStatusDetails.Type

/**
 * True when status details have the documented shape (so `type`, `reason` and `error` are typed).
 *
 * @since 0.2.0
 * @category guards
 */
export const isStatusDetails: (details: StatusDetails | OtherStatusDetails) => details is StatusDetails = Schema.is(
  StatusDetails
)

/**
 * Free-form response metadata (the session puts `client_event_id` there).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Metadata = Schema.Record({ key: RecordKey, value: Schema.Unknown })

/**
 * Response audio output settings.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseAudio = Schema.Struct({
  output: Schema.optional(
    Schema.Struct({ format: Schema.optional(AudioFormat), voice: Schema.optional(Schema.String) })
  )
}).annotations({ identifier: "ResponseAudio" })

/**
 * A response, as `response.created` and `response.done` carry it (GA and beta fields). Lenient:
 * only `id` is required, `status` may be any string, `status_details` any object, and unknown keys
 * (in the response and in `usage`) never fail a decode.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Response = Schema.Struct({
  id: Schema.String,
  object: Schema.optional(Schema.String),
  status: Schema.optional(ResponseStatus),
  status_details: Schema.optional(Schema.NullOr(Schema.Union(StatusDetails, OtherStatusDetails))),
  output: Schema.optional(Schema.Array(ConversationItem)),
  usage: Schema.optional(Schema.NullOr(Usage)),
  metadata: Schema.optional(Schema.NullOr(Metadata)),
  conversation_id: Schema.optional(Schema.NullOr(Schema.String)),
  output_modalities: Schema.optional(Schema.Array(Modality)),
  modalities: Schema.optional(Schema.Array(Modality)),
  max_output_tokens: Schema.optional(MaxOutputTokens),
  audio: Schema.optional(ResponseAudio),
  voice: Schema.optional(Schema.String),
  output_audio_format: Schema.optional(BetaAudioFormat),
  temperature: Schema.optional(Schema.Number)
}).annotations({ identifier: "Response" })

/**
 * @since 0.1.0
 * @category models
 */
export type Response = typeof Response.Type

/**
 * The `response` parameters of `response.create` (GA and beta fields; all optional).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseCreateParams = Schema.Struct({
  conversation: Schema.optional(Schema.String),
  metadata: Schema.optional(Schema.NullOr(Metadata)),
  instructions: Schema.optional(Schema.String),
  input: Schema.optional(Schema.Array(ConversationItem)),
  output_modalities: Schema.optional(Schema.Array(Modality)),
  modalities: Schema.optional(Schema.Array(Modality)),
  tools: Schema.optional(Schema.Array(ToolDefinition)),
  tool_choice: Schema.optional(ToolChoice),
  max_output_tokens: Schema.optional(MaxOutputTokens),
  max_response_output_tokens: Schema.optional(MaxOutputTokens),
  audio: Schema.optional(ResponseAudio),
  voice: Schema.optional(Schema.String),
  output_audio_format: Schema.optional(BetaAudioFormat),
  temperature: Schema.optional(Schema.Number),
  prompt: Schema.optional(Schema.NullOr(PromptReference)),
  tracing: Schema.optional(Tracing)
}).annotations({ identifier: "ResponseCreateParams" })

/**
 * @since 0.1.0
 * @category models
 */
export type ResponseCreateParams = typeof ResponseCreateParams.Type
