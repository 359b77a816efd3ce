/** The reply queue: one `response.create` in flight at a time, deadlines, abandoned and draining responses. */
import { type FatalError, TimeoutError } from "../../Errors.js"
import type { Draining, Out, Replies, Reply, SessionState } from "./state.js"
import { MAX_TRACKED } from "./state.js"

const timeoutError = (s: SessionState) =>
  new TimeoutError({
    message: `no response.created within ${s.config.replyTimeoutMs} ms`,
    operation: "generateReply"
  })

const withReplies = (s: SessionState, replies: Partial<Replies>): SessionState => ({
  ...s,
  replies: { ...s.replies, ...replies }
})

/** True while a response is active or may be: no other `response.create` may go out. */
export const responseActive = (s: SessionState): boolean =>
  s.current !== undefined || s.replies.sent.length > 0 || s.replies.draining.length > 0

/** True when nothing is in progress or queued (the connection may recycle). */
export const isIdle = (s: SessionState): boolean => !responseActive(s) && s.replies.waiting.length === 0

/** Remembers a request given up on, so that its response is cancelled if it ever arrives. */
export const abandon = (s: SessionState, id: string): SessionState => {
  const abandoned = [...s.replies.abandoned.filter((a) => a !== id), id]
  return withReplies(s, { abandoned: abandoned.length > MAX_TRACKED ? abandoned.slice(-MAX_TRACKED) : abandoned })
}

/**
 * Blocks new requests until `responseId`'s (or `replyId`'s) response is done, for at most `boundMs`
 * (the reply timeout by default). A response already draining under the request's id takes the new
 * target's place.
 */
export const drain = (
  s: SessionState,
  target: Omit<Draining, "untilMs">,
  now: number,
  out: Out,
  boundMs: number = s.config.replyTimeoutMs
): SessionState => {
  out.push({ _tag: "Timer", afterMs: boundMs, input: { _tag: "DrainTimeout" } })
  const others = s.replies.draining.filter((d) =>
    !(d.replyId !== undefined && d.replyId === target.replyId) && !(d.responseId !== undefined && d.responseId === target.responseId)
  )
  return withReplies(s, { draining: [...others, { ...target, untilMs: now + boundMs }] })
}

/** The draining entry of a request given up on, once its response arrives, becomes that response's. */
export const drainResponse = (
  s: SessionState,
  replyId: string,
  responseId: string,
  now: number,
  out: Out
): SessionState => drain(withReplies(s, { draining: s.replies.draining.filter((d) => d.replyId !== replyId) }), {
  replyId: undefined,
  responseId
}, now, out)

/**
 * Sends the next waiting request when no response is active. A request whose deadline has passed is
 * never sent: it fails with a timeout instead. Requests wait for an open connection whose
 * conversation is settled (a resumption confirmed, or the history re-sent), so that a reply never
 * runs on a conversation that lacks its history.
 */
export const sendNext = (s: SessionState, now: number, out: Out): SessionState => {
  if (s.phase._tag !== "Open" || s.conversation.resuming !== undefined) return s
  let state = s
  if (state.replies.draining.some((d) => now >= d.untilMs)) {
    state = withReplies(state, { draining: state.replies.draining.filter((d) => now < d.untilMs) })
  }
  if (responseActive(state)) return state
  const waiting = [...state.replies.waiting]
  while (waiting.length > 0) {
    const next = waiting.shift()!
    if (now >= next.deadlineMs) {
      out.push({ _tag: "FailReply", replyId: next.id, error: timeoutError(state) })
      continue
    }
    out.push({
      _tag: "Send",
      event: {
        type: "response.create",
        // The id comes back as the `event_id` of an `error` the server answers it with.
        event_id: next.id,
        response: {
          ...(next.instructions !== undefined ? { instructions: next.instructions } : {}),
          metadata: { client_event_id: next.id }
        }
      }
    })
    return withReplies(state, { waiting, sent: [next] })
  }
  return withReplies(state, { waiting })
}

/** A new request: queued behind the active response, bounded by the reply timeout as a whole. */
export const request = (
  s: SessionState,
  input: { readonly id: string; readonly instructions: string | undefined; readonly userInitiated: boolean },
  now: number,
  out: Out
): SessionState => {
  if (s.phase._tag === "Closed") {
    out.push({ _tag: "FailReply", replyId: input.id, error: s.phase.error })
    return s
  }
  const reply: Reply = { ...input, deadlineMs: now + s.config.replyTimeoutMs }
  out.push({ _tag: "Timer", afterMs: s.config.replyTimeoutMs, input: { _tag: "ReplyTimeout", id: input.id } })
  return sendNext(withReplies(s, { waiting: [...s.replies.waiting, reply] }), now, out)
}

/**
 * A request's deadline passed (`timedOut`) or its caller gave up. Queued: it is dropped. Sent: its
 * response, if it comes, is cancelled, and the next request waits for that response to end.
 */
export const giveUp = (s: SessionState, id: string, timedOut: boolean, now: number, out: Out): SessionState => {
  const queued = s.replies.waiting.find((r) => r.id === id)
  if (queued !== undefined) {
    if (timedOut) out.push({ _tag: "FailReply", replyId: id, error: timeoutError(s) })
    return withReplies(s, { waiting: s.replies.waiting.filter((r) => r.id !== id) })
  }
  const sent = s.replies.sent.find((r) => r.id === id)
  if (sent === undefined) return s
  if (timedOut) out.push({ _tag: "FailReply", replyId: id, error: timeoutError(s) })
  // If its response comes after all, it is cancelled on arrival and the next request waits for it to
  // end. Until then nothing else goes out: a caller that gave up early leaves a response that is most
  // likely on its way (the whole reply timeout); one that timed out has had its full wait (a short bound).
  const state = abandon(withReplies(s, { sent: s.replies.sent.filter((r) => r.id !== id) }), id)
  const bound = timedOut ? Math.min(TIMED_OUT_DRAIN_MS, s.config.replyTimeoutMs) : s.config.replyTimeoutMs
  return drain(state, { replyId: id, responseId: undefined }, now, out, bound)
}

/** How long a request that timed out may still hold the next one back. */
export const TIMED_OUT_DRAIN_MS = 1_000

/** An `error` naming a request (`event_id`): the server refused it; it fails with that error at once. */
export const refused = (s: SessionState, id: string, error: FatalError | TimeoutError, now: number, out: Out): SessionState => {
  if (!s.replies.sent.some((r) => r.id === id)) return s
  out.push({ _tag: "FailReply", replyId: id, error })
  return sendNext(withReplies(s, { sent: s.replies.sent.filter((r) => r.id !== id) }), now, out)
}

/** The drain bound passed: requests may go out again. */
export const drainTimeout = (s: SessionState, now: number, out: Out): SessionState => sendNext(s, now, out)

/** A `response.done` arrived: if it ends the draining response, requests may go out again. */
export const responseEnded = (s: SessionState, responseId: string | undefined, now: number, out: Out): SessionState => {
  if (responseId === undefined || !s.replies.draining.some((d) => d.responseId === responseId)) return s
  return sendNext(withReplies(s, { draining: s.replies.draining.filter((d) => d.responseId !== responseId) }), now, out)
}
