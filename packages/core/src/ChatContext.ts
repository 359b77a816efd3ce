/**
 * The conversation as pure data: chat items, the mirror of the server's conversation, and the
 * diff that turns one into another.
 *
 * @since 0.1.0
 */

/**
 * A piece of message content: plain text, an image, or the transcript of audio.
 *
 * @since 0.1.0
 * @category models
 */
export type ChatContent =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image"; readonly imageUrl: string }
  | { readonly type: "audio"; readonly transcript: string }

/**
 * A message of the conversation.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChatMessage {
  readonly type: "message"
  readonly id: string
  readonly role: "system" | "developer" | "user" | "assistant"
  readonly content: ReadonlyArray<ChatContent>
}

/**
 * A function call made by the model.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChatFunctionCall {
  readonly type: "function_call"
  readonly id: string
  readonly callId: string
  readonly name: string
  readonly arguments: string
}

/**
 * The output of a function call, sent back to the model.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChatFunctionCallOutput {
  readonly type: "function_call_output"
  readonly id: string
  readonly callId: string
  readonly output: string
}

/**
 * One item of the conversation.
 *
 * @since 0.1.0
 * @category models
 */
export type ChatItem = ChatMessage | ChatFunctionCall | ChatFunctionCallOutput

/**
 * An ordered conversation.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChatContext {
  readonly items: ReadonlyArray<ChatItem>
}

/**
 * The empty conversation.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: ChatContext = { items: [] }

/**
 * Builds a conversation from items.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (items: ReadonlyArray<ChatItem>): ChatContext => ({ items })

/**
 * A text message.
 *
 * @since 0.1.0
 * @category constructors
 */
export const message = (id: string, role: ChatMessage["role"], text: string): ChatMessage => ({
  type: "message",
  id,
  role,
  content: [{ type: "text", text }]
})

/**
 * The text of a message: its text parts and transcripts, joined.
 *
 * @since 0.1.0
 * @category getters
 */
export const textOf = (item: ChatMessage): string =>
  item.content.map((c) => (c.type === "text" ? c.text : c.type === "audio" ? c.transcript : "")).join("")

/**
 * True when an item carries nothing that can be synced (e.g. audio not yet transcribed).
 *
 * @since 0.1.0
 * @category guards
 */
export const isEmpty = (item: ChatItem): boolean =>
  item.type === "message" && item.content.every((c) => (c.type === "text" ? c.text : c.type === "audio" ? c.transcript : c.imageUrl) === "")

/**
 * Structural equality of two items (ids included).
 *
 * @since 0.1.0
 * @category equivalence
 */
export const itemEquals = (a: ChatItem, b: ChatItem): boolean => JSON.stringify(a) === JSON.stringify(b)

// ---------------------------------------------------------------------------
// The remote mirror: the server's conversation as a list ordered by previous_item_id.
// ---------------------------------------------------------------------------

/**
 * Inserts an item after `previousId`; `null` inserts at the start, and an id the mirror does not
 * know (xAI may name one it never announced) appends at the end. An item already present is replaced.
 *
 * @since 0.1.0
 * @category mirror
 */
export const insertAfter = (ctx: ChatContext, previousId: string | null | undefined, item: ChatItem): ChatContext => {
  const items = ctx.items.filter((i) => i.id !== item.id)
  if (previousId === null) return { items: [item, ...items] }
  const at = previousId === undefined ? -1 : items.findIndex((i) => i.id === previousId)
  if (at < 0) return { items: [...items, item] }
  return { items: [...items.slice(0, at + 1), item, ...items.slice(at + 1)] }
}

/**
 * Removes an item by id (no change if absent).
 *
 * @since 0.1.0
 * @category mirror
 */
export const remove = (ctx: ChatContext, id: string): ChatContext => ({ items: ctx.items.filter((i) => i.id !== id) })

/**
 * Appends a transcript to a mirrored message (as audio transcript content).
 *
 * @since 0.1.0
 * @category mirror
 */
export const appendTranscript = (ctx: ChatContext, id: string, transcript: string): ChatContext => ({
  items: ctx.items.map((i) =>
    i.id === id && i.type === "message"
      ? { ...i, content: [...i.content.filter((c) => c.type !== "audio" || c.transcript !== ""), { type: "audio", transcript }] }
      : i
  )
})

/**
 * Sets the transcript of a mirrored message: its audio transcript is replaced (or added), so a
 * re-transcription does not duplicate text.
 *
 * @since 0.1.0
 * @category mirror
 */
export const setTranscript = (ctx: ChatContext, id: string, transcript: string): ChatContext => ({
  items: ctx.items.map((i) =>
    i.id === id && i.type === "message"
      ? { ...i, content: [...i.content.filter((c) => c.type !== "audio"), { type: "audio", transcript }] }
      : i
  )
})

/**
 * Replaces a mirrored message's content.
 *
 * @since 0.1.0
 * @category mirror
 */
export const setContent = (ctx: ChatContext, id: string, content: ReadonlyArray<ChatContent>): ChatContext => ({
  items: ctx.items.map((i) => (i.id === id && i.type === "message" ? { ...i, content } : i))
})

// ---------------------------------------------------------------------------
// Diff
// ---------------------------------------------------------------------------

/**
 * What to send to turn the remote conversation into the wanted one: deletions first, then
 * creations in order, each after the previous id (`null` = at the start).
 *
 * @since 0.1.0
 * @category models
 */
export interface ChatDiff {
  readonly toRemove: ReadonlyArray<string>
  readonly toCreate: ReadonlyArray<{ readonly previousId: string | null; readonly item: ChatItem }>
}

const longestCommonSubsequence = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): ReadonlySet<string> => {
  const n = a.length
  const m = b.length
  const table: Array<Uint32Array> = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i]![j] = a[i] === b[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!)
    }
  }
  const kept = new Set<string>()
  let i = 0
  let j = 0
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      kept.add(a[i]!)
      i++
      j++
    } else if (table[i + 1]![j]! >= table[i]![j + 1]!) i++
    else j++
  }
  return kept
}

/**
 * The minimal diff from `remote` to `wanted`: items kept in the same relative order stay; the rest
 * are removed and created; a kept item whose content changed is removed and created again (an
 * update), except when the remote copy is empty (audio or images are not synced down, so an empty
 * remote item is left alone, and never removed even when `wanted` leaves it out).
 *
 * @since 0.1.0
 * @category diff
 */
export const diff = (remote: ChatContext, wanted: ChatContext): ChatDiff => {
  const remoteById = new Map(remote.items.map((i) => [i.id, i]))
  const kept = longestCommonSubsequence(remote.items.map((i) => i.id), wanted.items.map((i) => i.id))
  const unchanged = new Set<string>()
  for (const id of kept) {
    const before = remoteById.get(id)!
    const after = wanted.items.find((i) => i.id === id)!
    if (isEmpty(before) || itemEquals(before, after)) unchanged.add(id)
  }
  // A remote item whose content is empty (audio or images are not synced down) is never deleted:
  // the caller cannot have meant to drop what it never saw.
  const wantedIds = new Set(wanted.items.map((i) => i.id))
  const toRemove = remote.items
    .filter((i) => !unchanged.has(i.id) && !(isEmpty(i) && !wantedIds.has(i.id)))
    .map((i) => i.id)
  const toCreate: Array<{ previousId: string | null; item: ChatItem }> = []
  let previousId: string | null = null
  for (const item of wanted.items) {
    if (!unchanged.has(item.id)) toCreate.push({ previousId, item })
    previousId = item.id
  }
  return { toRemove, toCreate }
}

/**
 * Applies a diff to a conversation (what the server does with the events the diff sends).
 *
 * @since 0.1.0
 * @category diff
 */
export const applyDiff = (ctx: ChatContext, d: ChatDiff): ChatContext => {
  let out = d.toRemove.reduce(remove, ctx)
  for (const { item, previousId } of d.toCreate) out = insertAfter(out, previousId, item)
  return out
}

/**
 * The items re-created on a new connection: messages with text, in order, without function calls,
 * instructions (system/developer) or empty messages.
 *
 * @since 0.1.0
 * @category diff
 */
export const forReplay = (ctx: ChatContext): ReadonlyArray<ChatMessage> =>
  ctx.items.filter((i): i is ChatMessage =>
    i.type === "message" && (i.role === "user" || i.role === "assistant") && textOf(i) !== ""
  )
