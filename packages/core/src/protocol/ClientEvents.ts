/**
 * Client event schemas: the 11 GA client events (beta and xAI use the same names) and the legacy
 * `transcription_session.update`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ConversationItem } from "./Items.js"
import { ResponseCreateParams } from "./Response.js"
import { SessionConfig } from "./Session.js"

const event = <const T extends string, const F extends Schema.Struct.Fields>(type: T, identifier: string, fields: F) =>
  Schema.Struct({ type: Schema.Literal(type), event_id: Schema.optional(Schema.String), ...fields }).annotations({
    identifier
  })

/**
 * Updates the session (only the given fields change).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionUpdate = event("session.update", "SessionUpdate", { session: SessionConfig })
/**
 * @since 0.1.0
 * @category models
 */
export type SessionUpdate = typeof SessionUpdate.Type

/**
 * Legacy beta transcription-only session update.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TranscriptionSessionUpdate = event("transcription_session.update", "TranscriptionSessionUpdate", {
  session: SessionConfig
})
/**
 * @since 0.1.0
 * @category models
 */
export type TranscriptionSessionUpdate = typeof TranscriptionSessionUpdate.Type

/**
 * Appends base64 PCM16 audio to the input buffer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputAudioBufferAppend = event("input_audio_buffer.append", "InputAudioBufferAppend", {
  audio: Schema.String
})
/**
 * @since 0.1.0
 * @category models
 */
export type InputAudioBufferAppend = typeof InputAudioBufferAppend.Type

/**
 * Commits the input buffer as a user audio item.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputAudioBufferCommit = event("input_audio_buffer.commit", "InputAudioBufferCommit", {})
/**
 * @since 0.1.0
 * @category models
 */
export type InputAudioBufferCommit = typeof InputAudioBufferCommit.Type

/**
 * Discards the audio in the input buffer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputAudioBufferClear = event("input_audio_buffer.clear", "InputAudioBufferClear", {})
/**
 * @since 0.1.0
 * @category models
 */
export type InputAudioBufferClear = typeof InputAudioBufferClear.Type

/**
 * Adds an item (xAI also accepts a `force_message` item, spoken without inference).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemCreate = event("conversation.item.create", "ConversationItemCreate", {
  previous_item_id: Schema.optional(Schema.NullOr(Schema.String)),
  item: ConversationItem
})
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemCreate = typeof ConversationItemCreate.Type

/**
 * Deletes an item from the server's conversation.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemDelete = event("conversation.item.delete", "ConversationItemDelete", {
  item_id: Schema.String
})
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemDelete = typeof ConversationItemDelete.Type

/**
 * Truncates an assistant audio item at `audio_end_ms` (servers reject 0).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemTruncate = event("conversation.item.truncate", "ConversationItemTruncate", {
  item_id: Schema.String,
  content_index: Schema.Number,
  audio_end_ms: Schema.Number
})
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemTruncate = typeof ConversationItemTruncate.Type

/**
 * Asks for an item (not supported by xAI).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItemRetrieve = event("conversation.item.retrieve", "ConversationItemRetrieve", {
  item_id: Schema.String
})
/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItemRetrieve = typeof ConversationItemRetrieve.Type

/**
 * Asks for a response.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseCreate = event("response.create", "ResponseCreate", {
  response: Schema.optional(ResponseCreateParams)
})
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseCreate = typeof ResponseCreate.Type

/**
 * Cancels the current (or the named) response.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseCancel = event("response.cancel", "ResponseCancel", {
  response_id: Schema.optional(Schema.String)
})
/**
 * @since 0.1.0
 * @category models
 */
export type ResponseCancel = typeof ResponseCancel.Type

/**
 * Stops WebRTC/SIP playback.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OutputAudioBufferClear = event("output_audio_buffer.clear", "OutputAudioBufferClear", {})
/**
 * @since 0.1.0
 * @category models
 */
export type OutputAudioBufferClear = typeof OutputAudioBufferClear.Type

/**
 * Every client event member.
 *
 * @since 0.1.0
 * @category schemas
 */
export const clientEventMembers = [
  SessionUpdate,
  TranscriptionSessionUpdate,
  InputAudioBufferAppend,
  InputAudioBufferCommit,
  InputAudioBufferClear,
  ConversationItemCreate,
  ConversationItemDelete,
  ConversationItemTruncate,
  ConversationItemRetrieve,
  ResponseCreate,
  ResponseCancel,
  OutputAudioBufferClear
] as const

/**
 * Every client event, discriminated by `type`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ClientEvent = Schema.Union(...clientEventMembers).annotations({ identifier: "ClientEvent" })

/**
 * @since 0.1.0
 * @category models
 */
export type ClientEvent = typeof ClientEvent.Type
