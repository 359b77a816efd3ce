/** The session's per-frame values (state copies, inputs, actions, received frames) as class instances, which V8 never pretenures. */
import type * as AudioFrame from "../../AudioFrame.js"
import type * as Gen from "../../Generation.js"
import type * as Protocol from "../../Protocol.js"
import type { Message, Response, SessionState } from "./state.js"
import { OUTPUT_RATE } from "./state.js"

// Why classes: V8 tracks where object and array literals are allocated. When objects from one
// literal are found alive at a young-generation GC often enough, V8 decides to allocate every later
// one from it straight in the old generation ("pretenuring"). A per-frame value then dies there, and
// holds what it points to (the frame's base64, the previous state's parts) through every young GC
// until the next full one. At hundreds of sessions that tipped processes into a mark-compact every
// half second. Objects made by `new` are never pretenured. Fields are assigned in one order, so each
// class keeps one hidden class.

/** A copy of the session state (the per-delta path; other rules spread). */
export class StateRecord implements SessionState {
  declare readonly config: SessionState["config"]
  declare readonly phase: SessionState["phase"]
  declare readonly options: SessionState["options"]
  declare readonly tools: SessionState["tools"]
  declare readonly current: Response | undefined
  declare readonly replies: SessionState["replies"]
  declare readonly conversation: SessionState["conversation"]
  declare readonly manualCalls: SessionState["manualCalls"]
  declare readonly responseCount: number
  constructor(s: SessionState, current: Response | undefined) {
    this.config = s.config
    this.phase = s.phase
    this.options = s.options
    this.tools = s.tools
    this.current = current
    this.replies = s.replies
    this.conversation = s.conversation
    this.manualCalls = s.manualCalls
    this.responseCount = s.responseCount
  }
}

/** A copy of a response with new messages. */
export class ResponseRecord implements Response {
  declare readonly responseId: string
  declare readonly replyId: string | undefined
  declare readonly userInitiated: boolean
  declare readonly createdAtMs: number
  declare readonly firstTokenAtMs: number | undefined
  declare readonly spoken: boolean
  declare readonly interrupted: boolean
  declare readonly messages: ReadonlyArray<Message>
  declare readonly calls: ReadonlyArray<Gen.FunctionCall>
  constructor(r: Response, messages: ReadonlyArray<Message>) {
    this.responseId = r.responseId
    this.replyId = r.replyId
    this.userInitiated = r.userInitiated
    this.createdAtMs = r.createdAtMs
    this.firstTokenAtMs = r.firstTokenAtMs
    this.spoken = r.spoken
    this.interrupted = r.interrupted
    this.messages = messages
    this.calls = r.calls
  }
}

/** A copy of a message with new content. */
export class MessageRecord implements Message {
  declare readonly itemId: string
  declare readonly modalities: Gen.Modalities | undefined
  declare readonly audioEnded: boolean
  declare readonly text: string
  declare readonly audioSamples: number
  constructor(m: Message, text: string, audioSamples: number) {
    this.itemId = m.itemId
    this.modalities = m.modalities
    this.audioEnded = m.audioEnded
    this.text = text
    this.audioSamples = audioSamples
  }
}

/** A server event as the engine's input. */
export class ServerEventInput {
  declare readonly _tag: "ServerEvent"
  declare readonly event: Protocol.DecodedServerEvent
  constructor(event: Protocol.DecodedServerEvent) {
    this._tag = "ServerEvent"
    this.event = event
  }
}

/** A received audio delta for a message's consumer (decoded by the shell). */
export class AudioAction {
  declare readonly _tag: "Audio"
  declare readonly itemId: string
  declare readonly base64: string
  constructor(itemId: string, base64: string) {
    this._tag = "Audio"
    this.itemId = itemId
    this.base64 = base64
  }
}

/** A text or transcript delta for a message's consumer. */
export class TextAction {
  declare readonly _tag: "Text"
  declare readonly itemId: string
  declare readonly delta: Gen.TextDelta
  constructor(itemId: string, delta: Gen.TextDelta) {
    this._tag = "Text"
    this.itemId = itemId
    this.delta = delta
  }
}

/** A received frame of 24 kHz mono, as handed to a message's audio consumer. */
export class ReceivedFrame implements AudioFrame.AudioFrame {
  declare readonly data: Int16Array
  declare readonly sampleRate: number
  declare readonly channels: number
  constructor(data: Int16Array) {
    this.data = data
    this.sampleRate = OUTPUT_RATE
    this.channels = 1
  }
}
