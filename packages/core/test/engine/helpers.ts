/** Helpers for testing the pure session engine: a state per dialect, decoded server events, a stepper with a fake clock. */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type * as Chat from "../../src/ChatContext.js"
import * as OpenAI from "../../src/OpenAI.js"
import * as Protocol from "../../src/Protocol.js"
import type { RealtimeModelService } from "../../src/RealtimeModel.js"
import * as Xai from "../../src/Xai.js"
import type { Action, Config, Input, SessionState } from "../../src/internal/session/state.js"
import { initial } from "../../src/internal/session/state.js"
import { step } from "../../src/internal/session/step.js"
import type * as Tool from "../../src/Tool.js"

export type DialectName = "xai" | "openai"

/** The provider's model service (a fake key; nothing connects). */
export const model = (dialect: DialectName): RealtimeModelService => {
  const apiKey = Redacted.make("test-key")
  return Effect.runSync(dialect === "xai" ? Xai.make({ apiKey }) : OpenAI.make({ apiKey }))
}

export const REPLY_TIMEOUT = 1_000
export const ACK_TIMEOUT = 1_000

/** A session state for the dialect, built with `initial` as the session does. */
export const makeState = (
  dialect: DialectName,
  overrides: Partial<Omit<Config, "dialect">> = {},
  tools: ReadonlyArray<Tool.Tool> = []
): SessionState => {
  const m = model(dialect)
  const config: Config = {
    dialect: dialect === "xai" ? Xai.dialect : OpenAI.dialect,
    replyTimeoutMs: REPLY_TIMEOUT,
    ackTimeoutMs: ACK_TIMEOUT,
    toolExecution: "auto",
    sessionConfig: m.sessionConfig,
    scrub: m.scrub,
    ...overrides
  }
  return initial(config, m.options, tools)
}

/** A server event as the connection hands it over: JSON text through the real decoder. */
export const ev = (json: Record<string, unknown>): Input => {
  const decoded = Protocol.decodeServerEvent(JSON.stringify(json))
  if (Either.isLeft(decoded)) throw new Error(`test event does not decode: ${decoded.left.message}`)
  return { _tag: "ServerEvent", event: decoded.right }
}

type Part = { readonly type: string; readonly text?: string; readonly transcript?: string }

/** Server events, by name. */
export const S = {
  conversationCreated: (id: string) => ev({ type: "conversation.created", conversation: { id, object: "realtime.conversation" } }),
  responseCreated: (id: string, replyId?: string) =>
    ev({
      type: "response.created",
      response: { id, object: "realtime.response", status: "in_progress", ...(replyId !== undefined ? { metadata: { client_event_id: replyId } } : {}) }
    }),
  responseDone: (id: string, status: string | undefined = "completed", extra: Record<string, unknown> = {}) =>
    ev({ type: "response.done", response: { id, ...(status !== undefined ? { status } : {}), ...extra } }),
  outputItemAdded: (responseId: string, itemId: string) =>
    ev({
      type: "response.output_item.added",
      response_id: responseId,
      output_index: 0,
      item: { id: itemId, type: "message", role: "assistant", content: [] }
    }),
  partAdded: (responseId: string, itemId: string, type: "audio" | "text") =>
    ev({
      type: "response.content_part.added",
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      part: type === "audio" ? { type: "audio", transcript: "" } : { type: "text", text: "" }
    }),
  audioDelta: (responseId: string, itemId: string, delta = "AAAAAAAA") =>
    ev({ type: "response.output_audio.delta", response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, delta }),
  transcriptDelta: (responseId: string, itemId: string, delta: string) =>
    ev({ type: "response.output_audio_transcript.delta", response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, delta }),
  textDelta: (responseId: string, itemId: string, delta: string) =>
    ev({ type: "response.output_text.delta", response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, delta }),
  messageDone: (responseId: string, itemId: string, content: ReadonlyArray<Part> = []) =>
    ev({
      type: "response.output_item.done",
      response_id: responseId,
      output_index: 0,
      item: { id: itemId, type: "message", role: "assistant", status: "completed", content }
    }),
  callDone: (responseId: string, itemId: string, callId: string, name: string, args = "{}") =>
    ev({
      type: "response.output_item.done",
      response_id: responseId,
      output_index: 0,
      item: { id: itemId, type: "function_call", call_id: callId, name, arguments: args, status: "completed" }
    }),
  itemAdded: (previous: string | null | undefined, item: Record<string, unknown>) =>
    ev({ type: "conversation.item.added", ...(previous !== undefined ? { previous_item_id: previous } : {}), item }),
  userItem: (id: string, text = "") => ({ id, type: "message", role: "user", content: [{ type: "input_text", text }] }),
  assistantItem: (id: string, content: ReadonlyArray<Part> = []) => ({ id, type: "message", role: "assistant", content }),
  itemDeleted: (id: string) => ev({ type: "conversation.item.deleted", item_id: id }),
  speechStarted: (itemId: string) => ev({ type: "input_audio_buffer.speech_started", item_id: itemId, audio_start_ms: 0 }),
  error: (message: string, fields: { readonly code?: string; readonly event_id?: string; readonly type?: string } = {}) =>
    ev({ type: "error", error: { type: fields.type ?? "invalid_request_error", message, ...fields } }),
  unknown: (type: string) => ev({ type, whatever: 1 })
} as const

/** A state driven through `step` with a fake clock; every action is kept. */
export class Engine {
  state: SessionState
  now = 0
  readonly log: Array<Action> = []
  private nextOp = 1

  constructor(state: SessionState) {
    this.state = state
  }

  /** Runs inputs in order; returns the actions of this call. */
  run(...inputs: ReadonlyArray<Input>): Array<Action> {
    const actions: Array<Action> = []
    for (const input of inputs) {
      const t = step(this.state, input, this.now)
      this.state = t.state
      actions.push(...t.actions)
    }
    this.log.push(...actions)
    return actions
  }

  advance(ms: number): this {
    this.now += ms
    return this
  }

  opId(): number {
    return this.nextOp++
  }

  /** A first connection, open. */
  connect(connection = 1): this {
    this.run({ _tag: "Connected", connection, reconnected: false, resumed: undefined })
    return this
  }
}

export const engine = (
  dialect: DialectName,
  overrides: Partial<Omit<Config, "dialect">> = {},
  tools: ReadonlyArray<Tool.Tool> = []
): Engine => new Engine(makeState(dialect, overrides, tools)).connect()

// Action filters -----------------------------------------------------------------------------

export type ActionOf<T extends Action["_tag"]> = Extract<Action, { readonly _tag: T }>

export const only = <T extends Action["_tag"]>(actions: ReadonlyArray<Action>, tag: T): Array<ActionOf<T>> =>
  actions.filter((a): a is ActionOf<T> => a._tag === tag)

/** The client events sent. */
export const sent = (actions: ReadonlyArray<Action>): Array<Protocol.ClientEvent> => only(actions, "Send").map((a) => a.event)

/** The types of the client events sent. */
export const sentTypes = (actions: ReadonlyArray<Action>): Array<string> => sent(actions).map((e) => e.type)

/** The ids of the mirror's items, in order. */
export const mirrorIds = (state: SessionState): Array<string> => state.conversation.mirror.items.map((i) => i.id)

/** A mirror item by id. */
export const mirrorItem = (state: SessionState, id: string): Chat.ChatItem | undefined =>
  state.conversation.mirror.items.find((i) => i.id === id)
