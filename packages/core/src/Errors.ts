/**
 * The tagged errors of realtime-fx: every way a connection, a request or a session can fail.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A connection could not be opened or was lost. `retryable` tells the supervisor whether another
 * attempt may help; `code` and `reason` are the WebSocket close code and reason when there was one;
 * `timedOut` is true when a time limit ended it (the open, a connection attempt, a write, or the
 * liveness check's silence limit).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionError extends Schema.TaggedError<ConnectionError>()("ConnectionError", {
  message: Schema.String,
  retryable: Schema.Boolean,
  code: Schema.optional(Schema.Number),
  reason: Schema.optional(Schema.String),
  /** @since 0.2.0 */
  timedOut: Schema.optional(Schema.Boolean)
}) {}

/**
 * The server refused the credentials (HTTP 401/403 on the handshake, or a fatal auth error event).
 * Never retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthenticationError extends Schema.TaggedError<AuthenticationError>()("AuthenticationError", {
  message: Schema.String,
  status: Schema.optional(Schema.Number)
}) {}

/**
 * A frame could not be decoded (bad JSON, or a known event type with wrong fields). Names the event
 * type and the failing path; never carries audio payloads.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolError extends Schema.TaggedError<ProtocolError>()("ProtocolError", {
  message: Schema.String,
  eventType: Schema.optional(Schema.String),
  path: Schema.optional(Schema.String)
}) {}

/**
 * An `error` event sent by the server. `fatal` is true for codes that retries cannot fix
 * (`invalid_api_key`, `insufficient_quota`, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.TaggedError<ServerError>()("ServerError", {
  message: Schema.String,
  errorType: Schema.optional(Schema.String),
  code: Schema.optional(Schema.String),
  param: Schema.optional(Schema.String),
  eventId: Schema.optional(Schema.String),
  fatal: Schema.Boolean
}) {}

/**
 * An operation waited longer than its limit (a reply, an acknowledgement, a connection attempt).
 *
 * @since 0.1.0
 * @category errors
 */
export class TimeoutError extends Schema.TaggedError<TimeoutError>()("TimeoutError", {
  message: Schema.String,
  operation: Schema.String
}) {}

/**
 * A response ended with status `failed`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResponseFailedError extends Schema.TaggedError<ResponseFailedError>()("ResponseFailedError", {
  message: Schema.String,
  responseId: Schema.String
}) {}

/**
 * The session is closed (its scope ended, or a non-recoverable error ended it; `cause` then says why).
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionClosedError extends Schema.TaggedError<SessionClosedError>()("SessionClosedError", {
  message: Schema.String,
  /** When a fault ended the session (a fiber died, a transition threw): what happened, capped. */
  defect: Schema.optional(Schema.String)
}) {}

/**
 * Bad or missing configuration (no API key, an invalid option), reported before any connection.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConfigurationError extends Schema.TaggedError<ConfigurationError>()("ConfigurationError", {
  message: Schema.String
}) {}

/**
 * Errors that end a session: every waiting caller and every open stream sees one of these.
 *
 * @since 0.1.0
 * @category errors
 */
export type FatalError = ConnectionError | AuthenticationError | ServerError | SessionClosedError

/**
 * `sendToolOutput` named a call the session is not waiting for (unknown, already answered, or a
 * server-side tool's call).
 *
 * @since 0.2.0
 * @category errors
 */
export class UnknownCallError extends Schema.TaggedError<UnknownCallError>()("UnknownCallError", {
  message: Schema.String,
  callId: Schema.String
}) {}

/**
 * A consumer fell behind: a stream with a bounded buffer (`SessionOptions.outputBuffer`) had
 * `limit` items waiting unread when another arrived. Only that stream fails; the session, its other
 * streams and other sessions go on.
 *
 * @since 0.2.0
 * @category errors
 */
export class SlowConsumerError extends Schema.TaggedError<SlowConsumerError>()("SlowConsumerError", {
  message: Schema.String,
  /** Which stream: `"audio"`, `"text"`, `"messages"`, `"functionCalls"`, `"generations"` or `"events"`. */
  stream: Schema.String,
  limit: Schema.Number
}) {}
