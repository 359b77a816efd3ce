/**
 * Server event schemas: every GA server event, the beta wire names decoded as their GA twin,
 * and xAI's own events (`ping`, `conversation.item.input_audio_transcription.updated`, ...).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ContentPart, ConversationItem } from "./Items.js"
import { ErrorDetail, Response, TranscriptionUsage } from "./Response.js"
import { SessionConfig } from "./Session.js"

const event = <const T extends string, const F extends Schema.Struct.Fields>(type: T, identifier: string, fields: F) =>
  Schema.Struct({ type: Schema.Literal(type), event_id: Schema.optional(Schema.String), ...fields }).annotations({
    identifier
  })

const betaEvent = <const B extends string, const G extends string, const F extends Schema.Struct.Fields>(
  beta: B,
  ga: G,
  identifier: string,
  fields: F
) =>
  Schema.Struct({ type: Schema.transformLiteral(beta, ga), event_id: Schema.optional(Schema.String), ...fields })
    .annotations({ identifier })

const contentRef = {
  response_id: Schema.String,
  item_id: Schema.String,
  output_index: Schema.Number,
  content_index: Schema.Number
}

const LogProbs = Schema.optional(
  Schema.NullOr(
    Schema.Array(
      Schema.Struct({
        token: Schema.String,
        logprob: Schema.Number,
        bytes: Schema.optional(Schema.Array(Schema.Number))
      })
    )
  )
)

// ---------------------------------------------------------------------------------------------
// session & conversation
// ---------------------------------------------------------------------------------------------

/**
 * The first event of a connection: the session's initial configuration.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionCreated = event("session.created", "SessionCreated", { session: SessionConfig })
/**
 * @since 0.1.0
 * @category models
 */
export type SessionCreated = typeof SessionCreated.Type

/**
 * Acknowledges a `session.update` with the resulting configuration.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionUpdated = event("session.updated", "SessionUpdated", { session: SessionConfig })
/**
 * @since 0.1.0
 * @category models
 */
export type SessionUpdated = typeof SessionUpdated.Type

/**
 * Legacy transcription-session event (beta; kept in the GA spec outside the unions).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TranscriptionSessionCreated = event("transcription_session.created", "TranscriptionSessionCreated", {
  session: SessionConfig
})
/**
 * @since 0.1.0
 * @category models
 */
export type TranscriptionSessionCreated = typeof TranscriptionSessionCreated.Type

/**
 * Legacy transcription-session event (beta; kept in the GA spec outside the unions).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TranscriptionSessionUpdated = event("transcription_session.updated", "TranscriptionSessionUpdated", {
  session: SessionConfig
})
/**
 * @since 0.1.0
 * @category models
 */
export type TranscriptionSessionUpdated = typeof TranscriptionSessionUpdated.Type

/**
 * Sent after `session.created`; xAI's `conversation.id` is the resumption key.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationCreated = event("conversation.created", "ConversationCreated", {
  conversation: Schema.Struct({ id: Schema.optional(Schema.String), object: Schema.optional(Schema.String) })
})
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationCreated = typeof ConversationCreated.Type

const itemAddedFields = {
  previous_item_id: Schema.optional(Schema.NullOr(Schema.String)),
  item: ConversationItem
}

/**
 * An item entered the conversation (GA). xAI may name a `previous_item_id` never announced.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemAdded = event("conversation.item.added", "ConversationItemAdded", itemAddedFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemAdded = typeof ConversationItemAdded.Type

/**
 * An item was created (beta name, still in the GA union; xAI uses it to replay resumed history).
 * Treat it as `conversation.item.added`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemCreated = event("conversation.item.created", "ConversationItemCreated", itemAddedFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemCreated = typeof ConversationItemCreated.Type

/**
 * An item is complete (GA).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemDone = event("conversation.item.done", "ConversationItemDone", itemAddedFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemDone = typeof ConversationItemDone.Type

/**
 * Answers `conversation.item.retrieve` with the item.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemRetrieved = event("conversation.item.retrieved", "ConversationItemRetrieved", {
  item: ConversationItem
})
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemRetrieved = typeof ConversationItemRetrieved.Type

/**
 * An item was deleted. xAI may send an EMPTY `item_id`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemDeleted = event("conversation.item.deleted", "ConversationItemDeleted", {
  item_id: Schema.String
})
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemDeleted = typeof ConversationItemDeleted.Type

/**
 * An assistant audio item was truncated (xAI adds the remaining `transcript`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemTruncated = event("conversation.item.truncated", "ConversationItemTruncated", {
  item_id: Schema.String,
  content_index: Schema.Number,
  audio_end_ms: Schema.Number,
  transcript: Schema.optional(Schema.String)
})
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemTruncated = typeof ConversationItemTruncated.Type

/**
 * An input transcription finished. xAI may send several per item (`status: "in_progress"` partials).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemInputAudioTranscriptionCompleted = event(
  "conversation.item.input_audio_transcription.completed",
  "ConversationItemInputAudioTranscriptionCompleted",
  {
    item_id: Schema.String,
    content_index: Schema.optional(Schema.Number),
    transcript: Schema.String,
    usage: Schema.optional(TranscriptionUsage),
    logprobs: LogProbs,
    status: Schema.optional(Schema.String)
  }
)
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemInputAudioTranscriptionCompleted =
  typeof ConversationItemInputAudioTranscriptionCompleted.Type

/**
 * A partial input transcription.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemInputAudioTranscriptionDelta = event(
  "conversation.item.input_audio_transcription.delta",
  "ConversationItemInputAudioTranscriptionDelta",
  {
    item_id: Schema.String,
    content_index: Schema.optional(Schema.Number),
    delta: Schema.optional(Schema.String),
    logprobs: LogProbs,
    obfuscation: Schema.optional(Schema.String)
  }
)
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemInputAudioTranscriptionDelta = typeof ConversationItemInputAudioTranscriptionDelta.Type

/**
 * xAI: a cumulative, self-correcting partial transcript of the user's audio.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemInputAudioTranscriptionUpdated = event(
  "conversation.item.input_audio_transcription.updated",
  "ConversationItemInputAudioTranscriptionUpdated",
  {
    item_id: Schema.String,
    content_index: Schema.optional(Schema.Number),
    transcript: Schema.String
  }
)
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemInputAudioTranscriptionUpdated =
  typeof ConversationItemInputAudioTranscriptionUpdated.Type

/**
 * An input transcription failed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemInputAudioTranscriptionFailed = event(
  "conversation.item.input_audio_transcription.failed",
  "ConversationItemInputAudioTranscriptionFailed",
  {
    item_id: Schema.String,
    content_index: Schema.optional(Schema.Number),
    error: ErrorDetail
  }
)
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemInputAudioTranscriptionFailed = typeof ConversationItemInputAudioTranscriptionFailed.Type

/**
 * A transcribed segment of the input audio (diarization models).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemInputAudioTranscriptionSegment = event(
  "conversation.item.input_audio_transcription.segment",
  "ConversationItemInputAudioTranscriptionSegment",
  {
    item_id: Schema.String,
    content_index: Schema.Number,
    id: Schema.String,
    text: Schema.String,
    speaker: Schema.String,
    start: Schema.Number,
    end: Schema.Number
  }
)
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemInputAudioTranscriptionSegment =
  typeof ConversationItemInputAudioTranscriptionSegment.Type

/**
 * A server error. Not fatal by itself (see `ServerError` in Errors for the fatal codes).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ErrorEvent = event("error", "ErrorEvent", { error: ErrorDetail })
/**
 * @since 0.1.0
 * @category models
 */
export type ErrorEvent = typeof ErrorEvent.Type

// ---------------------------------------------------------------------------------------------
// input audio buffer
// ---------------------------------------------------------------------------------------------

/**
 * The input buffer was cleared.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputAudioBufferCleared = event("input_audio_buffer.cleared", "InputAudioBufferCleared", {})
/**
 * @since 0.1.0
 * @category models
 */
export type InputAudioBufferCleared = typeof InputAudioBufferCleared.Type

/**
 * The input buffer was committed as the user item `item_id`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputAudioBufferCommitted = event("input_audio_buffer.committed", "InputAudioBufferCommitted", {
  previous_item_id: Schema.optional(Schema.NullOr(Schema.String)),
  item_id: Schema.String
})
/**
 * @since 0.1.0
 * @category models
 */
export type InputAudioBufferCommitted = typeof InputAudioBufferCommitted.Type

/**
 * A DTMF key press on a SIP call (this event carries no `event_id`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputAudioBufferDtmfEventReceived = event(
  "input_audio_buffer.dtmf_event_received",
  "InputAudioBufferDtmfEventReceived",
  { event: Schema.String, received_at: Schema.Number }
)
/**
 * @since 0.1.0
 * @category models
 */
export type InputAudioBufferDtmfEventReceived = typeof InputAudioBufferDtmfEventReceived.Type

/**
 * Server VAD detected the start of speech.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputAudioBufferSpeechStarted = event(
  "input_audio_buffer.speech_started",
  "InputAudioBufferSpeechStarted",
  { audio_start_ms: Schema.Number, item_id: Schema.String }
)
/**
 * @since 0.1.0
 * @category models
 */
export type InputAudioBufferSpeechStarted = typeof InputAudioBufferSpeechStarted.Type

/**
 * Server VAD detected the end of speech.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputAudioBufferSpeechStopped = event(
  "input_audio_buffer.speech_stopped",
  "InputAudioBufferSpeechStopped",
  { audio_end_ms: Schema.Number, item_id: Schema.String }
)
/**
 * @since 0.1.0
 * @category models
 */
export type InputAudioBufferSpeechStopped = typeof InputAudioBufferSpeechStopped.Type

/**
 * The idle timeout of server VAD fired (`idle_timeout_ms`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputAudioBufferTimeoutTriggered = event(
  "input_audio_buffer.timeout_triggered",
  "InputAudioBufferTimeoutTriggered",
  { audio_start_ms: Schema.Number, audio_end_ms: Schema.Number, item_id: Schema.String }
)
/**
 * @since 0.1.0
 * @category models
 */
export type InputAudioBufferTimeoutTriggered = typeof InputAudioBufferTimeoutTriggered.Type

// ---------------------------------------------------------------------------------------------
// output audio buffer (WebRTC / SIP), rate limits, MCP
// ---------------------------------------------------------------------------------------------

/**
 * The server started playing a response's audio (WebRTC/SIP).
 *
 * @since 0.1.0
 * @category schemas
 */
export const OutputAudioBufferStarted = event("output_audio_buffer.started", "OutputAudioBufferStarted", {
  response_id: Schema.String
})
/**
 * @since 0.1.0
 * @category models
 */
export type OutputAudioBufferStarted = typeof OutputAudioBufferStarted.Type

/**
 * The server finished playing a response's audio (WebRTC/SIP).
 *
 * @since 0.1.0
 * @category schemas
 */
export const OutputAudioBufferStopped = event("output_audio_buffer.stopped", "OutputAudioBufferStopped", {
  response_id: Schema.String
})
/**
 * @since 0.1.0
 * @category models
 */
export type OutputAudioBufferStopped = typeof OutputAudioBufferStopped.Type

/**
 * The server's output audio buffer was cleared (WebRTC/SIP).
 *
 * @since 0.1.0
 * @category schemas
 */
export const OutputAudioBufferCleared = event("output_audio_buffer.cleared", "OutputAudioBufferCleared", {
  response_id: Schema.String
})
/**
 * @since 0.1.0
 * @category models
 */
export type OutputAudioBufferCleared = typeof OutputAudioBufferCleared.Type

/**
 * One rate limit.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RateLimit = Schema.Struct({
  name: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.Number),
  remaining: Schema.optional(Schema.Number),
  reset_seconds: Schema.optional(Schema.Number)
}).annotations({ identifier: "RateLimit" })

/**
 * The current rate limits, sent at the start of each response.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RateLimitsUpdated = event("rate_limits.updated", "RateLimitsUpdated", {
  rate_limits: Schema.Array(RateLimit)
})
/**
 * @since 0.1.0
 * @category models
 */
export type RateLimitsUpdated = typeof RateLimitsUpdated.Type

const mcpListFields = { item_id: Schema.String }

/**
 * An MCP server's tool list is being fetched.
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpListToolsInProgress = event("mcp_list_tools.in_progress", "McpListToolsInProgress", mcpListFields)
/**
 * @since 0.1.0
 * @category models
 */
export type McpListToolsInProgress = typeof McpListToolsInProgress.Type

/**
 * An MCP server's tool list was fetched.
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpListToolsCompleted = event("mcp_list_tools.completed", "McpListToolsCompleted", mcpListFields)
/**
 * @since 0.1.0
 * @category models
 */
export type McpListToolsCompleted = typeof McpListToolsCompleted.Type

/**
 * Fetching an MCP server's tool list failed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpListToolsFailed = event("mcp_list_tools.failed", "McpListToolsFailed", mcpListFields)
/**
 * @since 0.1.0
 * @category models
 */
export type McpListToolsFailed = typeof McpListToolsFailed.Type

const mcpCallFields = { item_id: Schema.String, output_index: Schema.Number }

/**
 * An MCP tool call started.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseMcpCallInProgress = event("response.mcp_call.in_progress", "ResponseMcpCallInProgress", mcpCallFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseMcpCallInProgress = typeof ResponseMcpCallInProgress.Type

/**
 * An MCP tool call finished.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseMcpCallCompleted = event("response.mcp_call.completed", "ResponseMcpCallCompleted", mcpCallFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseMcpCallCompleted = typeof ResponseMcpCallCompleted.Type

/**
 * An MCP tool call failed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseMcpCallFailed = event("response.mcp_call.failed", "ResponseMcpCallFailed", mcpCallFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseMcpCallFailed = typeof ResponseMcpCallFailed.Type

/**
 * A chunk of an MCP tool call's arguments.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseMcpCallArgumentsDelta = event("response.mcp_call_arguments.delta", "ResponseMcpCallArgumentsDelta", {
  response_id: Schema.String,
  item_id: Schema.String,
  output_index: Schema.Number,
  delta: Schema.String,
  obfuscation: Schema.optional(Schema.NullOr(Schema.String))
})
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseMcpCallArgumentsDelta = typeof ResponseMcpCallArgumentsDelta.Type

/**
 * An MCP tool call's complete arguments.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseMcpCallArgumentsDone = event("response.mcp_call_arguments.done", "ResponseMcpCallArgumentsDone", {
  response_id: Schema.String,
  item_id: Schema.String,
  output_index: Schema.Number,
  arguments: Schema.String
})
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseMcpCallArgumentsDone = typeof ResponseMcpCallArgumentsDone.Type

// ---------------------------------------------------------------------------------------------
// response lifecycle
// ---------------------------------------------------------------------------------------------

/**
 * A response started.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseCreated = event("response.created", "ResponseCreated", { response: Response })
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseCreated = typeof ResponseCreated.Type

/**
 * A response ended (completed, cancelled, incomplete or failed), with its output and usage.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseDone = event("response.done", "ResponseDone", { response: Response })
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseDone = typeof ResponseDone.Type

const outputItemFields = { response_id: Schema.String, output_index: Schema.Number, item: ConversationItem }

/**
 * A response added an output item.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseOutputItemAdded = event("response.output_item.added", "ResponseOutputItemAdded", outputItemFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseOutputItemAdded = typeof ResponseOutputItemAdded.Type

/**
 * A response's output item is complete.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseOutputItemDone = event("response.output_item.done", "ResponseOutputItemDone", outputItemFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseOutputItemDone = typeof ResponseOutputItemDone.Type

const contentPartFields = { ...contentRef, part: ContentPart }

/**
 * A content part was added to an output item.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseContentPartAdded = event("response.content_part.added", "ResponseContentPartAdded", contentPartFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseContentPartAdded = typeof ResponseContentPartAdded.Type

/**
 * A content part is complete.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseContentPartDone = event("response.content_part.done", "ResponseContentPartDone", contentPartFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseContentPartDone = typeof ResponseContentPartDone.Type

const textDeltaFields = {
  ...contentRef,
  delta: Schema.String,
  obfuscation: Schema.optional(Schema.String),
  start_time: Schema.optional(Schema.Number)
}
const textDoneFields = { ...contentRef, text: Schema.String }
const audioDeltaFields = { ...contentRef, delta: Schema.String }
const audioDoneFields = contentRef
const transcriptDeltaFields = textDeltaFields
const transcriptDoneFields = { ...contentRef, transcript: Schema.String }

/**
 * A text delta (GA name).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseOutputTextDelta = event("response.output_text.delta", "ResponseOutputTextDelta", textDeltaFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseOutputTextDelta = typeof ResponseOutputTextDelta.Type

/**
 * `response.text.delta` on the wire (beta, and what xAI sends), decoded as `response.output_text.delta`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BetaResponseTextDelta = betaEvent(
  "response.text.delta",
  "response.output_text.delta",
  "ResponseTextDelta",
  textDeltaFields
)

/**
 * The complete text of a content part (GA name).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseOutputTextDone = event("response.output_text.done", "ResponseOutputTextDone", textDoneFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseOutputTextDone = typeof ResponseOutputTextDone.Type

/**
 * `response.text.done` on the wire, decoded as `response.output_text.done`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BetaResponseTextDone = betaEvent(
  "response.text.done",
  "response.output_text.done",
  "ResponseTextDone",
  textDoneFields
)

/**
 * An audio delta: `delta` is base64 PCM16 (one frame per delta).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseOutputAudioDelta = event("response.output_audio.delta", "ResponseOutputAudioDelta", audioDeltaFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseOutputAudioDelta = typeof ResponseOutputAudioDelta.Type

/**
 * `response.audio.delta` on the wire, decoded as `response.output_audio.delta`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BetaResponseAudioDelta = betaEvent(
  "response.audio.delta",
  "response.output_audio.delta",
  "ResponseAudioDelta",
  audioDeltaFields
)

/**
 * A content part's audio is complete (GA name).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseOutputAudioDone = event("response.output_audio.done", "ResponseOutputAudioDone", audioDoneFields)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseOutputAudioDone = typeof ResponseOutputAudioDone.Type

/**
 * `response.audio.done` on the wire, decoded as `response.output_audio.done`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BetaResponseAudioDone = betaEvent(
  "response.audio.done",
  "response.output_audio.done",
  "ResponseAudioDone",
  audioDoneFields
)

/**
 * A delta of the transcript of the audio being spoken (may carry xAI's `start_time`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseOutputAudioTranscriptDelta = event(
  "response.output_audio_transcript.delta",
  "ResponseOutputAudioTranscriptDelta",
  transcriptDeltaFields
)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseOutputAudioTranscriptDelta = typeof ResponseOutputAudioTranscriptDelta.Type

/**
 * `response.audio_transcript.delta` on the wire, decoded as `response.output_audio_transcript.delta`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BetaResponseAudioTranscriptDelta = betaEvent(
  "response.audio_transcript.delta",
  "response.output_audio_transcript.delta",
  "ResponseAudioTranscriptDelta",
  transcriptDeltaFields
)

/**
 * The complete transcript of a content part's audio (GA name).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseOutputAudioTranscriptDone = event(
  "response.output_audio_transcript.done",
  "ResponseOutputAudioTranscriptDone",
  transcriptDoneFields
)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseOutputAudioTranscriptDone = typeof ResponseOutputAudioTranscriptDone.Type

/**
 * `response.audio_transcript.done` on the wire, decoded as `response.output_audio_transcript.done`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BetaResponseAudioTranscriptDone = betaEvent(
  "response.audio_transcript.done",
  "response.output_audio_transcript.done",
  "ResponseAudioTranscriptDone",
  transcriptDoneFields
)

/**
 * A chunk of a function call's arguments.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseFunctionCallArgumentsDelta = event(
  "response.function_call_arguments.delta",
  "ResponseFunctionCallArgumentsDelta",
  {
    response_id: Schema.String,
    item_id: Schema.String,
    output_index: Schema.Number,
    call_id: Schema.String,
    delta: Schema.String,
    obfuscation: Schema.optional(Schema.String)
  }
)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseFunctionCallArgumentsDelta = typeof ResponseFunctionCallArgumentsDelta.Type

/**
 * The arguments of a function call are complete (`name` is GA-only, hence optional).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseFunctionCallArgumentsDone = event(
  "response.function_call_arguments.done",
  "ResponseFunctionCallArgumentsDone",
  {
    response_id: Schema.String,
    item_id: Schema.String,
    output_index: Schema.Number,
    call_id: Schema.String,
    name: Schema.optional(Schema.String),
    arguments: Schema.String
  }
)
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseFunctionCallArgumentsDone = typeof ResponseFunctionCallArgumentsDone.Type

/**
 * xAI keep-alive (`{"type":"ping","timestamp":…}`); needs no answer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Ping = event("ping", "Ping", { timestamp: Schema.optional(Schema.Number) })
/**
 * @since 0.1.0
 * @category models
 */
export type Ping = typeof Ping.Type

/**
 * Every server event member, GA first (so encoding picks the GA wire name), then the beta wire
 * twins.
 *
 * @since 0.1.0
 * @category schemas
 */
export const serverEventMembers = [
  SessionCreated,
  SessionUpdated,
  TranscriptionSessionCreated,
  TranscriptionSessionUpdated,
  ConversationCreated,
  ConversationItemAdded,
  ConversationItemCreated,
  ConversationItemDone,
  ConversationItemRetrieved,
  ConversationItemDeleted,
  ConversationItemTruncated,
  ConversationItemInputAudioTranscriptionCompleted,
  ConversationItemInputAudioTranscriptionDelta,
  ConversationItemInputAudioTranscriptionUpdated,
  ConversationItemInputAudioTranscriptionFailed,
  ConversationItemInputAudioTranscriptionSegment,
  ErrorEvent,
  InputAudioBufferCleared,
  InputAudioBufferCommitted,
  InputAudioBufferDtmfEventReceived,
  InputAudioBufferSpeechStarted,
  InputAudioBufferSpeechStopped,
  InputAudioBufferTimeoutTriggered,
  OutputAudioBufferStarted,
  OutputAudioBufferStopped,
  OutputAudioBufferCleared,
  RateLimitsUpdated,
  McpListToolsInProgress,
  McpListToolsCompleted,
  McpListToolsFailed,
  ResponseMcpCallInProgress,
  ResponseMcpCallCompleted,
  ResponseMcpCallFailed,
  ResponseMcpCallArgumentsDelta,
  ResponseMcpCallArgumentsDone,
  ResponseCreated,
  ResponseDone,
  ResponseOutputItemAdded,
  ResponseOutputItemDone,
  ResponseContentPartAdded,
  ResponseContentPartDone,
  ResponseOutputTextDelta,
  ResponseOutputTextDone,
  ResponseOutputAudioDelta,
  ResponseOutputAudioDone,
  ResponseOutputAudioTranscriptDelta,
  ResponseOutputAudioTranscriptDone,
  ResponseFunctionCallArgumentsDelta,
  ResponseFunctionCallArgumentsDone,
  Ping,
  BetaResponseTextDelta,
  BetaResponseTextDone,
  BetaResponseAudioDelta,
  BetaResponseAudioDone,
  BetaResponseAudioTranscriptDelta,
  BetaResponseAudioTranscriptDone
] as const

/**
 * Every server event, discriminated by `type` (beta wire names decode to the GA `type`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ServerEvent = Schema.Union(...serverEventMembers).annotations({ identifier: "ServerEvent" })

/**
 * @since 0.1.0
 * @category models
 */
export type ServerEvent = typeof ServerEvent.Type
