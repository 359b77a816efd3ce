/** The engine's transition function: `step(state, input, now)` gives the next state and the actions to run. */
import { ConnectionError, type FatalError, ServerError } from "../../Errors.js"
import * as Protocol from "../../Protocol.js"
import * as Redact from "../redact.js"
import * as Conv from "./conversation.js"
import * as Generation from "./generation.js"
import * as Replies from "./replies.js"
import type { Action, Input, Out, SessionState } from "./state.js"
import * as Tools from "./tools.js"

/** A transition's result. */
export interface Transition {
  readonly state: SessionState
  readonly actions: ReadonlyArray<Action>
}

/** The pure transition: no fiber, socket or clock; `now` is the Clock's time in ms. */
export const step = (state: SessionState, input: Input, now: number): Transition => {
  const out: Out = []
  const next = apply(state, input, now, out)
  return { state: next, actions: out }
}

const apply = (s: SessionState, input: Input, now: number, out: Out): SessionState => {
  if (s.phase._tag === "Closed") return afterClose(s, s.phase.error, input, out)
  switch (input._tag) {
    case "ServerEvent":
      return serverEvent(s, input.event, now, out)
    case "Malformed":
      out.push({ _tag: "Emit", event: { _tag: "Error", error: input.error, recoverable: true } })
      return s
    case "Connected":
      return connected(s, input, now, out)
    case "Disconnected":
      return disconnected(s, input.error, now, out)
    case "Close":
      return close(s, input.error, input.quiet, now, out)
    case "GenerateReply":
      return Replies.request(s, input, now, out)
    case "ReplyTimeout":
      return Replies.giveUp(s, input.id, true, now, out)
    case "ReplyAbandoned":
      return Replies.giveUp(s, input.id, false, now, out)
    case "DrainTimeout":
      return Replies.drainTimeout(s, now, out)
    case "GenerationReleased":
      return released(s, input.responseId, now, out)
    case "Interrupt":
      return interrupt(s, now, out)
    case "Truncate":
      return Conv.truncate(s, input.opId, input.options, now, out)
    case "SyncChat":
      return Conv.syncChat(s, input.opId, input.wanted, now, out)
    case "AckTimeout":
      return Conv.ackTimeout(s, input.opId, now, out)
    case "UpdateOptions": {
      out.push({ _tag: "Send", event: { type: "session.update", session: s.config.sessionConfig(input.options) } })
      out.push({ _tag: "Complete", opId: input.opId, result: { _tag: "Ok" } })
      return { ...s, options: { ...s.options, ...input.options } }
    }
    case "UpdateTools": {
      for (const r of input.rejected) {
        out.push({
          _tag: "Emit",
          event: { _tag: "Warning", message: `tool ${Redact.capString(r.name)} dropped: ${Redact.capString(r.reason)}` }
        })
      }
      out.push({ _tag: "Send", event: { type: "session.update", session: { tools: [...input.definitions] } } })
      out.push({ _tag: "Complete", opId: input.opId, result: { _tag: "Ok", value: { tools: input.tools, rejected: input.rejected } } })
      return { ...s, tools: input.tools }
    }
    case "ToolOutputs":
      return Tools.outputs(s, input, now, out)
    case "SendToolOutput":
      return Tools.manualOutput(s, input.opId, input.callId, input.output, out)
  }
}

/** After the end every request fails with the error that ended the session; nothing else happens. */
const afterClose = (s: SessionState, error: FatalError, input: Input, out: Out): SessionState => {
  switch (input._tag) {
    case "GenerateReply":
      out.push({ _tag: "FailReply", replyId: input.id, error })
      return s
    case "Truncate":
    case "SyncChat":
    case "UpdateOptions":
    case "UpdateTools":
    case "SendToolOutput":
      out.push({ _tag: "Complete", opId: input.opId, result: { _tag: "Failed", error } })
      return s
    default:
      return s
  }
}

const interrupt = (s: SessionState, now: number, out: Out): SessionState => {
  const current = s.current
  if (current === undefined) return s
  out.push({ _tag: "Send", event: { type: "response.cancel" } })
  const state: SessionState = { ...s, current: { ...current, interrupted: true } }
  return !current.spoken && s.config.dialect.dropsUnspokenResponses ? Generation.discard(state, now, out) : state
}

/** The caller's scope closed before `response.done`: cancel it; the next request waits for it to end. */
const released = (s: SessionState, responseId: string, now: number, out: Out): SessionState => {
  const current = s.current
  if (current === undefined || current.responseId !== responseId) return s
  out.push({ _tag: "Send", event: { type: "response.cancel", response_id: responseId } })
  const dropped = !current.spoken && s.config.dialect.dropsUnspokenResponses
  let state: SessionState = { ...s, current: { ...current, interrupted: true } }
  if (!dropped) state = Replies.drain(state, { replyId: undefined, responseId }, now, out)
  return Generation.finish(state, { status: dropped ? "discarded" : "cancelled" }, now, out)
}

const connected = (
  s: SessionState,
  input: Extract<Input, { _tag: "Connected" }>,
  now: number,
  out: Out
): SessionState => {
  let state: SessionState = { ...s, phase: { _tag: "Open", connection: input.connection } }
  if (input.reconnected) {
    state = Conv.connected(state, input.resumed)
    out.push({ _tag: "Emit", event: { _tag: "Reconnected", connection: input.connection } })
  } else {
    out.push({ _tag: "Emit", event: { _tag: "Connected", connection: input.connection } })
  }
  return Replies.sendNext(Conv.startQueuedSync(state, now, out), now, out)
}

/**
 * The connection ended: what was in flight on it fails with the real error (a fatal server error or
 * authentication failure stays itself), requests sent on it are abandoned (if re-sent and answered,
 * their response is cancelled), and queued requests go out on the next connection.
 */
const disconnected = (
  s: SessionState,
  error: FatalError | undefined,
  now: number,
  out: Out
): SessionState => {
  const fatal = error === undefined
    ? undefined
    : error._tag === "AuthenticationError" || error._tag === "SessionClosedError"
    ? error
    : error._tag === "ConnectionError"
    ? (error.retryable ? undefined : error)
    : (error.fatal ? error : undefined)
  const lost = fatal ?? new ConnectionError({
    message: `connection lost: ${error?.message ?? "the connection was recycled"}`,
    retryable: true,
    ...(error?._tag === "ConnectionError" && error.timedOut === true ? { timedOut: true } : {})
  })
  let state: SessionState = { ...s, phase: { _tag: "Reconnecting" } }
  for (const reply of state.replies.sent) {
    out.push({ _tag: "FailReply", replyId: reply.id, error: lost })
    state = Replies.abandon(state, reply.id)
  }
  state = { ...state, replies: { ...state.replies, sent: [], draining: [] } }
  state = Conv.failAcks(state, lost, out)
  state = Generation.finish(state, { failed: lost }, now, out)
  state = Conv.flushTranscript(state, out)
  out.push({ _tag: "Emit", event: { _tag: "Disconnected", error } })
  return Replies.sendNext(state, now, out)
}

/** The end: every waiter, stream and subscription sees `error` (a quiet close ends them without it). */
const close = (s: SessionState, error: FatalError, quiet: boolean, now: number, out: Out): SessionState => {
  let state = Conv.flushTranscript(s, out)
  for (const reply of [...state.replies.sent, ...state.replies.waiting]) {
    out.push({ _tag: "FailReply", replyId: reply.id, error })
  }
  state = { ...state, replies: { ...state.replies, sent: [], waiting: [], draining: [] } }
  state = Conv.failAcks(state, error, out)
  state = Conv.failQueued(state, error, out)
  state = Generation.finish(state, { failed: error }, now, out)
  if (error._tag !== "SessionClosedError" || error.defect !== undefined) {
    out.push({ _tag: "Emit", event: { _tag: "Error", error, recoverable: false } })
  }
  out.push({ _tag: "Emit", event: { _tag: "Closed", reason: error } })
  out.push({ _tag: "Shutdown", error, quiet })
  return { ...state, phase: { _tag: "Closed", error } }
}

const serverEvent = (s: SessionState, event: Protocol.DecodedServerEvent, now: number, out: Out): SessionState => {
  if (Protocol.isUnknownServerEvent(event)) {
    out.push({ _tag: "Emit", event: { _tag: "ServerEvent", event } })
    return s
  }
  switch (event.type) {
    case "input_audio_buffer.speech_started": {
      const held = s.conversation.heldTranscript
      let state = held !== undefined && held.itemId !== event.item_id ? Conv.flushTranscript(s, out) : s
      // Talked over before it spoke: a dialect that drops such a response does so without response.done.
      if (state.current !== undefined && !state.current.spoken && state.config.dialect.dropsUnspokenResponses) {
        state = Generation.discard(state, now, out)
      }
      out.push({ _tag: "Emit", event: { _tag: "SpeechStarted", itemId: event.item_id, audioStartMs: event.audio_start_ms } })
      return state
    }
    case "input_audio_buffer.speech_stopped":
      out.push({
        _tag: "Emit",
        event: {
          _tag: "SpeechStopped",
          itemId: event.item_id,
          audioEndMs: event.audio_end_ms,
          userTranscriptionEnabled: s.options.inputAudioTranscription !== null
        }
      })
      return s
    case "conversation.created": {
      // The conversation is settled (resumed, or its history re-sent): what waited for it goes out now.
      const state = Conv.conversationCreated(s, event.conversation.id, out)
      return Replies.sendNext(Conv.startQueuedSync(state, now, out), now, out)
    }
    case "response.created":
      return Generation.created(s, event, now, out)
    case "response.output_item.added":
      return Generation.itemAdded(s, event, out)
    case "response.content_part.added":
      return Generation.partAdded(s, event, out)
    case "response.output_audio.delta":
      return Generation.audioDelta(s, event, now, out)
    case "response.output_audio_transcript.delta":
      return Generation.textDelta(s, event, true, now, out)
    case "response.output_text.delta":
      return Generation.textDelta(s, event, false, now, out)
    case "response.output_item.done":
      return Generation.itemDone(s, event, out)
    case "response.done":
      return Generation.done(s, event, now, out)
    case "conversation.item.added":
    case "conversation.item.created":
      return Conv.itemAdded(s, event.previous_item_id, event.item, now, out)
    case "conversation.item.deleted":
      return Conv.itemDeleted(s, event.item_id ?? "", now, out)
    case "conversation.item.input_audio_transcription.completed":
      return Conv.transcription(s, event.item_id, event.transcript, true, out)
    case "conversation.item.input_audio_transcription.updated":
      return Conv.transcription(s, event.item_id, event.transcript, false, out)
    case "conversation.item.input_audio_transcription.failed":
      out.push({ _tag: "Log", message: `input transcription failed for item ${Redact.capString(event.item_id)}` })
      return s
    case "input_audio_buffer.timeout_triggered":
      out.push({ _tag: "Emit", event: { _tag: "ServerEvent", event } })
      return s
    case "error":
      return serverError(s, event, now, out)
    default:
      return s
  }
}

const cap = (text: string | null | undefined) => (text == null ? undefined : Redact.capString(text))

const serverError = (
  s: SessionState,
  event: Extract<Protocol.ServerEvent, { type: "error" }>,
  now: number,
  out: Out
): SessionState => {
  const detail = event.error
  // Server text: the session's secrets scrubbed out first (a cut could leave half a secret), then capped.
  const message = Redact.capString(s.config.scrub(detail.message ?? "server error"), 1000)
  if (message.startsWith("Cancellation failed")) {
    out.push({ _tag: "Log", message: Redact.capString(message) })
    return s
  }
  // Fatal codes end the session: the connection reports them once, as the session's end.
  if (detail.code != null && s.config.dialect.fatalErrorCodes.has(detail.code)) return s
  const error = new ServerError({
    message,
    code: cap(detail.code),
    errorType: cap(detail.type),
    param: cap(detail.param),
    eventId: cap(detail.event_id),
    fatal: false
  })
  out.push({ _tag: "Emit", event: { _tag: "Error", error, recoverable: true } })
  // The server refused one of our requests: its caller gets the server's reason at once.
  return detail.event_id != null ? Replies.refused(s, detail.event_id, error, now, out) : s
}
