/** Function calls: run by the session (auto) or answered by the app (manual); outputs always reach the model. */
import { UnknownCallError } from "../../Errors.js"
import type * as Gen from "../../Generation.js"
import * as Tool from "../../Tool.js"
import * as Replies from "./replies.js"
import type { Out, Response, SessionState } from "./state.js"
import { MAX_TRACKED } from "./state.js"

/** True for a call the server runs itself: the client must not answer it. */
export const isServerSide = (s: SessionState, call: Gen.FunctionCall): boolean =>
  !s.tools.some((t) => Tool.isFunctionTool(t) && t.name === call.name) &&
  Tool.isServerSideName(s.tools, call.name, s.config.dialect.serverToolNames)

/**
 * A response with function calls ended. Auto: the calls run (`RunTools`), and a completed response
 * asks for a reply once the outputs are in. Manual: the calls wait for `sendToolOutput`.
 */
export const callsEnded = (s: SessionState, response: Response, reply: boolean, out: Out): SessionState => {
  if (s.config.toolExecution === "auto") {
    out.push({ _tag: "RunTools", responseId: response.responseId, calls: response.calls, reply })
    return s
  }
  const waiting = response.calls.filter((call) => !isServerSide(s, call)).map((call) => ({ call, responseId: response.responseId }))
  const manualCalls = [...s.manualCalls, ...waiting]
  return { ...s, manualCalls: manualCalls.length > MAX_TRACKED ? manualCalls.slice(-MAX_TRACKED) : manualCalls }
}

const sendOutput = (call: Gen.FunctionCall, output: string, out: Out) => {
  out.push({
    _tag: "Send",
    event: { type: "conversation.item.create", item: { type: "function_call_output", call_id: call.callId, output } }
  })
  out.push({ _tag: "Emit", event: { _tag: "FunctionCallExecuted", call, output } })
}

/** The tools' outputs (auto): always sent, even when the response was interrupted meanwhile; then one reply. */
export const outputs = (
  s: SessionState,
  input: {
    readonly responseId: string
    readonly outputs: ReadonlyArray<{ readonly call: Gen.FunctionCall; readonly output: string }>
    readonly reply: boolean
  },
  now: number,
  out: Out
): SessionState => {
  if (s.phase._tag === "Closed") return s
  for (const { call, output } of input.outputs) sendOutput(call, output, out)
  if (!input.reply || input.outputs.length === 0) return s
  return Replies.request(s, { id: `tool_reply_${input.responseId}`, instructions: undefined, userInitiated: false }, now, out)
}

/** `sendToolOutput` (manual): answers a call the session holds; anything else is a typed error. */
export const manualOutput = (s: SessionState, opId: number, callId: string, output: string, out: Out): SessionState => {
  if (s.phase._tag === "Closed") {
    out.push({ _tag: "Complete", opId, result: { _tag: "Failed", error: s.phase.error } })
    return s
  }
  const waiting = s.manualCalls.find((m) => m.call.callId === callId)
  if (waiting === undefined) {
    out.push({
      _tag: "Complete",
      opId,
      result: {
        _tag: "Failed",
        error: new UnknownCallError({
          message: "no function call with this id is waiting for an output",
          callId: callId.slice(0, 128)
        })
      }
    })
    return s
  }
  sendOutput(waiting.call, output, out)
  out.push({ _tag: "Complete", opId, result: { _tag: "Ok" } })
  return { ...s, manualCalls: s.manualCalls.filter((m) => m !== waiting) }
}
