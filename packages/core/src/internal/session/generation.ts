/** The response lifecycle: created, messages and deltas, function calls, done; metrics for every response. */
import type * as Chat from "../../ChatContext.js"
import { ResponseFailedError } from "../../Errors.js"
import * as Gen from "../../Generation.js"
import * as Protocol from "../../Protocol.js"
import * as items from "../items.js"
import * as Redact from "../redact.js"
import * as Conv from "./conversation.js"
import * as Replies from "./replies.js"
import type { Message, Out, Outcome, Response, SessionState } from "./state.js"
import { samplesToMs } from "./state.js"
import * as Tools from "./tools.js"

type ServerEventOf<T extends Protocol.ServerEvent["type"]> = Extract<Protocol.ServerEvent, { readonly type: T }>

// The per-delta copies are written out field by field: a spread of state objects made in many
// places goes through V8's generic object clone (about 1 µs here), a literal is one allocation.
// Every field is listed: TypeScript checks the required ones, an optional one must be added by hand.

const withCurrent = (s: SessionState, current: Response | undefined): SessionState => ({
  config: s.config,
  phase: s.phase,
  options: s.options,
  tools: s.tools,
  current,
  replies: s.replies,
  conversation: s.conversation,
  manualCalls: s.manualCalls,
  responseCount: s.responseCount
})

const withMessages = (r: Response, messages: ReadonlyArray<Message>): Response => ({
  responseId: r.responseId,
  replyId: r.replyId,
  userInitiated: r.userInitiated,
  createdAtMs: r.createdAtMs,
  firstTokenAtMs: r.firstTokenAtMs,
  spoken: r.spoken,
  interrupted: r.interrupted,
  messages,
  calls: r.calls
})

const withContent = (m: Message, text: string, audioSamples: number): Message => ({
  itemId: m.itemId,
  modalities: m.modalities,
  audioEnded: m.audioEnded,
  text,
  audioSamples
})

/** The current response for an event's response id (undefined: stale, dropped or unknown). */
export const responseFor = (s: SessionState, responseId: string | undefined): Response | undefined =>
  s.current !== undefined && (responseId === undefined || s.current.responseId === responseId) ? s.current : undefined

const clientEventIdOf = (metadata: unknown): string | undefined => {
  if (typeof metadata !== "object" || metadata === null) return undefined
  const id = (metadata as Record<string, unknown>)["client_event_id"]
  return typeof id === "string" ? id : undefined
}

/** The mirror's copy of a message: its text as the model said it. */
const chatMessage = (message: Message): Chat.ChatItem => ({
  type: "message",
  id: message.itemId,
  role: "assistant",
  content: message.modalities?.includes("audio") === true || message.audioSamples > 0
    ? [{ type: "audio", transcript: message.text }]
    : [{ type: "text", text: message.text }]
})

/** A response's one metrics record: recorded (Effect metrics, span) and published. */
const record = (
  s: SessionState,
  input: Omit<Parameters<typeof Gen.computeMetrics>[0], "model" | "provider">,
  out: Out
): Gen.GenerationMetrics => {
  const metrics = Gen.computeMetrics({ ...input, model: s.options.model, provider: s.options.provider })
  out.push({ _tag: "Metrics", metrics })
  out.push({ _tag: "Emit", event: { _tag: "Metrics", metrics } })
  return metrics
}

/** A message's audio, remembered once it is closed (counted on the message while it streams). */
const heard = (s: SessionState, message: Message): SessionState =>
  message.audioSamples > 0 ? Conv.trackAudio(s, message.itemId, samplesToMs(message.audioSamples)) : s

/** A message left open at the end of its response: its audio is remembered, its text mirrored. */
const closed = (s: SessionState, message: Message): SessionState => Conv.assistantItem(heard(s, message), chatMessage(message))

/**
 * Ends the current response: its open messages close (their text goes into the mirror), one metrics
 * record is made, the generation completes, and its function calls get outputs (auto) or wait for the
 * app (manual), even when the response was cut short; only a completed response asks for a reply.
 * Then the next waiting request goes out, unless `next` is false (another response takes its place).
 */
export const finish = (
  s: SessionState,
  outcome: { readonly status: Gen.ResponseSummary["status"]; readonly usage?: Protocol.Response["usage"] } | {
    readonly failed: Gen.GenerationError
  },
  now: number,
  out: Out,
  next = true
): SessionState => {
  const response = s.current
  if (response === undefined) return s
  let state = withCurrent(s, undefined)
  for (const message of response.messages) state = closed(state, message)
  const status = "failed" in outcome ? "failed" : outcome.status
  const metrics = record(state, {
    responseId: response.responseId,
    status: "failed" in outcome || status === "discarded" ? "cancelled" : status,
    usage: "failed" in outcome ? undefined : outcome.usage,
    createdAtMs: response.createdAtMs,
    firstTokenAtMs: response.firstTokenAtMs,
    doneAtMs: now
  }, out)
  const result: Outcome = "failed" in outcome
    ? { _tag: "Failed", error: outcome.failed }
    : {
      _tag: "Done",
      summary: { responseId: response.responseId, status, metrics, functionCalls: response.calls }
    }
  out.push({ _tag: "FinishGeneration", responseId: response.responseId, outcome: result })
  if (!("failed" in outcome) && response.calls.length > 0) {
    state = Tools.callsEnded(state, response, !response.interrupted && status === "completed", out)
  }
  return next ? Replies.sendNext(state, now, out) : state
}

/** Drops a response that has not spoken (the server dropped it too, without `response.done`). */
export const discard = (s: SessionState, now: number, out: Out, next = true): SessionState =>
  finish(s, { status: "discarded" }, now, out, next)

/** `response.created`: a generation, matched to its request by `metadata.client_event_id`. */
export const created = (s: SessionState, event: ServerEventOf<"response.created">, now: number, out: Out): SessionState => {
  const response = event.response
  const responseId = response.id ?? `response_${s.responseCount}`
  const clientEventId = clientEventIdOf(response.metadata)
  let state: SessionState = { ...s, responseCount: s.responseCount + 1 }
  if (clientEventId !== undefined && state.replies.abandoned.includes(clientEventId)) {
    // Its request timed out or was abandoned: it must not play. Nothing new goes out until it ends.
    out.push({ _tag: "Send", event: { type: "response.cancel", response_id: responseId } })
    state = {
      ...state,
      replies: {
        ...state.replies,
        abandoned: state.replies.abandoned.filter((a) => a !== clientEventId),
        sent: state.replies.sent.filter((r) => r.id !== clientEventId)
      }
    }
    // The server created it: it gets its metrics record too (cancelled, nothing received).
    record(state, {
      responseId,
      status: "cancelled",
      usage: undefined,
      createdAtMs: now,
      firstTokenAtMs: undefined,
      doneAtMs: now
    }, out)
    return Replies.drainResponse(state, clientEventId, responseId, now, out)
  }
  if (state.current !== undefined) {
    // A new response while another is current: one that has not spoken is dropped. The new one is
    // active now: no waiting request may go out until it ends.
    state = state.current.spoken || !state.config.dialect.dropsUnspokenResponses
      ? finish(state, { status: "cancelled" }, now, out, false)
      : discard(state, now, out, false)
  }
  const reply = clientEventId === undefined ? undefined : state.replies.sent.find((r) => r.id === clientEventId)
  if (reply !== undefined) {
    state = { ...state, replies: { ...state.replies, sent: state.replies.sent.filter((r) => r.id !== reply.id) } }
  }
  const userInitiated = reply?.userInitiated ?? false
  out.push({ _tag: "OpenGeneration", responseId, userInitiated })
  if (reply !== undefined) out.push({ _tag: "ResolveReply", replyId: reply.id, responseId })
  out.push({ _tag: "Emit", event: { _tag: "GenerationCreated", responseId, userInitiated } })
  return withCurrent(state, {
    responseId,
    replyId: reply?.id,
    userInitiated,
    createdAtMs: now,
    firstTokenAtMs: undefined,
    spoken: false,
    interrupted: false,
    messages: [],
    calls: []
  })
}

/** The modalities of a message that carries audio (one array for every delta). */
const AUDIO_AND_TEXT: Gen.Modalities = Object.freeze(["audio", "text"] as const)

const updateMessage = (
  s: SessionState,
  response: Response,
  itemId: string,
  out: Out,
  update: (m: Message) => Message
): SessionState => {
  const index = response.messages.findIndex((m) => m.itemId === itemId)
  let messages: ReadonlyArray<Message>
  if (index < 0) {
    out.push({ _tag: "OpenMessage", responseId: response.responseId, itemId })
    messages = [...response.messages, update({ itemId, modalities: undefined, audioEnded: false, text: "", audioSamples: 0 })]
  } else {
    const copy = response.messages.slice()
    copy[index] = update(response.messages[index]!)
    messages = copy
  }
  return withCurrent(s, withMessages(response, messages))
}

const setModalities = (message: Message, modalities: Gen.Modalities, out: Out): Message => {
  if (message.modalities !== undefined) return message
  out.push({ _tag: "SetModalities", itemId: message.itemId, modalities })
  if (!modalities.includes("audio") && !message.audioEnded) {
    out.push({ _tag: "EndAudio", itemId: message.itemId })
    return { ...message, modalities, audioEnded: true }
  }
  return { ...message, modalities }
}

/** `response.output_item.added`: a message opens (text only when the session has no audio output). */
export const itemAdded = (s: SessionState, event: ServerEventOf<"response.output_item.added">, out: Out): SessionState => {
  const response = responseFor(s, event.response_id)
  const item = event.item
  if (response === undefined || !Protocol.isMessageItem(item) || item.id === undefined) return s
  const textOnly = !s.options.modalities.includes("audio")
  return updateMessage(s, response, item.id, out, (m) => (textOnly ? setModalities(m, ["text"], out) : m))
}

/** `response.content_part.added`: the part's type fixes the message's modalities. */
export const partAdded = (s: SessionState, event: ServerEventOf<"response.content_part.added">, out: Out): SessionState => {
  const response = responseFor(s, event.response_id)
  if (response === undefined) return s
  const type = event.part.type
  const modalities: Gen.Modalities | undefined = type === "text" || type === "output_text"
    ? ["text"]
    : type === "audio" || type === "output_audio"
    ? AUDIO_AND_TEXT
    : undefined
  return updateMessage(s, response, event.item_id, out, (m) => (modalities === undefined ? m : setModalities(m, modalities, out)))
}

/** The reply's first output: the held transcript becomes final; the first token is timed. */
const spoke = (s: SessionState, response: Response, now: number, timed: boolean, out: Out): SessionState => {
  if (response.spoken && (!timed || response.firstTokenAtMs !== undefined)) return s
  let state = response.spoken ? s : Conv.flushTranscript(s, out)
  const firstTokenAtMs = timed && response.firstTokenAtMs === undefined ? now : response.firstTokenAtMs
  state = withCurrent(state, { ...response, spoken: true, firstTokenAtMs })
  return state
}

/** Samples in a base64 PCM16 payload. */
const samplesOf = (base64: string): number => {
  const padding = base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0
  return Math.max(0, Math.floor(((base64.length * 3) / 4 - padding) / 2))
}

/** An audio delta: to the message's audio stream; counted for truncation. */
export const audioDelta = (s: SessionState, event: ServerEventOf<"response.output_audio.delta">, now: number, out: Out): SessionState => {
  let response = responseFor(s, event.response_id)
  if (response === undefined) return s
  let state = spoke(s, response, now, true, out)
  response = state.current!
  const samples = samplesOf(event.delta)
  state = updateMessage(state, response, event.item_id, out, (m) => {
    const known = setModalities(m, AUDIO_AND_TEXT, out)
    return withContent(known, known.text, known.audioSamples + samples)
  })
  out.push({ _tag: "Audio", itemId: event.item_id, base64: event.delta })
  return state
}

/** A text or transcript delta: to the message's text stream; the first one without audio is the first token. */
export const textDelta = (
  s: SessionState,
  event: { readonly response_id?: string | undefined; readonly item_id: string; readonly delta: string },
  transcript: boolean,
  now: number,
  out: Out
): SessionState => {
  let response = responseFor(s, event.response_id)
  if (response === undefined) return s
  const timed = !transcript || !s.options.modalities.includes("audio")
  let state = spoke(s, response, now, timed, out)
  response = state.current!
  state = updateMessage(state, response, event.item_id, out, (m) => withContent(m, m.text + event.delta, m.audioSamples))
  const startTime = (event as { readonly start_time?: unknown }).start_time
  out.push({
    _tag: "Text",
    itemId: event.item_id,
    delta: typeof startTime === "number" ? { text: event.delta, startTime } : { text: event.delta }
  })
  return state
}

/** `response.output_item.done`: a function call is recorded; a message closes and enters the mirror. */
export const itemDone = (s: SessionState, event: ServerEventOf<"response.output_item.done">, out: Out): SessionState => {
  const response = responseFor(s, event.response_id)
  const item = event.item
  if (response === undefined) return s
  if (Protocol.isFunctionCallItem(item)) {
    const call: Gen.FunctionCall = { itemId: item.id ?? "", callId: item.call_id, name: item.name, arguments: item.arguments }
    out.push({ _tag: "FunctionCall", responseId: response.responseId, call })
    const state = withCurrent(s, { ...response, calls: [...response.calls, call] })
    const chatItem = items.fromProtocol(item)
    return chatItem === undefined ? state : Conv.assistantItem(state, chatItem)
  }
  if (!Protocol.isMessageItem(item) || item.id === undefined) return s
  const message = response.messages.find((m) => m.itemId === item.id)
  if (message === undefined) return s
  out.push({ _tag: "CloseMessage", itemId: message.itemId })
  const state = heard(withCurrent(s, { ...response, messages: response.messages.filter((m) => m !== message) }), message)
  // The server's own copy wins when it carries the text; otherwise what was streamed.
  const fromServer = items.fromProtocol(item)
  const chat = fromServer !== undefined && fromServer.type === "message" && fromServer.content.length > 0 && fromServer.content.some((c) =>
      c.type === "text" ? c.text !== "" : c.type === "audio" ? c.transcript !== "" : false
    )
    ? fromServer
    : chatMessage(message)
  return Conv.assistantItem(state, chat)
}

/** `response.done`: the generation ends with the server's status (any string is accepted) and usage. */
export const done = (s: SessionState, event: ServerEventOf<"response.done">, now: number, out: Out): SessionState => {
  const response = event.response
  const state = Replies.responseEnded(s, response.id, now, out)
  const current = state.current
  if (current === undefined || (response.id !== undefined && response.id !== current.responseId)) return state
  const status: Gen.ResponseSummary["status"] = response.status ?? "completed"
  if (status === "failed") {
    out.push({
      _tag: "Emit",
      event: {
        _tag: "Error",
        error: new ResponseFailedError({
          message: `response ${Redact.capString(current.responseId)} failed: ${
            Redact.capString(s.config.scrub(JSON.stringify(response.status_details ?? {})), 1000)
          }`,
          responseId: current.responseId
        }),
        recoverable: true
      }
    })
  }
  const interrupted = current.interrupted || status === "cancelled"
  const marked = interrupted === current.interrupted ? state : withCurrent(state, { ...current, interrupted })
  return finish(marked, { status, usage: response.usage }, now, out)
}
