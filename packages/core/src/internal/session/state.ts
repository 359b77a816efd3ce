/** The session engine's state: one typed, immutable value, and the inputs and actions of its transitions. */
import type * as Chat from "../../ChatContext.js"
import type { ConnectionError, FatalError, ProtocolError, TimeoutError, UnknownCallError } from "../../Errors.js"
import type * as Gen from "../../Generation.js"
import type * as Protocol from "../../Protocol.js"
import type { Dialect, RealtimeModelOptions } from "../../RealtimeModel.js"
import type * as RS from "../../RealtimeSession.js"
import type * as Tool from "../../Tool.js"

/** What does not change during a session: the provider's dialect and the session's tuning. */
export interface Config {
  readonly dialect: Dialect
  readonly replyTimeoutMs: number
  readonly ackTimeoutMs: number
  readonly toolExecution: "auto" | "manual"
  /** The provider's `session` object for (partial) options. */
  readonly sessionConfig: (options: Partial<RealtimeModelOptions>) => Protocol.SessionConfig
  /** Removes the session's secrets from server text. */
  readonly scrub: (text: string) => string
}

/** The connection as the session sees it. */
export type Phase =
  | { readonly _tag: "Connecting" }
  | { readonly _tag: "Open"; readonly connection: number }
  | { readonly _tag: "Reconnecting" }
  | { readonly _tag: "Closed"; readonly error: FatalError }

/** An assistant message of the current response. */
export interface Message {
  readonly itemId: string
  readonly modalities: Gen.Modalities | undefined
  readonly audioEnded: boolean
  /** Transcript or text received so far (the mirror's copy of the message). */
  readonly text: string
  readonly audioSamples: number
}

/** The response in progress. */
export interface Response {
  readonly responseId: string
  readonly replyId: string | undefined
  readonly userInitiated: boolean
  readonly createdAtMs: number
  readonly firstTokenAtMs: number | undefined
  readonly spoken: boolean
  readonly interrupted: boolean
  readonly messages: ReadonlyArray<Message>
  readonly calls: ReadonlyArray<Gen.FunctionCall>
}

/** A reply request (`generateReply`, or the session's own after tool outputs). */
export interface Reply {
  readonly id: string
  readonly instructions: string | undefined
  readonly userInitiated: boolean
  readonly deadlineMs: number
}

/**
 * A response the client gave up on (timed out, released, cancelled) that may still be active on the
 * server: no `response.create` goes out until its `response.done` arrives or `untilMs` passes.
 */
export interface Draining {
  /** The request's id while its `response.created` has not arrived. */
  readonly replyId: string | undefined
  readonly responseId: string | undefined
  readonly untilMs: number
}

/** The reply queue. */
export interface Replies {
  /** Not sent yet: another response is active. */
  readonly waiting: ReadonlyArray<Reply>
  /** Sent, waiting for their `response.created`. */
  readonly sent: ReadonlyArray<Reply>
  /** Responses given up on that may still be active (each bounded). */
  readonly draining: ReadonlyArray<Draining>
  /** Requests given up on: a response created for one of them is cancelled on arrival (most recent only). */
  readonly abandoned: ReadonlyArray<string>
}

/** An acknowledgement an operation waits for. */
export interface PendingAck {
  readonly opId: number
  readonly kind: "create" | "delete"
  readonly itemId: string
}

/** The server's conversation as mirrored here, and the operations that change it. */
export interface Conversation {
  readonly mirror: Chat.ChatContext
  readonly acks: ReadonlyArray<PendingAck>
  /** Chat-context syncs waiting for the one in flight (they are serialised). */
  readonly syncQueue: ReadonlyArray<{ readonly opId: number; readonly wanted: Chat.ChatContext }>
  /** xAI: the last revision of an input transcript, reported as final later. */
  readonly heldTranscript: { readonly itemId: string; readonly transcript: string } | undefined
  /** Audio received per assistant item (ms), for capping truncation; the most recent items only. */
  readonly audioMs: ReadonlyArray<readonly [string, number]>
  /** Items the server deleted lately: an assistant item that ends after its deletion stays out. */
  readonly deleted: ReadonlyArray<string>
  /** The server's conversation id (`conversation.created`), for resumption. */
  readonly conversationId: string | undefined
  /** Set while a resumed connection has not yet confirmed the conversation id. */
  readonly resuming: string | undefined
  /** History items re-sent on this connection that the server has not echoed yet. */
  readonly unconfirmed: ReadonlyArray<string>
  /** The conversation id that becomes resumable once the re-sent history is all echoed. */
  readonly pendingConversationId: string | undefined
}

/** Function calls waiting for the app's `sendToolOutput` (manual tool execution). */
export interface ManualCall {
  readonly call: Gen.FunctionCall
  readonly responseId: string
}

/** The whole session state. */
export interface SessionState {
  readonly config: Config
  readonly phase: Phase
  readonly options: RealtimeModelOptions
  readonly tools: ReadonlyArray<Tool.Tool>
  readonly current: Response | undefined
  readonly replies: Replies
  readonly conversation: Conversation
  readonly manualCalls: ReadonlyArray<ManualCall>
  /** Responses created this session (for ids of responses the server did not name). */
  readonly responseCount: number
}

/** Results an operation's waiter receives. */
export type OpResult =
  | { readonly _tag: "Ok"; readonly value?: unknown }
  | { readonly _tag: "Failed"; readonly error: FatalError | TimeoutError | ConnectionError | UnknownCallError }

/** What a generation ends with. */
export type Outcome =
  | { readonly _tag: "Done"; readonly summary: Gen.ResponseSummary }
  | { readonly _tag: "Failed"; readonly error: Gen.GenerationError }

/** Everything that drives the engine: server events, connection lifecycle, commands, timers. */
export type Input =
  | {
    readonly _tag: "Connected"
    readonly connection: number
    readonly reconnected: boolean
    /** The conversation id this connection asked to resume, if any. */
    readonly resumed: string | undefined
  }
  | { readonly _tag: "ServerEvent"; readonly event: Protocol.DecodedServerEvent }
  | { readonly _tag: "Malformed"; readonly error: ProtocolError }
  | { readonly _tag: "Disconnected"; readonly error: FatalError | undefined }
  | { readonly _tag: "Close"; readonly error: FatalError; readonly quiet: boolean }
  | {
    readonly _tag: "GenerateReply"
    readonly id: string
    readonly instructions: string | undefined
    readonly userInitiated: boolean
  }
  | { readonly _tag: "ReplyTimeout"; readonly id: string }
  | { readonly _tag: "ReplyAbandoned"; readonly id: string }
  | { readonly _tag: "DrainTimeout" }
  | { readonly _tag: "GenerationReleased"; readonly responseId: string }
  | { readonly _tag: "Interrupt" }
  | { readonly _tag: "Truncate"; readonly opId: number; readonly options: RS.TruncateOptions }
  | { readonly _tag: "SyncChat"; readonly opId: number; readonly wanted: Chat.ChatContext }
  | { readonly _tag: "AckTimeout"; readonly opId: number }
  | { readonly _tag: "UpdateOptions"; readonly opId: number; readonly options: Partial<RealtimeModelOptions> }
  | {
    readonly _tag: "UpdateTools"
    readonly opId: number
    readonly tools: ReadonlyArray<Tool.Tool>
    readonly definitions: ReadonlyArray<Protocol.ToolDefinition>
    readonly rejected: ReadonlyArray<{ readonly name: string; readonly reason: string }>
  }
  | {
    readonly _tag: "ToolOutputs"
    readonly responseId: string
    readonly outputs: ReadonlyArray<{ readonly call: Gen.FunctionCall; readonly output: string }>
    readonly reply: boolean
  }
  | { readonly _tag: "SendToolOutput"; readonly opId: number; readonly callId: string; readonly output: string }

/** What a transition asks the shell to do: data, interpreted by the dispatcher. */
export type Action =
  | { readonly _tag: "Send"; readonly event: Protocol.ClientEvent }
  | { readonly _tag: "Emit"; readonly event: RS.SessionEvent }
  | { readonly _tag: "OpenGeneration"; readonly responseId: string; readonly userInitiated: boolean }
  | { readonly _tag: "ResolveReply"; readonly replyId: string; readonly responseId: string }
  | { readonly _tag: "FailReply"; readonly replyId: string; readonly error: FatalError | TimeoutError }
  | { readonly _tag: "OpenMessage"; readonly responseId: string; readonly itemId: string }
  | { readonly _tag: "SetModalities"; readonly itemId: string; readonly modalities: Gen.Modalities }
  | { readonly _tag: "EndAudio"; readonly itemId: string }
  | { readonly _tag: "Text"; readonly itemId: string; readonly delta: Gen.TextDelta }
  | { readonly _tag: "Audio"; readonly itemId: string; readonly base64: string }
  | { readonly _tag: "CloseMessage"; readonly itemId: string }
  | { readonly _tag: "FunctionCall"; readonly responseId: string; readonly call: Gen.FunctionCall }
  | { readonly _tag: "FinishGeneration"; readonly responseId: string; readonly outcome: Outcome }
  | { readonly _tag: "Metrics"; readonly metrics: Gen.GenerationMetrics }
  | { readonly _tag: "Complete"; readonly opId: number; readonly result: OpResult }
  | { readonly _tag: "Timer"; readonly afterMs: number; readonly input: Input }
  | {
    readonly _tag: "RunTools"
    readonly responseId: string
    readonly calls: ReadonlyArray<Gen.FunctionCall>
    readonly reply: boolean
  }
  | { readonly _tag: "Log"; readonly message: string }
  /** The session is over: end every stream and subscription, close the connection. */
  | { readonly _tag: "Shutdown"; readonly error: FatalError; readonly quiet: boolean }

/** The state a session starts in. */
export const initial = (
  config: Config,
  options: RealtimeModelOptions,
  tools: ReadonlyArray<Tool.Tool>
): SessionState => ({
  config,
  phase: { _tag: "Connecting" },
  options,
  tools,
  current: undefined,
  replies: { waiting: [], sent: [], draining: [], abandoned: [] },
  conversation: {
    mirror: { items: [] },
    acks: [],
    syncQueue: [],
    heldTranscript: undefined,
    audioMs: [],
    deleted: [],
    conversationId: undefined,
    resuming: undefined,
    unconfirmed: [],
    pendingConversationId: undefined
  },
  manualCalls: [],
  responseCount: 0
})

/** Bound of the bookkeeping lists that only grow with the conversation. */
export const MAX_TRACKED = 256

/** The output audio rate (PCM16 mono). */
export const OUTPUT_RATE = 24_000

/** Milliseconds of output audio in `samples`. */
export const samplesToMs = (samples: number): number => (samples * 1000) / OUTPUT_RATE

/** A transition's running list of actions. Rules push to it; `step` returns it with the new state. */
export type Out = Array<Action>
