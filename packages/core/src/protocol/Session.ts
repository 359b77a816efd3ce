/**
 * Session configuration schemas: the `session` object of `session.update` / `session.created` /
 * `session.updated` in its GA, beta and xAI shapes (one Struct, every field optional).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** Record keys: any string but `__proto__`, which a plain-object decode could not keep as a key. */
const RecordKey = Schema.String.pipe(Schema.filter((key) => key !== "__proto__"))

/**
 * Raw PCM16 little-endian audio, with an optional sample rate (xAI: 8000 to 48000 Hz; OpenAI: 24000).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AudioFormatPcm = Schema.Struct({
  type: Schema.Literal("audio/pcm"),
  rate: Schema.optional(Schema.Number)
}).annotations({ identifier: "AudioFormatPcm" })

/**
 * G.711 µ-law audio (8 kHz).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AudioFormatPcmu = Schema.Struct({
  type: Schema.Literal("audio/pcmu")
}).annotations({ identifier: "AudioFormatPcmu" })

/**
 * G.711 A-law audio (8 kHz).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AudioFormatPcma = Schema.Struct({
  type: Schema.Literal("audio/pcma")
}).annotations({ identifier: "AudioFormatPcma" })

/**
 * Any other audio format a server may announce (kept open so a new format never fails a decode).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AudioFormatOther = Schema.Struct({
  type: Schema.String,
  rate: Schema.optional(Schema.Number)
}).annotations({ identifier: "AudioFormatOther" })

/**
 * A GA / xAI audio format object: `{type:"audio/pcm", rate?}`, `{type:"audio/pcmu"}`,
 * `{type:"audio/pcma"}`, or another `type` string.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AudioFormat = Schema.Union(AudioFormatPcm, AudioFormatPcmu, AudioFormatPcma, AudioFormatOther)
  .annotations({ identifier: "AudioFormat" })

/**
 * @since 0.1.0
 * @category models
 */
export type AudioFormat = typeof AudioFormat.Type

/**
 * A beta audio format: a string (`"pcm16"`, `"g711_ulaw"`, `"g711_alaw"`) or a format object.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BetaAudioFormat = Schema.Union(Schema.String, AudioFormat).annotations({ identifier: "BetaAudioFormat" })

/**
 * @since 0.1.0
 * @category models
 */
export type BetaAudioFormat = typeof BetaAudioFormat.Type

/**
 * Server-side voice activity detection. `idle_timeout_ms` is xAI / GA (null when off).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ServerVad = Schema.Struct({
  type: Schema.Literal("server_vad"),
  threshold: Schema.optional(Schema.Number),
  prefix_padding_ms: Schema.optional(Schema.Number),
  silence_duration_ms: Schema.optional(Schema.Number),
  create_response: Schema.optional(Schema.Boolean),
  interrupt_response: Schema.optional(Schema.Boolean),
  idle_timeout_ms: Schema.optional(Schema.NullOr(Schema.Number))
}).annotations({ identifier: "ServerVad" })

/**
 * @since 0.1.0
 * @category models
 */
export type ServerVad = typeof ServerVad.Type

/**
 * Semantic voice activity detection (OpenAI only; xAI has none).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SemanticVad = Schema.Struct({
  type: Schema.Literal("semantic_vad"),
  eagerness: Schema.optional(Schema.Literal("low", "medium", "high", "auto")),
  create_response: Schema.optional(Schema.Boolean),
  interrupt_response: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "SemanticVad" })

/**
 * @since 0.1.0
 * @category models
 */
export type SemanticVad = typeof SemanticVad.Type

/**
 * Turn detection settings. In a session, `null` means manual turns.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TurnDetection = Schema.Union(ServerVad, SemanticVad).annotations({ identifier: "TurnDetection" })

/**
 * @since 0.1.0
 * @category models
 */
export type TurnDetection = typeof TurnDetection.Type

/**
 * Input audio transcription settings (OpenAI `model`/`language`/`prompt`; xAI `language_hint`,
 * `keyterms`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputAudioTranscription = Schema.Struct({
  model: Schema.optional(Schema.String),
  language: Schema.optional(Schema.String),
  prompt: Schema.optional(Schema.String),
  language_hint: Schema.optional(Schema.String),
  keyterms: Schema.optional(Schema.Array(Schema.String))
}).annotations({ identifier: "InputAudioTranscription" })

/**
 * @since 0.1.0
 * @category models
 */
export type InputAudioTranscription = typeof InputAudioTranscription.Type

/**
 * Input noise reduction.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NoiseReduction = Schema.Struct({
  type: Schema.Literal("near_field", "far_field")
}).annotations({ identifier: "NoiseReduction" })

/**
 * @since 0.1.0
 * @category models
 */
export type NoiseReduction = typeof NoiseReduction.Type

/**
 * A function tool in the flat realtime shape; `parameters` is a JSON Schema object.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FunctionToolDefinition = Schema.Struct({
  type: Schema.Literal("function"),
  name: Schema.String,
  description: Schema.optional(Schema.String),
  parameters: Schema.optional(Schema.Unknown)
}).annotations({ identifier: "FunctionToolDefinition" })

/**
 * @since 0.1.0
 * @category models
 */
export type FunctionToolDefinition = typeof FunctionToolDefinition.Type

/**
 * xAI built-in web search tool.
 *
 * @since 0.1.0
 * @category schemas
 */
export const WebSearchToolDefinition = Schema.Struct({
  type: Schema.Literal("web_search")
}).annotations({ identifier: "WebSearchToolDefinition" })

/**
 * @since 0.1.0
 * @category models
 */
export type WebSearchToolDefinition = typeof WebSearchToolDefinition.Type

/**
 * xAI built-in X (Twitter) search tool.
 *
 * @since 0.1.0
 * @category schemas
 */
export const XSearchToolDefinition = Schema.Struct({
  type: Schema.Literal("x_search"),
  allowed_x_handles: Schema.optional(Schema.Array(Schema.String)),
  excluded_x_handles: Schema.optional(Schema.Array(Schema.String)),
  from_date: Schema.optional(Schema.String),
  to_date: Schema.optional(Schema.String)
}).annotations({ identifier: "XSearchToolDefinition" })

/**
 * @since 0.1.0
 * @category models
 */
export type XSearchToolDefinition = typeof XSearchToolDefinition.Type

/**
 * xAI built-in file search tool over vector stores.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FileSearchToolDefinition = Schema.Struct({
  type: Schema.Literal("file_search"),
  vector_store_ids: Schema.Array(Schema.String),
  max_num_results: Schema.optional(Schema.Number)
}).annotations({ identifier: "FileSearchToolDefinition" })

/**
 * @since 0.1.0
 * @category models
 */
export type FileSearchToolDefinition = typeof FileSearchToolDefinition.Type

/**
 * Remote MCP server tool (xAI and OpenAI GA). OpenAI may give a `connector_id` instead of
 * `server_url`, so both are optional.
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpToolDefinition = Schema.Struct({
  type: Schema.Literal("mcp"),
  server_label: Schema.String,
  server_url: Schema.optional(Schema.String),
  connector_id: Schema.optional(Schema.String),
  server_description: Schema.optional(Schema.String),
  allowed_tools: Schema.optional(
    Schema.NullOr(Schema.Union(Schema.Array(Schema.String), Schema.Record({ key: RecordKey, value: Schema.Unknown })))
  ),
  authorization: Schema.optional(Schema.String),
  headers: Schema.optional(Schema.NullOr(Schema.Record({ key: RecordKey, value: Schema.String }))),
  require_approval: Schema.optional(
    Schema.NullOr(
      Schema.Union(Schema.Literal("always", "never"), Schema.Record({ key: RecordKey, value: Schema.Unknown }))
    )
  )
}).annotations({ identifier: "McpToolDefinition" })

/**
 * @since 0.1.0
 * @category models
 */
export type McpToolDefinition = typeof McpToolDefinition.Type

/**
 * Any tool a session can carry: a function tool or one of the built-in server tools.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolDefinition = Schema.Union(
  FunctionToolDefinition,
  WebSearchToolDefinition,
  XSearchToolDefinition,
  FileSearchToolDefinition,
  McpToolDefinition
).annotations({ identifier: "ToolDefinition" })

/**
 * @since 0.1.0
 * @category models
 */
export type ToolDefinition = typeof ToolDefinition.Type

/**
 * Forces a named function tool.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolChoiceFunction = Schema.Struct({
  type: Schema.Literal("function"),
  name: Schema.String
}).annotations({ identifier: "ToolChoiceFunction" })

/**
 * Forces a tool of an MCP server.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolChoiceMcp = Schema.Struct({
  type: Schema.Literal("mcp"),
  server_label: Schema.String,
  name: Schema.optional(Schema.NullOr(Schema.String))
}).annotations({ identifier: "ToolChoiceMcp" })

/**
 * How the model picks tools: `"auto"`, `"none"`, `"required"`, or a forced function / MCP tool.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolChoice = Schema.Union(
  Schema.Literal("auto", "none", "required"),
  ToolChoiceFunction,
  ToolChoiceMcp
).annotations({ identifier: "ToolChoice" })

/**
 * @since 0.1.0
 * @category models
 */
export type ToolChoice = typeof ToolChoice.Type

/**
 * Tracing configuration object (OpenAI).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TracingConfiguration = Schema.Struct({
  workflow_name: Schema.optional(Schema.String),
  group_id: Schema.optional(Schema.String),
  metadata: Schema.optional(Schema.Unknown)
}).annotations({ identifier: "TracingConfiguration" })

/**
 * Tracing: `"auto"`, a configuration, or `null` (off).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Tracing = Schema.NullOr(Schema.Union(Schema.Literal("auto"), TracingConfiguration))
  .annotations({ identifier: "Tracing" })

/**
 * @since 0.1.0
 * @category models
 */
export type Tracing = typeof Tracing.Type

/**
 * A token limit: a number or `"inf"`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MaxOutputTokens = Schema.Union(Schema.Number, Schema.Literal("inf")).annotations({
  identifier: "MaxOutputTokens"
})

/**
 * @since 0.1.0
 * @category models
 */
export type MaxOutputTokens = typeof MaxOutputTokens.Type

/**
 * A modality of output.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Modality = Schema.Literal("text", "audio")

/**
 * @since 0.1.0
 * @category models
 */
export type Modality = typeof Modality.Type

/**
 * Conversation truncation (GA): `"auto"`, `"disabled"` or a retention-ratio strategy.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Truncation = Schema.Union(
  Schema.Literal("auto", "disabled"),
  Schema.Struct({
    type: Schema.Literal("retention_ratio"),
    retention_ratio: Schema.Number,
    token_limits: Schema.optional(Schema.Struct({ post_instructions: Schema.optional(Schema.Number) }))
  })
).annotations({ identifier: "Truncation" })

/**
 * @since 0.1.0
 * @category models
 */
export type Truncation = typeof Truncation.Type

/**
 * A reusable prompt reference (GA).
 *
 * @since 0.1.0
 * @category schemas
 */
export const PromptReference = Schema.Struct({
  id: Schema.String,
  version: Schema.optional(Schema.NullOr(Schema.String)),
  variables: Schema.optional(Schema.NullOr(Schema.Record({ key: RecordKey, value: Schema.Unknown })))
}).annotations({ identifier: "PromptReference" })

/**
 * GA nested input audio settings (`session.audio.input`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AudioInputConfig = Schema.Struct({
  format: Schema.optional(AudioFormat),
  transcription: Schema.optional(Schema.NullOr(InputAudioTranscription)),
  noise_reduction: Schema.optional(Schema.NullOr(NoiseReduction)),
  turn_detection: Schema.optional(Schema.NullOr(TurnDetection))
}).annotations({ identifier: "AudioInputConfig" })

/**
 * GA nested output audio settings (`session.audio.output`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AudioOutputConfig = Schema.Struct({
  format: Schema.optional(AudioFormat),
  voice: Schema.optional(Schema.String),
  speed: Schema.optional(Schema.Number)
}).annotations({ identifier: "AudioOutputConfig" })

/**
 * GA nested audio settings (`session.audio`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AudioConfig = Schema.Struct({
  input: Schema.optional(AudioInputConfig),
  output: Schema.optional(AudioOutputConfig)
}).annotations({ identifier: "AudioConfig" })

/**
 * xAI reasoning settings.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Reasoning = Schema.Struct({
  effort: Schema.optional(Schema.String)
}).annotations({ identifier: "Reasoning" })

/**
 * xAI conversation resumption settings.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Resumption = Schema.Struct({
  enabled: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "Resumption" })

/**
 * The `session` object, in every shape the family speaks: GA (nested `audio`), beta (top-level
 * formats, `modalities`, `temperature`, ...) and xAI (top-level `voice` and `turn_detection`,
 * `reasoning`, `resumption`, `replace`). Every field is optional; `null` where the protocol allows
 * it (`turn_detection: null` = manual turns). `id`, `object`, `expires_at` come from the server.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionConfig = Schema.Struct({
  // server-assigned
  id: Schema.optional(Schema.String),
  object: Schema.optional(Schema.String),
  expires_at: Schema.optional(Schema.NullOr(Schema.Number)),
  // GA
  type: Schema.optional(Schema.Literal("realtime", "transcription")),
  model: Schema.optional(Schema.String),
  output_modalities: Schema.optional(Schema.Array(Modality)),
  instructions: Schema.optional(Schema.String),
  audio: Schema.optional(AudioConfig),
  include: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  tool_choice: Schema.optional(ToolChoice),
  tools: Schema.optional(Schema.Array(ToolDefinition)),
  tracing: Schema.optional(Tracing),
  max_output_tokens: Schema.optional(MaxOutputTokens),
  truncation: Schema.optional(Truncation),
  prompt: Schema.optional(Schema.NullOr(PromptReference)),
  // beta (voice and turn_detection are also xAI's top-level fields)
  modalities: Schema.optional(Schema.Array(Modality)),
  voice: Schema.optional(Schema.String),
  input_audio_format: Schema.optional(BetaAudioFormat),
  output_audio_format: Schema.optional(BetaAudioFormat),
  input_audio_transcription: Schema.optional(Schema.NullOr(InputAudioTranscription)),
  turn_detection: Schema.optional(Schema.NullOr(TurnDetection)),
  input_audio_noise_reduction: Schema.optional(Schema.NullOr(NoiseReduction)),
  temperature: Schema.optional(Schema.Number),
  speed: Schema.optional(Schema.Number),
  max_response_output_tokens: Schema.optional(MaxOutputTokens),
  // xAI
  reasoning: Schema.optional(Reasoning),
  resumption: Schema.optional(Resumption),
  replace: Schema.optional(Schema.Record({ key: RecordKey, value: Schema.String })),
  conversation_id: Schema.optional(Schema.String)
}).annotations({ identifier: "SessionConfig" })

/**
 * @since 0.1.0
 * @category models
 */
export type SessionConfig = typeof SessionConfig.Type
