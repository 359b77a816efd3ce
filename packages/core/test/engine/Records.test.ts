/**
 * The engine's per-frame values are class instances, not literals: V8 may decide to allocate every
 * object of a literal in the old generation once it saw enough of them survive, and per-frame
 * values made there held each frame's base64 until a full GC (internal/session/records.ts). That
 * decision takes about a million allocations, too many for a unit test to provoke, so this checks the
 * shape that makes it impossible. `stepInto`, the shell's allocation-free `step`, gives what `step` gives.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Action, Input, SessionState } from "../../src/internal/session/state.js"
import { step, stepInto } from "../../src/internal/session/step.js"
import { engine, makeState, S } from "./helpers.js"

const fromLiteral = (value: unknown): boolean => Object.getPrototypeOf(value) === Object.prototype

/** A reply requested, created, and its audio message opened. */
const streaming = () => {
  const e = engine("xai")
  e.run({ _tag: "GenerateReply", id: "r1", instructions: undefined, userInitiated: true })
  e.run(S.responseCreated("resp1", "r1"), S.outputItemAdded("resp1", "a1"), S.partAdded("resp1", "a1", "audio"))
  return e
}

describe("the engine's per-frame values", () => {
  it("an audio delta's state, response, message and action are class instances", () => {
    const e = streaming()
    e.run(S.audioDelta("resp1", "a1"))
    const actions = e.run(S.audioDelta("resp1", "a1", "AQIDBAUG"))
    const audio = actions.filter((a) => a._tag === "Audio")
    assert.strictEqual(audio.length, 1)
    assert.isFalse(fromLiteral(audio[0]))
    assert.isFalse(fromLiteral(e.state))
    assert.isFalse(fromLiteral(e.state.current))
    assert.isFalse(fromLiteral(e.state.current!.messages[0]))
    assert.strictEqual(e.state.current!.messages[0]!.audioSamples, 3 + 3)
  })

  it("a transcript delta's action is a class instance", () => {
    const e = streaming()
    const actions = e.run(S.transcriptDelta("resp1", "a1", "Hi"))
    const text = actions.filter((a) => a._tag === "Text")
    assert.strictEqual(text.length, 1)
    assert.isFalse(fromLiteral(text[0]))
    assert.deepStrictEqual({ ...text[0] }, { _tag: "Text", itemId: "a1", delta: { text: "Hi" } })
  })

  it("stepInto gives step's state and actions, through one reused array", () => {
    const inputs: ReadonlyArray<Input> = [
      { _tag: "Connected", connection: 1, reconnected: false, resumed: undefined },
      { _tag: "GenerateReply", id: "r1", instructions: undefined, userInitiated: true },
      S.responseCreated("resp1", "r1"),
      S.outputItemAdded("resp1", "a1"),
      S.partAdded("resp1", "a1", "audio"),
      S.audioDelta("resp1", "a1"),
      S.transcriptDelta("resp1", "a1", "Hi "),
      S.audioDelta("resp1", "a1"),
      S.messageDone("resp1", "a1", [{ type: "audio", transcript: "Hi " }]),
      S.responseDone("resp1")
    ]
    let viaStep: SessionState = makeState("xai")
    let viaInto: SessionState = viaStep
    const out: Array<Action> = []
    for (const input of inputs) {
      const t = step(viaStep, input, 10)
      viaStep = t.state
      viaInto = stepInto(viaInto, input, 10, out)
      assert.deepStrictEqual(out, [...t.actions], input._tag)
      out.length = 0
    }
    assert.deepStrictEqual(viaInto, viaStep)
  })
})
