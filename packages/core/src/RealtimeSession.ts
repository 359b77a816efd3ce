/**
 * The realtime session: audio in, a live conversation with the model, generations and events out.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as AudioFrame from "./AudioFrame.js"
import type * as ChatContext from "./ChatContext.js"
import type {
  AuthenticationError,
  ConfigurationError,
  ConnectionError,
  FatalError,
  ProtocolError,
  ResponseFailedError,
  ServerError,
  SessionClosedError,
  SlowConsumerError,
  TimeoutError,
  UnknownCallError
} from "./Errors.js"
import type * as Generation from "./Generation.js"
import * as internal from "./internal/session.js"
import type * as Protocol from "./Protocol.js"
import type { RealtimeModel, UpdatableOptions } from "./RealtimeModel.js"
import type { Resampler } from "./Resampler.js"
import type * as Tool from "./Tool.js"
import type { Transport } from "./Transport.js"

/**
 * A still image sent to the model as a user message (`imageUrl` may be a `data:` URL).
 *
 * @since 0.1.0
 * @category models
 */
export interface VideoFrame {
  readonly imageUrl: string
}

/**
 * Errors reported on the `events` stream. `recoverable: false` means the session has ended.
 *
 * @since 0.1.0
 * @category models
 */
export type SessionErrorEvent = {
  readonly _tag: "Error"
  readonly error:
    | ServerError
    | ResponseFailedError
    | ProtocolError
    | ConnectionError
    | AuthenticationError
    | TimeoutError
    | SessionClosedError
  readonly recoverable: boolean
}

/**
 * What the session reports besides generations.
 *
 * @since 0.1.0
 * @category models
 */
export type SessionEvent =
  | { readonly _tag: "Connected"; readonly connection: number }
  /** The connection ended: `error` says why (undefined for a planned recycle); a fatal error ends the session next. */
  | { readonly _tag: "Disconnected"; readonly error: FatalError | undefined }
  | { readonly _tag: "Reconnected"; readonly connection: number }
  | { readonly _tag: "SpeechStarted"; readonly itemId: string | undefined; readonly audioStartMs: number | undefined }
  | {
    readonly _tag: "SpeechStopped"
    readonly itemId: string | undefined
    readonly audioEndMs: number | undefined
    readonly userTranscriptionEnabled: boolean
  }
  | { readonly _tag: "InputTranscription"; readonly itemId: string; readonly transcript: string; readonly isFinal: boolean }
  | { readonly _tag: "GenerationCreated"; readonly responseId: string; readonly userInitiated: boolean }
  | { readonly _tag: "FunctionCallExecuted"; readonly call: Generation.FunctionCall; readonly output: string }
  | { readonly _tag: "Metrics"; readonly metrics: Generation.GenerationMetrics }
  | { readonly _tag: "Warning"; readonly message: string }
  | SessionErrorEvent
  | { readonly _tag: "ServerEvent"; readonly event: Protocol.DecodedServerEvent }
  | { readonly _tag: "ClientEvent"; readonly event: Protocol.ClientEvent }
  /** The last event: the session has ended (`reason` is `SessionClosedError` after a normal close). */
  | { readonly _tag: "Closed"; readonly reason: FatalError }

/**
 * Options of `truncate`: cut the assistant's message at what the user actually heard.
 *
 * @since 0.1.0
 * @category models
 */
export interface TruncateOptions {
  readonly messageId: string
  readonly modalities: Generation.Modalities
  readonly audioEndMs: number
  readonly transcript?: string | undefined
}

/**
 * The result of `updateTools`: the tools now in force, and the ones that could not be expressed.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolUpdate {
  readonly tools: ReadonlyArray<Tool.Tool>
  readonly rejected: ReadonlyArray<{ readonly name: string; readonly reason: string }>
}

/**
 * A live session. Every method fails with the session's fatal error once it has ended.
 *
 * @example
 * ```ts
 * // pushAudio: audio of any rate and channel count, resampled to 24 kHz mono and sent in 100 ms
 * // chunks; with manual turns (`turnDetection: null`), commit it and ask for a reply.
 * import * as AudioFrame from "@realtime-fx/core/AudioFrame"
 * import * as RealtimeSession from "@realtime-fx/core/RealtimeSession"
 * import * as Effect from "effect/Effect"
 *
 * const speak = (session: RealtimeSession.RealtimeSessionService, pcm: Int16Array) =>
 *   Effect.gen(function*() {
 *     const frame = yield* AudioFrame.make(pcm, 16000, 1)
 *     yield* session.pushAudio(frame)
 *     yield* session.commitAudio
 *   })
 * ```
 *
 * @example
 * ```ts
 * // generateReply: the generation lives in the caller's Scope; closing the Scope before the
 * // response is done cancels it (`response.cancel`).
 * import * as RealtimeSession from "@realtime-fx/core/RealtimeSession"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * const firstAudioChunk = (session: RealtimeSession.RealtimeSessionService) =>
 *   Effect.scoped(
 *     Effect.gen(function*() {
 *       const generation = yield* session.generateReply({ instructions: "Tell a long story." })
 *       return yield* generation.messages.pipe(Stream.flatMap((message) => message.audio), Stream.runHead)
 *     })
 *   )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RealtimeSessionService {
  /**
   * Resamples to 24 kHz mono, cuts 100 ms chunks and sends them (`input_audio_buffer.append`). A frame
   * that cannot be audio (rate, channel count or length) fails with `AudioFrameError`. A push is
   * all or nothing: interrupted before it took the audio input, it sends nothing of the frame; once
   * it took it, the frame's audio is queued whole and only the wait for room on the connection is
   * interrupted (a push with a new rate makes its converter in that uninterruptible step: a custom
   * `Resampler` whose `make` is slow holds the caller that long). `commitAudio` and `clearAudio` are
   * all or nothing in the same way. Example: see `RealtimeSessionService`.
   */
  readonly pushAudio: (frame: AudioFrame.AudioFrame) => Effect.Effect<void, FatalError | AudioFrame.AudioFrameError>
  /** Sends an image as a user message. */
  readonly pushVideo: (frame: VideoFrame) => Effect.Effect<void, FatalError>
  /** Sends what is buffered, then commits when more than 100 ms was pushed since the last commit or clear. */
  readonly commitAudio: Effect.Effect<void, FatalError>
  /** Drops buffered input audio here and on the server. */
  readonly clearAudio: Effect.Effect<void, FatalError>
  /**
   * Asks for a reply. The generation lives in the caller's Scope: closing it before the response is
   * done cancels the response. While another response is active the request waits its turn; the
   * whole wait (queue + server) is bounded by the reply timeout (5 s). Example: see
   * `RealtimeSessionService`.
   */
  readonly generateReply: (options?: {
    readonly instructions?: string | undefined
  }) => Effect.Effect<Generation.Generation, FatalError | TimeoutError, Scope.Scope>
  /** Cancels the response in progress, if any. */
  readonly interrupt: Effect.Effect<void, FatalError>
  /** Truncates (or deletes, at 0 ms) an assistant message at what was heard. */
  readonly truncate: (options: TruncateOptions) => Effect.Effect<void, FatalError | TimeoutError>
  /** xAI: speaks a fixed line with no inference (a `force_message` item). */
  readonly say: (text: string) => Effect.Effect<void, FatalError>
  /** Replaces the instructions (kept and replayed on reconnect). */
  readonly updateInstructions: (instructions: string) => Effect.Effect<void, FatalError>
  /** Syncs the server's conversation to `ctx` with the minimal deletes and creates, each acknowledged within 5 s. */
  readonly updateChatContext: (ctx: ChatContext.ChatContext) => Effect.Effect<void, FatalError | TimeoutError>
  /** Replaces the tool set with the tools that can be expressed; reports the rest. */
  readonly updateTools: (tools: ReadonlyArray<Tool.Tool>) => Effect.Effect<ToolUpdate, FatalError>
  /**
   * Sends only the given options in a `session.update` (kept for replay), validated and normalised as
   * the provider's layer does. Options that cannot change mid-session (the model, credentials, URL,
   * connection options) fail with `ConfigurationError` and send nothing.
   */
  readonly updateOptions: (options: UpdatableOptions) => Effect.Effect<void, FatalError | ConfigurationError>
  /**
   * Manual tool execution (`toolExecution: "manual"`): answers a function call of a finished response
   * with a `function_call_output`. Nothing else is sent: call `generateReply` for the model to go on.
   * A call id the session is not waiting for fails with `UnknownCallError`.
   */
  readonly sendToolOutput: (callId: string, output: string) => Effect.Effect<void, FatalError | UnknownCallError>
  /** The mirror of the server's conversation. */
  readonly chatContext: Effect.Effect<ChatContext.ChatContext>
  /** The tools in force. */
  readonly tools: Effect.Effect<ReadonlyArray<Tool.Tool>>
  /**
   * Sends a raw client event (escape hatch). An event that cannot be encoded fails with
   * `ProtocolError` and nothing is sent; later events still go out.
   */
  readonly sendEvent: (event: Protocol.ClientEvent) => Effect.Effect<void, FatalError | ProtocolError>
  /**
   * Session events from the moment the stream is run. After the `Closed` event it ends, or fails
   * with the error that ended the session when that was not a normal close (401, retries exhausted,
   * a fatal server error, a fault).
   */
  readonly events: Stream.Stream<SessionEvent, FatalError | SlowConsumerError>
  /**
   * Every generation (server- and user-initiated) from the moment the stream is run; ends when the
   * session is closed, fails with the error that ended it otherwise.
   */
  readonly generations: Stream.Stream<Generation.Generation, FatalError | SlowConsumerError>
  /** Subscribes now (nothing after this call is missed) and gives the events as a stream (see `events`). */
  readonly subscribeEvents: Effect.Effect<Stream.Stream<SessionEvent, FatalError | SlowConsumerError>, never, Scope.Scope>
  /** Subscribes now (nothing after this call is missed) and gives the generations as a stream (see `generations`). */
  readonly subscribeGenerations: Effect.Effect<Stream.Stream<Generation.Generation, FatalError | SlowConsumerError>, never, Scope.Scope>
  /** Completes when the session has ended, failing with the error that ended it. */
  readonly awaitClosed: Effect.Effect<never, FatalError>
}

/**
 * Session tuning.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionOptions {
  /** How long `generateReply` waits for its `response.created` (default 5 s). */
  readonly replyTimeout?: Duration.DurationInput | undefined
  /** How long a chat-context change waits for each acknowledgement (default 5 s). */
  readonly ackTimeout?: Duration.DurationInput | undefined
  /** How long a tool handler may run before its output becomes a timeout message (default 30 s). */
  readonly toolTimeout?: Duration.DurationInput | undefined
  /** Also publish every raw server and client event on `events` (default false). */
  readonly debugEvents?: boolean | undefined
  /**
   * Who answers the model's function calls: `"auto"` (default), the session runs the tools and asks
   * for a reply; `"manual"`, calls come out on each generation's `functionCalls` stream and the app
   * answers with `sendToolOutput`.
   */
  readonly toolExecution?: "auto" | "manual" | undefined
  /**
   * What `pushAudio` does when the connection cannot keep up (its write backlog is over the
   * high-water mark, e.g. a peer that stops reading): `"wait"` (default) holds the caller until the
   * backlog drains; `"dropOldest"` never holds it: up to 2 s of audio waits in the session and the
   * oldest appends beyond that are dropped, with a `Warning` event (at most one a second) saying how
   * many milliseconds were dropped. `sendEvent` always waits.
   *
   * @since 0.2.0
   */
  readonly audioBackpressure?: "wait" | "dropOldest" | undefined
  /**
   * How many items each output stream may hold unread: a message's `audio` and `text`, a
   * generation's `messages` and `functionCalls`, and each `events`/`generations` subscription. By
   * default they are unbounded: a reply's audio that is never read is held until the generation
   * is released (about 47 KB a second of reply, as 100 ms frames of 24 kHz PCM). With a limit, a
   * stream that would exceed it fails with `SlowConsumerError`; the session, its other streams and
   * other sessions are not affected, and the dispatcher never waits.
   *
   * @since 0.2.0
   */
  readonly outputBuffer?: number | undefined
  /**
   * The write backlog (bytes queued in the session plus the socket's buffer) above which senders
   * wait, and where they resume (defaults 1 MiB and 256 KiB). A write that cannot drain within the
   * connection timeout (`connOptions.timeout`) ends the connection as lost (it reconnects).
   *
   * @since 0.2.0
   */
  readonly writeBuffer?: { readonly highWaterMark?: number | undefined; readonly lowWaterMark?: number | undefined } | undefined
  /**
   * Liveness: the connection is pinged when quiet and counts as lost (the reconnect rules apply, the
   * response in flight fails with `ConnectionError`) after `activeTimeout` (default 15 s) with no
   * server event while a response is active (pongs do not count then: the server stalled), or after
   * `idleTimeout` (default 60 s) with no traffic at all (no event, no pong: a half-open connection)
   * otherwise. `false` turns the check off.
   *
   * @since 0.2.0
   */
  readonly liveness?:
    | {
      readonly activeTimeout?: Duration.DurationInput | undefined
      readonly idleTimeout?: Duration.DurationInput | undefined
    }
    | false
    | undefined
}

/**
 * The session service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class RealtimeSession extends Context.Tag("@realtime-fx/core/RealtimeSession")<
  RealtimeSession,
  RealtimeSessionService
>() {}

/**
 * Opens a session in the current Scope; closing the Scope closes the connection, every fiber,
 * every stream and every pending request.
 *
 * It returns at once and connects in the background (it does not wait for the first connection):
 * what is sent meanwhile waits in the Outbox and goes out once the connection is open, so audio can
 * flow from the first moment. If the connection cannot be made (a refused key, retries exhausted),
 * the session ends with that error: every method, `awaitClosed`, `events`, `generations` and every
 * generation stream fail with it.
 *
 * @example
 * ```ts
 * import * as RealtimeSession from "@realtime-fx/core/RealtimeSession"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * // Asks for a reply and collects its text. The program requires a RealtimeModel (`Xai.layer`,
 * // `OpenAI.layer`), a Transport (`NodeTransport.layer`, or `MockTransport.layer` in tests) and a
 * // Resampler.
 * const program = Effect.gen(function*() {
 *   const session = yield* RealtimeSession.make({ replyTimeout: "10 seconds", toolTimeout: "20 seconds" })
 *   const reply = yield* session.generateReply({ instructions: "Say hello." })
 *   return yield* reply.messages.pipe(
 *     Stream.flatMap((message) => message.text),
 *     Stream.runFold("", (text, delta) => text + delta.text)
 *   )
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: SessionOptions
) => Effect.Effect<RealtimeSessionService, never, RealtimeModel | Transport | Resampler | Scope.Scope> = internal.make

/**
 * The session as a Layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: SessionOptions
): Layer.Layer<RealtimeSession, never, RealtimeModel | Transport | Resampler> =>
  Layer.scoped(RealtimeSession, internal.make(options))
