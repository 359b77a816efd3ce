/**
 * Conversation item schemas: messages and their content parts, function calls and outputs, xAI's
 * `force_message`, item references; other item kinds are kept as opaque records.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** Record keys: any string but `__proto__`, which a plain-object decode could not keep as a key. */
const RecordKey = Schema.String.pipe(Schema.filter((key) => key !== "__proto__"))

/**
 * User text.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputTextPart = Schema.Struct({
  type: Schema.Literal("input_text"),
  text: Schema.String
}).annotations({ identifier: "InputTextPart" })

/**
 * User audio (base64 `audio` when sent, `transcript` once transcribed).
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputAudioPart = Schema.Struct({
  type: Schema.Literal("input_audio"),
  audio: Schema.optional(Schema.NullOr(Schema.String)),
  transcript: Schema.optional(Schema.NullOr(Schema.String)),
  format: Schema.optional(Schema.String)
}).annotations({ identifier: "InputAudioPart" })

/**
 * User image, as a URL or data URL.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputImagePart = Schema.Struct({
  type: Schema.Literal("input_image"),
  image_url: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String)
}).annotations({ identifier: "InputImagePart" })

/**
 * Assistant text (GA; also xAI `force_message` content).
 *
 * @since 0.1.0
 * @category schemas
 */
export const OutputTextPart = Schema.Struct({
  type: Schema.Literal("output_text"),
  text: Schema.String
}).annotations({ identifier: "OutputTextPart" })

/**
 * Assistant audio (GA); usually carries only its `transcript`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OutputAudioPart = Schema.Struct({
  type: Schema.Literal("output_audio"),
  audio: Schema.optional(Schema.NullOr(Schema.String)),
  transcript: Schema.optional(Schema.NullOr(Schema.String)),
  format: Schema.optional(Schema.String)
}).annotations({ identifier: "OutputAudioPart" })

/**
 * Beta text part (`{type:"text"}`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TextPart = Schema.Struct({
  type: Schema.Literal("text"),
  text: Schema.String
}).annotations({ identifier: "TextPart" })

/**
 * Beta audio part (`{type:"audio"}`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AudioPart = Schema.Struct({
  type: Schema.Literal("audio"),
  audio: Schema.optional(Schema.NullOr(Schema.String)),
  transcript: Schema.optional(Schema.NullOr(Schema.String)),
  format: Schema.optional(Schema.String)
}).annotations({ identifier: "AudioPart" })

/**
 * The content part kinds this library models.
 *
 * @since 0.1.0
 * @category constants
 */
export const knownContentPartTypes: ReadonlySet<string> = new Set([
  "input_text",
  "input_audio",
  "input_image",
  "output_text",
  "output_audio",
  "text",
  "audio"
])

/**
 * A content part of another kind, kept as it came (its `type` is none of the modelled ones).
 *
 * @since 0.1.0
 * @category schemas
 */
export const OtherContentPart = Schema.Struct(
  { type: Schema.String },
  Schema.Record({ key: RecordKey, value: Schema.Unknown })
).pipe(
  Schema.filter((p) => !knownContentPartTypes.has(p.type), { message: () => "a modelled content part type" })
).annotations({ identifier: "OtherContentPart" })

/**
 * Any message content part.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContentPart = Schema.Union(
  InputTextPart,
  InputAudioPart,
  InputImagePart,
  OutputTextPart,
  OutputAudioPart,
  TextPart,
  AudioPart,
  OtherContentPart
).annotations({ identifier: "ContentPart" })

/**
 * @since 0.1.0
 * @category models
 */
export type ContentPart = typeof ContentPart.Type

/**
 * Item status as servers report it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ItemStatus = Schema.Literal("completed", "incomplete", "in_progress")

const itemCommon = {
  id: Schema.optional(Schema.String),
  object: Schema.optional(Schema.String),
  status: Schema.optional(ItemStatus)
}

/**
 * A message from the user, the assistant or the system.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MessageItem = Schema.Struct({
  type: Schema.Literal("message"),
  ...itemCommon,
  role: Schema.Literal("user", "assistant", "system"),
  content: Schema.Array(ContentPart)
}).annotations({ identifier: "MessageItem" })

/**
 * @since 0.1.0
 * @category models
 */
export type MessageItem = typeof MessageItem.Type

/**
 * A function call made by the model (`arguments` is JSON text).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FunctionCallItem = Schema.Struct({
  type: Schema.Literal("function_call"),
  ...itemCommon,
  call_id: Schema.String,
  name: Schema.String,
  arguments: Schema.String
}).annotations({ identifier: "FunctionCallItem" })

/**
 * @since 0.1.0
 * @category models
 */
export type FunctionCallItem = typeof FunctionCallItem.Type

/**
 * The output of a function call, sent by the client.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FunctionCallOutputItem = Schema.Struct({
  type: Schema.Literal("function_call_output"),
  ...itemCommon,
  call_id: Schema.String,
  output: Schema.String
}).annotations({ identifier: "FunctionCallOutputItem" })

/**
 * @since 0.1.0
 * @category models
 */
export type FunctionCallOutputItem = typeof FunctionCallOutputItem.Type

/**
 * xAI: a fixed assistant line spoken without inference (`conversation.item.create` only).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ForceMessageItem = Schema.Struct({
  type: Schema.Literal("force_message"),
  id: Schema.optional(Schema.String),
  role: Schema.Literal("assistant"),
  content: Schema.Array(ContentPart)
}).annotations({ identifier: "ForceMessageItem" })

/**
 * @since 0.1.0
 * @category models
 */
export type ForceMessageItem = typeof ForceMessageItem.Type

/**
 * A reference to an existing item (GA `response.create` input).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ItemReference = Schema.Struct({
  type: Schema.Literal("item_reference"),
  id: Schema.String
}).annotations({ identifier: "ItemReference" })

/**
 * @since 0.1.0
 * @category models
 */
export type ItemReference = typeof ItemReference.Type

/**
 * The item kinds this library models.
 *
 * @since 0.1.0
 * @category constants
 */
export const knownItemTypes: ReadonlySet<string> = new Set([
  "message",
  "function_call",
  "function_call_output",
  "force_message",
  "item_reference"
])

/**
 * Any other item (MCP calls, approvals, ... or an item without `type`), kept as an opaque record.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OtherItem = Schema.Struct(
  { type: Schema.optional(Schema.String) },
  Schema.Record({ key: RecordKey, value: Schema.Unknown })
).pipe(
  Schema.filter((i) => i.type === undefined || !knownItemTypes.has(i.type), {
    message: () => "a modelled item type"
  })
).annotations({ identifier: "OtherItem" })

/**
 * @since 0.1.0
 * @category models
 */
export type OtherItem = typeof OtherItem.Type

/**
 * A conversation item, as carried by `conversation.item.*`, `response.output_item.*` and
 * `response.output`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversationItem = Schema.Union(
  MessageItem,
  FunctionCallItem,
  FunctionCallOutputItem,
  ForceMessageItem,
  ItemReference,
  OtherItem
).annotations({ identifier: "ConversationItem" })

/**
 * @since 0.1.0
 * @category models
 */
export type ConversationItem = typeof ConversationItem.Type

/**
 * True for a `message` item.
 *
 * @since 0.1.0
 * @category guards
 */
export const isMessageItem = (item: ConversationItem): item is MessageItem => item.type === "message"

/**
 * True for a `function_call` item.
 *
 * @since 0.1.0
 * @category guards
 */
export const isFunctionCallItem = (item: ConversationItem): item is FunctionCallItem => item.type === "function_call"

/**
 * True for a `function_call_output` item.
 *
 * @since 0.1.0
 * @category guards
 */
export const isFunctionCallOutputItem = (item: ConversationItem): item is FunctionCallOutputItem =>
  item.type === "function_call_output"
