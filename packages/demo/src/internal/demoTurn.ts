/**
 * The demo's notion of "the conversation turn is over": a pure state machine fed with session
 * events and finished generations.
 *
 * @internal
 */
import type * as RealtimeSession from "@realtime-fx/core/RealtimeSession"

/** What the demo knows about the turn in progress. */
export interface TurnState {
  /** A connection to the server is open. */
  readonly connected: boolean
  /** A connection was open at least once. */
  readonly everConnected: boolean
  /** All input audio (speech and trailing silence) has been pushed. */
  readonly audioSent: boolean
  /** Speech started and has not stopped yet. */
  readonly speaking: boolean
  /** Speech was detected at least once. */
  readonly speechSeen: boolean
  /** Speech stopped and no generation was created since (server VAD will answer). */
  readonly turnPending: boolean
  /** A tool output was sent; the reply to it has not been created yet. */
  readonly toolReplyPending: boolean
  /** Generations announced on the events stream. */
  readonly created: ReadonlySet<string>
  /** Generations whose streams have been consumed to the end (or failed). */
  readonly finished: ReadonlySet<string>
  /** Finished generations that produced reply text or audio. */
  readonly replies: number
}

/** Nothing sent, nothing heard. */
export const initial: TurnState = {
  connected: false,
  everConnected: false,
  audioSent: false,
  speaking: false,
  speechSeen: false,
  turnPending: false,
  toolReplyPending: false,
  created: new Set(),
  finished: new Set(),
  replies: 0
}

const add = (set: ReadonlySet<string>, id: string): ReadonlySet<string> => new Set([...set, id])

/** Applies a session event. */
export const onEvent = (state: TurnState, event: RealtimeSession.SessionEvent): TurnState => {
  switch (event._tag) {
    case "Connected":
    case "Reconnected":
      return { ...state, connected: true, everConnected: true }
    case "Disconnected":
      return { ...state, connected: false }
    case "SpeechStarted":
      return { ...state, speaking: true, speechSeen: true }
    case "SpeechStopped":
      return { ...state, speaking: false, turnPending: true }
    case "GenerationCreated":
      return { ...state, turnPending: false, toolReplyPending: false, created: add(state.created, event.responseId) }
    case "FunctionCallExecuted":
      return { ...state, toolReplyPending: true }
    default:
      return state
  }
}

/** Marks all input audio as pushed. */
export const onAudioSent = (state: TurnState): TurnState => ({ ...state, audioSent: true })

/** Records a generation whose streams ended; `replied` when it produced text or audio. */
export const onFinished = (state: TurnState, responseId: string, replied: boolean): TurnState => ({
  ...state,
  finished: add(state.finished, responseId),
  replies: state.replies + (replied ? 1 : 0)
})

/** The turn is over: everything sent, nobody speaking, nothing pending, and a reply was heard. */
export const isDone = (state: TurnState): boolean =>
  state.audioSent &&
  !state.speaking &&
  !state.turnPending &&
  !state.toolReplyPending &&
  state.replies > 0 &&
  [...state.created].every((id) => state.finished.has(id))

/**
 * What the demo is still waiting for, in words (for the timeout message). A missing connection
 * comes first: without one, nothing else (speech, replies) could have happened.
 */
export const waitingFor = (state: TurnState): string => {
  if (!state.everConnected) return "no connection to the server yet (it has not answered)"
  if (!state.connected) return "the connection to the server was lost and not re-established"
  if (!state.audioSent) return "the input audio was still being sent"
  if (!state.speechSeen) return "no speech was detected in the input audio"
  if (state.speaking) return "the server never detected the end of speech"
  if (state.turnPending) return "no response was created after the speech stopped"
  if (state.toolReplyPending) return "no reply came after the tool output"
  if (![...state.created].every((id) => state.finished.has(id))) return "a response never finished"
  return "no reply text or audio was received"
}
