/** The conversation mirror: items added and deleted, transcripts, acknowledged chat syncs, truncation, replay. */
import * as Chat from "../../ChatContext.js"
import { type ConnectionError, type FatalError, TimeoutError } from "../../Errors.js"
import type * as Protocol from "../../Protocol.js"
import type * as RS from "../../RealtimeSession.js"
import * as Tool from "../../Tool.js"
import * as items from "../items.js"
import type { Conversation, Out, PendingAck, SessionState } from "./state.js"
import { MAX_TRACKED, samplesToMs } from "./state.js"

const withConversation = (s: SessionState, conversation: Partial<Conversation>): SessionState => ({
  ...s,
  conversation: { ...s.conversation, ...conversation }
})

const setMirror = (s: SessionState, mirror: Chat.ChatContext): SessionState => withConversation(s, { mirror })

// ---------------------------------------------------------------------------
// Transcripts
// ---------------------------------------------------------------------------

/** Reports the held (xAI) transcript once as final and writes it into the mirror. */
export const flushTranscript = (s: SessionState, out: Out): SessionState => {
  const held = s.conversation.heldTranscript
  if (held === undefined) return s
  out.push({ _tag: "Emit", event: { _tag: "InputTranscription", itemId: held.itemId, transcript: held.transcript, isFinal: true } })
  return withConversation(s, {
    heldTranscript: undefined,
    mirror: Chat.setTranscript(s.conversation.mirror, held.itemId, held.transcript)
  })
}

/** An input transcription: final at once, or (revised dialects) reported as a revision and held. */
export const transcription = (
  s: SessionState,
  itemId: string,
  transcript: string,
  completed: boolean,
  out: Out
): SessionState => {
  if (s.config.dialect.inputTranscripts === "final") {
    if (!completed) {
      out.push({ _tag: "Emit", event: { _tag: "InputTranscription", itemId, transcript, isFinal: false } })
      return s
    }
    out.push({ _tag: "Emit", event: { _tag: "InputTranscription", itemId, transcript, isFinal: true } })
    return setMirror(s, Chat.appendTranscript(s.conversation.mirror, itemId, transcript))
  }
  out.push({ _tag: "Emit", event: { _tag: "InputTranscription", itemId, transcript, isFinal: false } })
  return completed ? withConversation(s, { heldTranscript: { itemId, transcript } }) : s
}

// ---------------------------------------------------------------------------
// Items
// ---------------------------------------------------------------------------

/** Completes the operations whose last acknowledgement this was, then starts the next queued sync. */
const settleAcks = (s: SessionState, remaining: ReadonlyArray<PendingAck>, now: number, out: Out): SessionState => {
  const before = new Set(s.conversation.acks.map((a) => a.opId))
  const after = new Set(remaining.map((a) => a.opId))
  let state = withConversation(s, { acks: remaining })
  for (const opId of before) {
    if (!after.has(opId)) out.push({ _tag: "Complete", opId, result: { _tag: "Ok" } })
  }
  if (before.size !== after.size) state = startQueuedSync(state, now, out)
  return state
}

/** `conversation.item.added` / `.created`: insert (or update) the item; it may acknowledge a create. */
export const itemAdded = (
  s: SessionState,
  previousId: string | null | undefined,
  item: Protocol.ConversationItem,
  now: number,
  out: Out
): SessionState => {
  const chatItem = items.fromProtocol(item)
  if (chatItem === undefined) return s
  const mirror = s.conversation.mirror
  const existing = mirror.items.find((i) => i.id === chatItem.id)
  // An echo that carries less than the mirror has (assistant items are announced empty) keeps the content.
  const merged = existing !== undefined && Chat.isEmpty(chatItem) && !Chat.isEmpty(existing) ? existing : chatItem
  // A tail dialect's null means "after the last item", also for an item the mirror already holds.
  const anchor = previousId === null && s.config.dialect.nullPreviousItemId === "tail"
    ? mirror.items.filter((i) => i.id !== chatItem.id).at(-1)?.id
    : previousId
  const next = existing !== undefined && anchor === undefined
    ? Chat.make(mirror.items.map((i) => (i.id === merged.id ? merged : i)))
    : Chat.insertAfter(mirror, anchor, merged)
  const state = confirmed(setMirror(s, next), chatItem.id)
  const remaining = state.conversation.acks.filter((a) => !(a.kind === "create" && a.itemId === chatItem.id))
  return remaining.length === state.conversation.acks.length ? state : settleAcks(state, remaining, now, out)
}

/** `conversation.item.deleted`: remove the item; an empty id may acknowledge the oldest pending delete. */
export const itemDeleted = (s: SessionState, itemId: string, now: number, out: Out): SessionState => {
  const acks = s.conversation.acks
  const index = itemId === ""
    ? (s.config.dialect.emptyDeleteId === "oldestPendingDelete" ? acks.findIndex((a) => a.kind === "delete") : -1)
    : acks.findIndex((a) => a.kind === "delete" && a.itemId === itemId)
  const id = index >= 0 ? acks[index]!.itemId : itemId
  const deleted = [...s.conversation.deleted.filter((d) => d !== id), id]
  const state = id === "" ? s : withConversation(s, {
    mirror: Chat.remove(s.conversation.mirror, id),
    deleted: deleted.length > MAX_TRACKED ? deleted.slice(-MAX_TRACKED) : deleted
  })
  return index < 0 ? state : settleAcks(state, acks.filter((_, i) => i !== index), now, out)
}

/**
 * An assistant item the response finished (or left open at its end): its text and calls go into the
 * mirror, in place when the server announced it, after the last item otherwise.
 */
export const assistantItem = (s: SessionState, item: Chat.ChatItem): SessionState => {
  if (Chat.isEmpty(item) || s.conversation.deleted.includes(item.id)) return s
  const mirror = s.conversation.mirror
  const at = mirror.items.findIndex((i) => i.id === item.id)
  if (at < 0) return setMirror(s, Chat.make([...mirror.items, item]))
  const existing = mirror.items[at]!
  if (!Chat.isEmpty(existing) && existing.type !== "function_call") return s
  return setMirror(s, Chat.make(mirror.items.map((i, k) => (k === at ? item : i))))
}

/** Remembers the audio received for a closed assistant item (truncation is capped at it). */
export const trackAudio = (s: SessionState, itemId: string, ms: number): SessionState => {
  const list = s.conversation.audioMs.filter(([id]) => id !== itemId)
  list.push([itemId, ms])
  return withConversation(s, { audioMs: list.length > MAX_TRACKED ? list.slice(-MAX_TRACKED) : list })
}

// ---------------------------------------------------------------------------
// Chat syncs and truncation (acknowledged operations)
// ---------------------------------------------------------------------------

const busy = (s: SessionState) => s.conversation.acks.length > 0

/** Sends a diff's deletes and creates; the operation completes when every one is acknowledged. */
const startSync = (s: SessionState, opId: number, wanted: Chat.ChatContext, out: Out): SessionState => {
  const d = Chat.diff(s.conversation.mirror, wanted)
  const acks: Array<PendingAck> = []
  for (const itemId of d.toRemove) {
    acks.push({ opId, kind: "delete", itemId })
    out.push({ _tag: "Send", event: { type: "conversation.item.delete", item_id: itemId } })
  }
  for (const { item, previousId } of d.toCreate) {
    acks.push({ opId, kind: "create", itemId: item.id })
    out.push({
      _tag: "Send",
      event: { type: "conversation.item.create", previous_item_id: previousId ?? "root", item: items.toProtocol(item) }
    })
  }
  return awaitAcks(s, opId, acks, out)
}

const awaitAcks = (s: SessionState, opId: number, acks: ReadonlyArray<PendingAck>, out: Out): SessionState => {
  if (acks.length === 0) {
    out.push({ _tag: "Complete", opId, result: { _tag: "Ok" } })
    return s
  }
  out.push({ _tag: "Timer", afterMs: s.config.ackTimeoutMs, input: { _tag: "AckTimeout", opId } })
  return withConversation(s, { acks: [...s.conversation.acks, ...acks] })
}

/**
 * Starts queued syncs while nothing waits for acknowledgements (and the connection is open with its
 * conversation settled: a diff against a history not yet re-sent would name items the server lacks).
 */
export const startQueuedSync = (s: SessionState, _now: number, out: Out): SessionState => {
  let state = s
  while (
    !busy(state) && state.conversation.syncQueue.length > 0 && state.phase._tag === "Open" &&
    state.conversation.resuming === undefined
  ) {
    const [next, ...rest] = state.conversation.syncQueue
    state = startSync(withConversation(state, { syncQueue: rest }), next!.opId, next!.wanted, out)
  }
  return state
}

/** `updateChatContext`: serialised, so that concurrent calls never send the same create twice. */
export const syncChat = (s: SessionState, opId: number, wanted: Chat.ChatContext, now: number, out: Out): SessionState =>
  startQueuedSync(withConversation(s, { syncQueue: [...s.conversation.syncQueue, { opId, wanted }] }), now, out)

/** An operation's acknowledgements did not all come in time: it fails, the rest go on. */
export const ackTimeout = (s: SessionState, opId: number, now: number, out: Out): SessionState => {
  if (!s.conversation.acks.some((a) => a.opId === opId)) return s
  out.push({
    _tag: "Complete",
    opId,
    result: {
      _tag: "Failed",
      error: new TimeoutError({ message: `no acknowledgement within ${s.config.ackTimeoutMs} ms`, operation: "conversation" })
    }
  })
  return startQueuedSync(withConversation(s, { acks: s.conversation.acks.filter((a) => a.opId !== opId) }), now, out)
}

/** Every waiting operation fails (the connection that would acknowledge it is gone, or the session ended). */
export const failAcks = (s: SessionState, error: FatalError | ConnectionError, out: Out): SessionState => {
  for (const opId of new Set(s.conversation.acks.map((a) => a.opId))) {
    out.push({ _tag: "Complete", opId, result: { _tag: "Failed", error } })
  }
  return withConversation(s, { acks: [] })
}

/** Every queued sync fails (the session ended). */
export const failQueued = (s: SessionState, error: FatalError, out: Out): SessionState => {
  for (const { opId } of s.conversation.syncQueue) out.push({ _tag: "Complete", opId, result: { _tag: "Failed", error } })
  return withConversation(s, { syncQueue: [] })
}

/**
 * `truncate`: with audio, cut the item at what was heard, capped at the audio received (0 ms deletes
 * it: servers refuse a 0 ms truncate); a text item with a transcript gets that text; a text item
 * without one is left alone.
 */
export const truncate = (s: SessionState, opId: number, options: RS.TruncateOptions, now: number, out: Out): SessionState => {
  const streaming = s.current?.messages.find((m) => m.itemId === options.messageId)
  const received = streaming !== undefined && streaming.audioSamples > 0
    ? samplesToMs(streaming.audioSamples)
    : s.conversation.audioMs.find(([id]) => id === options.messageId)?.[1]
  const hasAudio = options.modalities.includes("audio") && (received !== undefined || options.transcript === undefined)
  if (hasAudio) {
    const end = Math.floor(Math.min(Math.max(0, options.audioEndMs), received ?? 0))
    if (end <= 0) {
      out.push({ _tag: "Send", event: { type: "conversation.item.delete", item_id: options.messageId } })
      return awaitAcks(s, opId, [{ opId, kind: "delete", itemId: options.messageId }], out)
    }
    out.push({
      _tag: "Send",
      event: { type: "conversation.item.truncate", item_id: options.messageId, content_index: 0, audio_end_ms: end }
    })
    out.push({ _tag: "Complete", opId, result: { _tag: "Ok" } })
    return s
  }
  if (options.transcript === undefined) {
    out.push({ _tag: "Complete", opId, result: { _tag: "Ok" } })
    return s
  }
  const wanted = Chat.setContent(s.conversation.mirror, options.messageId, [{ type: "text", text: options.transcript }])
  return syncChat(s, opId, wanted, now, out)
}

// ---------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------

/** The conversation to resume on the next connection, when the dialect allows it. */
export const resumeId = (s: SessionState): string | undefined =>
  s.config.dialect.resumesConversations ? s.conversation.conversationId : undefined

/** The `session.update` that opens every connection: every option and the tools. */
export const sessionUpdate = (s: SessionState): Protocol.ClientEvent => {
  const session = s.config.sessionConfig(s.options)
  return {
    type: "session.update",
    session: {
      ...session,
      tools: [...Tool.partition(s.tools).definitions],
      ...(s.config.dialect.resumesConversations ? { resumption: { enabled: true } } : {})
    }
  }
}

/** The chat history re-created on a connection that does not resume: messages with text, in order. */
export const historyEvents = (s: SessionState): ReadonlyArray<Protocol.ClientEvent> =>
  Chat.forReplay(s.conversation.mirror).map((item) => ({ type: "conversation.item.create", item: items.toProtocol(item) }))

/** What opens a connection: the session, then the history unless the conversation is resumed. */
export const replay = (s: SessionState, resuming: boolean): ReadonlyArray<Protocol.ClientEvent> =>
  resuming ? [sessionUpdate(s)] : [sessionUpdate(s), ...historyEvents(s)]

/**
 * A new connection. Not resumed: its conversation is the replayed history (kept in the mirror at once,
 * so a second drop before the server echoes it loses nothing; the new conversation becomes resumable
 * only once the server has echoed all of it). Resumed: the mirror stays until `conversation.created`
 * confirms the id (or, naming another, makes the session fall back to the replay).
 */
export const connected = (s: SessionState, resumed: string | undefined): SessionState => {
  if (resumed !== undefined) return withConversation(s, { resuming: resumed })
  const history = Chat.forReplay(s.conversation.mirror)
  return withConversation(s, {
    mirror: Chat.make(history),
    audioMs: [],
    resuming: undefined,
    conversationId: undefined,
    unconfirmed: history.map((item) => item.id),
    pendingConversationId: undefined
  })
}

/** `conversation.created`: remember the id; on a resumed connection, fall back to the replay when it differs. */
export const conversationCreated = (s: SessionState, id: string | undefined, out: Out): SessionState => {
  const resuming = s.conversation.resuming
  if (resuming !== undefined && id !== resuming) {
    const history = Chat.forReplay(s.conversation.mirror)
    for (const event of historyEvents(s)) out.push({ _tag: "Send", event })
    out.push({ _tag: "Emit", event: { _tag: "Warning", message: "the server did not resume the conversation: history re-sent" } })
    return withConversation(s, {
      mirror: Chat.make(history),
      audioMs: [],
      resuming: undefined,
      conversationId: history.length === 0 ? id : undefined,
      unconfirmed: history.map((item) => item.id),
      pendingConversationId: history.length === 0 ? undefined : id
    })
  }
  if (resuming === undefined && s.conversation.unconfirmed.length > 0) {
    return withConversation(s, { pendingConversationId: id })
  }
  return withConversation(s, { resuming: undefined, conversationId: id ?? s.conversation.conversationId })
}

/** An echo of re-sent history: once all of it is in, the new conversation becomes resumable. */
const confirmed = (s: SessionState, itemId: string): SessionState => {
  if (!s.conversation.unconfirmed.includes(itemId)) return s
  const unconfirmed = s.conversation.unconfirmed.filter((id) => id !== itemId)
  return unconfirmed.length > 0
    ? withConversation(s, { unconfirmed })
    : withConversation(s, {
      unconfirmed,
      conversationId: s.conversation.pendingConversationId ?? s.conversation.conversationId,
      pendingConversationId: undefined
    })
}
