/** The engine's rules, one test each, calling the pure transition `step` with no fiber, socket or clock. */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Chat from "../../src/ChatContext.js"
import { AuthenticationError, ConnectionError, ServerError, SessionClosedError } from "../../src/Errors.js"
import { replay, resumeId as resumeIdOf } from "../../src/internal/session/conversation.js"
import { engine, type Engine, model as modelOf, mirrorIds, mirrorItem, only, REPLY_TIMEOUT, S, sent, sentTypes } from "./helpers.js"

/** A reply requested and created: `replyId` -> `responseId` is the current response. */
const startReply = (e: Engine, replyId: string, responseId: string) => {
  e.run({ _tag: "GenerateReply", id: replyId, instructions: undefined, userInitiated: true })
  return e.run(S.responseCreated(responseId, replyId))
}

const createsOf = (events: ReadonlyArray<{ readonly type: string }>) =>
  events.filter((e): e is Extract<typeof e, { type: "conversation.item.create" }> & { item: { id?: string } } =>
    e.type === "conversation.item.create"
  ) as unknown as Array<{ readonly item: Record<string, unknown>; readonly previous_item_id?: string }>

describe("engine rules", () => {
  // -------------------------------------------------------------------------------------------
  // 1. Assistant replies reach the mirror; a new connection's replay re-creates both sides in order.
  // -------------------------------------------------------------------------------------------
  describe("1. assistant replies in the mirror", () => {
    it("an audio reply's transcript deltas enter the mirror (the server announces the item empty)", () => {
      const e = engine("xai")
      e.run(S.itemAdded(undefined, S.userItem("u1", "hello")))
      startReply(e, "r1", "resp1")
      e.run(
        S.outputItemAdded("resp1", "a1"),
        S.itemAdded("u1", S.assistantItem("a1")),
        S.partAdded("resp1", "a1", "audio"),
        S.audioDelta("resp1", "a1"),
        S.transcriptDelta("resp1", "a1", "Hi "),
        S.transcriptDelta("resp1", "a1", "there"),
        S.messageDone("resp1", "a1", [{ type: "audio", transcript: "" }]),
        S.responseDone("resp1")
      )
      assert.deepStrictEqual(mirrorIds(e.state), ["u1", "a1"])
      assert.deepStrictEqual(mirrorItem(e.state, "a1"), {
        type: "message",
        id: "a1",
        role: "assistant",
        content: [{ type: "audio", transcript: "Hi there" }]
      })
    })

    it("the server's copy in output_item.done wins when it carries the transcript", () => {
      const e = engine("openai")
      startReply(e, "r1", "resp1")
      e.run(
        S.outputItemAdded("resp1", "a1"),
        S.itemAdded(null, S.assistantItem("a1")),
        S.messageDone("resp1", "a1", [{ type: "audio", transcript: "From the server" }]),
        S.responseDone("resp1")
      )
      assert.deepStrictEqual(mirrorItem(e.state, "a1"), {
        type: "message",
        id: "a1",
        role: "assistant",
        content: [{ type: "audio", transcript: "From the server" }]
      })
    })

    it("a text reply enters the mirror as text", () => {
      const e = engine("openai")
      startReply(e, "r1", "resp1")
      e.run(
        S.outputItemAdded("resp1", "a1"),
        S.partAdded("resp1", "a1", "text"),
        S.textDelta("resp1", "a1", "Just "),
        S.textDelta("resp1", "a1", "text"),
        S.messageDone("resp1", "a1"),
        S.responseDone("resp1")
      )
      assert.deepStrictEqual(mirrorItem(e.state, "a1"), Chat.message("a1", "assistant", "Just text"))
    })

    it("a function call enters the mirror, and its output once the server acknowledges it", () => {
      const e = engine("xai")
      startReply(e, "r1", "resp1")
      const actions = e.run(S.callDone("resp1", "fc1", "call1", "lookup", "{\"q\":1}"), S.responseDone("resp1"))
      assert.deepStrictEqual(mirrorItem(e.state, "fc1"), {
        type: "function_call",
        id: "fc1",
        callId: "call1",
        name: "lookup",
        arguments: "{\"q\":1}"
      })
      const run = only(actions, "RunTools")
      assert.strictEqual(run.length, 1)
      const call = run[0]!.calls[0]!
      const outputs = e.run({ _tag: "ToolOutputs", responseId: "resp1", outputs: [{ call, output: "42" }], reply: true })
      assert.deepStrictEqual(sentTypes(outputs), ["conversation.item.create", "response.create"])
      // Not in the mirror until the server echoes it (with the id it chose).
      assert.isUndefined(e.state.conversation.mirror.items.find((i) => i.type === "function_call_output"))
      e.run(S.itemAdded("fc1", { id: "out1", type: "function_call_output", call_id: "call1", output: "42" }))
      assert.deepStrictEqual(mirrorIds(e.state), ["fc1", "out1"])
      assert.deepStrictEqual(mirrorItem(e.state, "out1"), { type: "function_call_output", id: "out1", callId: "call1", output: "42" })
    })

    it("the replay of a new connection re-creates both sides in order", () => {
      const e = engine("openai")
      e.run(S.itemAdded(undefined, S.userItem("u1", "first question")))
      startReply(e, "r1", "resp1")
      e.run(
        S.outputItemAdded("resp1", "a1"),
        S.itemAdded("u1", S.assistantItem("a1")),
        S.transcriptDelta("resp1", "a1", "first answer"),
        S.messageDone("resp1", "a1"),
        S.responseDone("resp1"),
        S.itemAdded("a1", S.userItem("u2", "second question"))
      )
      startReply(e, "r2", "resp2")
      e.run(
        S.outputItemAdded("resp2", "a2"),
        S.itemAdded("u2", S.assistantItem("a2")),
        S.textDelta("resp2", "a2", "second answer"),
        S.messageDone("resp2", "a2"),
        S.responseDone("resp2")
      )
      e.run({ _tag: "Disconnected", error: undefined })
      e.run({ _tag: "Connected", connection: 2, reconnected: true, resumed: undefined })
      const events = replay(e.state, false)
      assert.strictEqual(events[0]!.type, "session.update")
      const creates = createsOf(events.slice(1))
      assert.strictEqual(creates.length, events.length - 1)
      assert.deepStrictEqual(
        creates.map((c) => [c.item["id"], c.item["role"], (c.item["content"] as Array<{ text: string }>)[0]!.text]),
        [
          ["u1", "user", "first question"],
          ["a1", "assistant", "first answer"],
          ["u2", "user", "second question"],
          ["a2", "assistant", "second answer"]
        ]
      )
    })
  })

  // -------------------------------------------------------------------------------------------
  // 2. previous_item_id: null on a later item.
  // -------------------------------------------------------------------------------------------
  describe("2. null previous_item_id", () => {
    const run = (dialect: "xai" | "openai") => {
      const e = engine(dialect)
      e.run(S.itemAdded(undefined, S.userItem("u1", "a")), S.itemAdded("u1", S.userItem("u2", "b")), S.itemAdded(null, S.userItem("u3", "c")))
      return mirrorIds(e.state)
    }
    it("xAI: null means after the last item", () => {
      assert.deepStrictEqual(run("xai"), ["u1", "u2", "u3"])
    })
    it("xAI: null moves an item the mirror already holds (the replayed history) to the tail", () => {
      const e = engine("xai")
      e.run(S.itemAdded(undefined, S.userItem("u1", "a")), S.itemAdded("u1", S.userItem("u2", "b")))
      e.run(S.itemAdded(null, S.userItem("u1", "a")))
      assert.deepStrictEqual(mirrorIds(e.state), ["u2", "u1"])
    })
    it("OpenAI: null means the head", () => {
      assert.deepStrictEqual(run("openai"), ["u3", "u1", "u2"])
    })
  })

  // -------------------------------------------------------------------------------------------
  // 3. Chat syncs are serialised.
  // -------------------------------------------------------------------------------------------
  it("3. two SyncChat in a row send no duplicate create; the second starts after the first's acks", () => {
    const e = engine("openai")
    const m1 = Chat.message("m1", "user", "one")
    const m2 = Chat.message("m2", "user", "two")
    const first = e.run(
      { _tag: "SyncChat", opId: 1, wanted: Chat.make([m1]) },
      { _tag: "SyncChat", opId: 2, wanted: Chat.make([m1, m2]) }
    )
    assert.deepStrictEqual(createsOf(sent(first)).map((c) => c.item["id"]), ["m1"])
    assert.deepStrictEqual(only(first, "Complete"), [])
    const ack = e.run(S.itemAdded(null, { id: "m1", type: "message", role: "user", content: [{ type: "input_text", text: "one" }] }))
    assert.deepStrictEqual(only(ack, "Complete").map((c) => c.opId), [1])
    assert.deepStrictEqual(createsOf(sent(ack)).map((c) => [c.item["id"], c.previous_item_id]), [["m2", "m1"]])
    const ack2 = e.run(S.itemAdded("m1", { id: "m2", type: "message", role: "user", content: [{ type: "input_text", text: "two" }] }))
    assert.deepStrictEqual(only(ack2, "Complete").map((c) => [c.opId, c.result._tag]), [[2, "Ok"]])
    assert.deepStrictEqual(createsOf(sent(e.log)).map((c) => c.item["id"]), ["m1", "m2"])
    assert.deepStrictEqual(mirrorIds(e.state), ["m1", "m2"])
  })

  // -------------------------------------------------------------------------------------------
  // 4. The chat diff keeps empty remote items.
  // -------------------------------------------------------------------------------------------
  it("4. a chat sync never deletes a remote item whose content is empty (audio not synced down)", () => {
    const e = engine("xai")
    e.run(S.itemAdded(undefined, { id: "u1", type: "message", role: "user", content: [{ type: "input_audio" }] }))
    const actions = e.run({ _tag: "SyncChat", opId: 1, wanted: Chat.make([Chat.message("m1", "user", "typed")]) })
    assert.deepStrictEqual(sentTypes(actions), ["conversation.item.create"])
    assert.deepStrictEqual(mirrorIds(e.state), ["u1"])
  })

  // -------------------------------------------------------------------------------------------
  // 5. Truncating a text-only message with no transcript.
  // -------------------------------------------------------------------------------------------
  it("5. Truncate of a text-only message with no transcript sends nothing and completes", () => {
    const e = engine("openai")
    e.run(S.itemAdded(undefined, S.assistantItem("a1", [{ type: "text", text: "kept as is" }])))
    const actions = e.run({ _tag: "Truncate", opId: 7, options: { messageId: "a1", modalities: ["text"], audioEndMs: 500 } })
    assert.deepStrictEqual(sent(actions), [])
    assert.deepStrictEqual(only(actions, "Complete"), [{ _tag: "Complete", opId: 7, result: { _tag: "Ok" } }])
    assert.deepStrictEqual(mirrorItem(e.state, "a1"), Chat.message("a1", "assistant", "kept as is"))
  })

  // -------------------------------------------------------------------------------------------
  // 6. response.done with an unknown status or missing optional fields.
  // -------------------------------------------------------------------------------------------
  describe("6. lenient response.done", () => {
    for (const [name, status] of [["an unknown status", "expired"], ["no status at all", undefined]] as const) {
      it(`${name}: the generation closes and the next waiting reply is sent`, () => {
        const e = engine("openai")
        startReply(e, "r1", "resp1")
        const queued = e.run({ _tag: "GenerateReply", id: "r2", instructions: undefined, userInitiated: true })
        assert.deepStrictEqual(sent(queued), [])
        const actions = e.run(S.responseDone("resp1", status))
        const finish = only(actions, "FinishGeneration")
        assert.strictEqual(finish.length, 1)
        assert.strictEqual(finish[0]!.responseId, "resp1")
        assert.strictEqual(finish[0]!.outcome._tag, "Done")
        if (finish[0]!.outcome._tag === "Done") assert.strictEqual(finish[0]!.outcome.summary.status, status ?? "completed")
        const creates = sent(actions).filter((s) => s.type === "response.create")
        assert.deepStrictEqual(creates.map((c) => c.event_id), ["r2"])
        assert.isUndefined(e.state.current)
      })
    }
  })

  // -------------------------------------------------------------------------------------------
  // 7. A fatal error reaches the in-flight generation as itself.
  // -------------------------------------------------------------------------------------------
  describe("7. Disconnected with a fatal error", () => {
    const fatals = [
      new AuthenticationError({ message: "401 Unauthorized", status: 401 }),
      new ServerError({ message: "no quota", code: "insufficient_quota", fatal: true })
    ]
    for (const error of fatals) {
      it(`${error._tag}: the generation and the request in flight fail with that very error`, () => {
        const e = engine("xai")
        startReply(e, "r1", "resp1")
        e.run({ _tag: "GenerateReply", id: "r2", instructions: undefined, userInitiated: true })
        const actions = e.run({ _tag: "Disconnected", error })
        const finish = only(actions, "FinishGeneration")
        assert.strictEqual(finish.length, 1)
        assert.deepStrictEqual(finish[0]!.outcome, { _tag: "Failed", error })
        assert.strictEqual(finish[0]!.outcome._tag === "Failed" && finish[0]!.outcome.error, error)
        const disconnected = only(actions, "Emit").filter((a) => a.event._tag === "Disconnected")
        assert.strictEqual(disconnected.length, 1)
        assert.strictEqual((disconnected[0]!.event as { error?: unknown }).error, error)
      })
    }

    it("a retryable loss fails the generation with a retryable ConnectionError", () => {
      const e = engine("xai")
      startReply(e, "r1", "resp1")
      const finish = only(e.run({ _tag: "Disconnected", error: undefined }), "FinishGeneration")
      assert.strictEqual(finish.length, 1)
      const outcome = finish[0]!.outcome
      assert.isTrue(outcome._tag === "Failed" && outcome.error instanceof ConnectionError && outcome.error.retryable)
    })
  })

  // -------------------------------------------------------------------------------------------
  // 8. The reply queue.
  // -------------------------------------------------------------------------------------------
  describe("8. reply queue", () => {
    it("an expired waiting request is never sent: it fails with TimeoutError", () => {
      const e = engine("openai")
      startReply(e, "r1", "resp1")
      e.run({ _tag: "GenerateReply", id: "r2", instructions: undefined, userInitiated: true })
      e.advance(REPLY_TIMEOUT + 1)
      const actions = e.run(S.responseDone("resp1"))
      assert.deepStrictEqual(sentTypes(actions), [])
      const failed = only(actions, "FailReply")
      assert.deepStrictEqual(failed.map((f) => [f.replyId, f.error._tag]), [["r2", "TimeoutError"]])
      // Its timer firing later changes nothing.
      assert.deepStrictEqual(e.run({ _tag: "ReplyTimeout", id: "r2" }), [])
    })

    it("a timed-out request: its late response is cancelled; the next request waits for that response's done", () => {
      const e = engine("openai")
      e.run({ _tag: "GenerateReply", id: "r1", instructions: undefined, userInitiated: true })
      e.advance(REPLY_TIMEOUT)
      const timeout = e.run({ _tag: "ReplyTimeout", id: "r1" })
      assert.deepStrictEqual(only(timeout, "FailReply").map((f) => [f.replyId, f.error._tag]), [["r1", "TimeoutError"]])
      e.advance(100)
      const late = e.run(S.responseCreated("resp1", "r1"))
      assert.deepStrictEqual(sent(late), [{ type: "response.cancel", response_id: "resp1" }])
      assert.deepStrictEqual(only(late, "OpenGeneration"), [])
      e.advance(100)
      assert.deepStrictEqual(sentTypes(e.run({ _tag: "GenerateReply", id: "r2", instructions: undefined, userInitiated: true })), [])
      const done = e.run(S.responseDone("resp1", "cancelled"))
      assert.deepStrictEqual(sent(done).map((s) => [s.type, s.event_id]), [["response.create", "r2"]])
      assert.deepStrictEqual(only(done, "FinishGeneration"), [])
    })

    it("a timed-out request whose late response never ends: the next request goes out after the drain bound", () => {
      const e = engine("openai")
      e.run({ _tag: "GenerateReply", id: "r1", instructions: undefined, userInitiated: true })
      e.advance(REPLY_TIMEOUT)
      e.run({ _tag: "ReplyTimeout", id: "r1" })
      e.advance(100)
      const late = e.run(S.responseCreated("resp1", "r1"))
      assert.deepStrictEqual(sent(late), [{ type: "response.cancel", response_id: "resp1" }])
      // The bound counts from the response's arrival.
      assert.deepStrictEqual(only(late, "Timer").map((t) => [t.afterMs, t.input._tag]), [[REPLY_TIMEOUT, "DrainTimeout"]])
      e.advance(100)
      e.run({ _tag: "GenerateReply", id: "r2", instructions: undefined, userInitiated: true })
      e.advance(500)
      // Too early: the drain bound has not passed.
      assert.deepStrictEqual(sentTypes(e.run({ _tag: "DrainTimeout" })), [])
      e.advance(400)
      const actions = e.run({ _tag: "DrainTimeout" })
      assert.deepStrictEqual(sent(actions).map((s) => [s.type, s.event_id]), [["response.create", "r2"]])
    })

    it("a request abandoned by its caller after it was sent: its late response is cancelled too", () => {
      const e = engine("xai")
      e.run({ _tag: "GenerateReply", id: "r1", instructions: undefined, userInitiated: true })
      const abandoned = e.run({ _tag: "ReplyAbandoned", id: "r1" })
      assert.deepStrictEqual(only(abandoned, "FailReply"), [], "its caller is gone: nobody to fail")
      const late = e.run(S.responseCreated("resp1", "r1"))
      assert.deepStrictEqual(sent(late), [{ type: "response.cancel", response_id: "resp1" }])
      assert.deepStrictEqual(only(late, "OpenGeneration"), [])
    })

    it("a request abandoned by its caller after it was sent: the next waits for its response or the drain bound", () => {
      const e = engine("openai")
      e.run({ _tag: "GenerateReply", id: "r1", instructions: undefined, userInitiated: true })
      e.advance(100)
      e.run({ _tag: "ReplyAbandoned", id: "r1" })
      // r1's response is most likely on its way: r2 must not meet it on the server.
      assert.deepStrictEqual(sentTypes(e.run({ _tag: "GenerateReply", id: "r2", instructions: undefined, userInitiated: true })), [])
      e.run(S.responseCreated("resp1", "r1"))
      const done = e.run(S.responseDone("resp1", "cancelled"))
      assert.deepStrictEqual(sent(done).map((s) => [s.type, s.event_id]), [["response.create", "r2"]])
      // And when it never comes, the bound releases the queue.
      const f = engine("openai")
      f.run({ _tag: "GenerateReply", id: "r1", instructions: undefined, userInitiated: true })
      f.run({ _tag: "ReplyAbandoned", id: "r1" })
      f.advance(10)
      f.run({ _tag: "GenerateReply", id: "r2", instructions: undefined, userInitiated: true })
      f.advance(REPLY_TIMEOUT - 10)
      assert.deepStrictEqual(sent(f.run({ _tag: "DrainTimeout" })).map((s) => [s.type, s.event_id]), [["response.create", "r2"]])
    })

    for (const dialect of ["xai", "openai"] as const) {
      it(`${dialect}: a response that replaces the current one keeps the waiting request waiting`, () => {
        const e = engine(dialect)
        e.run(S.responseCreated("vad1"))
        e.run({ _tag: "GenerateReply", id: "r1", instructions: undefined, userInitiated: true })
        const replaced = e.run(S.responseCreated("vad2"))
        assert.strictEqual(only(replaced, "FinishGeneration")[0]?.responseId, "vad1")
        assert.deepStrictEqual(sentTypes(replaced), [], "vad2 is active: r1 would be refused")
        const done = e.run(S.responseDone("vad2"))
        assert.deepStrictEqual(sent(done).map((s) => [s.type, s.event_id]), [["response.create", "r1"]])
      })
    }

    it("GenerationReleased cancels the response; the next request waits for its response.done", () => {
      const e = engine("openai")
      startReply(e, "r1", "resp1")
      const released = e.run({ _tag: "GenerationReleased", responseId: "resp1" })
      assert.deepStrictEqual(sent(released), [{ type: "response.cancel", response_id: "resp1" }])
      assert.strictEqual(only(released, "FinishGeneration").length, 1)
      const queued = e.run({ _tag: "GenerateReply", id: "r2", instructions: undefined, userInitiated: true })
      assert.deepStrictEqual(sentTypes(queued), [])
      const done = e.run(S.responseDone("resp1", "cancelled"))
      assert.deepStrictEqual(sent(done).map((s) => [s.type, s.event_id]), [["response.create", "r2"]])
      assert.deepStrictEqual(only(done, "FinishGeneration"), [])
    })
  })

  // -------------------------------------------------------------------------------------------
  // 9. One metrics record per response the server created.
  // -------------------------------------------------------------------------------------------
  describe("9. metrics for every response", () => {
    const metricsFor = (e: Engine, id: string) => only(e.log, "Metrics").filter((m) => m.metrics.requestId === id)

    it("completed", () => {
      const e = engine("openai")
      startReply(e, "r1", "resp1")
      e.run(S.audioDelta("resp1", "a1"), S.responseDone("resp1"))
      assert.strictEqual(metricsFor(e, "resp1").length, 1)
      assert.isFalse(metricsFor(e, "resp1")[0]!.metrics.cancelled)
    })

    it("cancelled by release (and not again at its response.done)", () => {
      const e = engine("openai")
      startReply(e, "r1", "resp1")
      e.run({ _tag: "GenerationReleased", responseId: "resp1" }, S.responseDone("resp1", "cancelled"))
      assert.strictEqual(metricsFor(e, "resp1").length, 1)
      assert.isTrue(metricsFor(e, "resp1")[0]!.metrics.cancelled)
    })

    it("replaced by a new response.created (and not again at its late response.done)", () => {
      const e = engine("openai")
      startReply(e, "r1", "resp1")
      e.run(S.audioDelta("resp1", "a1"), S.responseCreated("resp2"), S.responseDone("resp1"), S.responseDone("resp2"))
      assert.strictEqual(metricsFor(e, "resp1").length, 1)
      assert.strictEqual(metricsFor(e, "resp2").length, 1)
    })

    it("discarded at speech start (xAI)", () => {
      const e = engine("xai")
      startReply(e, "r1", "resp1")
      const actions = e.run(S.speechStarted("u9"))
      assert.strictEqual(only(actions, "FinishGeneration").length, 1)
      assert.strictEqual(metricsFor(e, "resp1").length, 1)
      assert.isTrue(metricsFor(e, "resp1")[0]!.metrics.cancelled)
    })

    it("failed by Disconnected", () => {
      const e = engine("xai")
      startReply(e, "r1", "resp1")
      e.run({ _tag: "Disconnected", error: undefined })
      assert.strictEqual(metricsFor(e, "resp1").length, 1)
      assert.isTrue(metricsFor(e, "resp1")[0]!.metrics.cancelled)
    })
  })

  // -------------------------------------------------------------------------------------------
  // 10. Interrupt with nothing to interrupt.
  // -------------------------------------------------------------------------------------------
  it("10. Interrupt with no current response produces no action", () => {
    for (const dialect of ["xai", "openai"] as const) {
      const e = engine(dialect)
      assert.deepStrictEqual(e.run({ _tag: "Interrupt" }), [])
    }
  })

  // -------------------------------------------------------------------------------------------
  // 11. Manual tool execution.
  // -------------------------------------------------------------------------------------------
  describe("11. manual tool execution", () => {
    const withCall = (name: string) => {
      const e = engine("xai", { toolExecution: "manual" })
      startReply(e, "r1", "resp1")
      const actions = e.run(S.callDone("resp1", "fc1", "call1", name), S.responseDone("resp1"))
      return { e, actions }
    }

    it("calls are not run; the call comes out on the generation", () => {
      const { actions } = withCall("lookup")
      assert.deepStrictEqual(only(actions, "RunTools"), [])
      assert.deepStrictEqual(only(actions, "FunctionCall").map((f) => f.call.callId), ["call1"])
    })

    it("SendToolOutput for a waiting call sends one function_call_output and completes Ok (once)", () => {
      const { e } = withCall("lookup")
      const actions = e.run({ _tag: "SendToolOutput", opId: 3, callId: "call1", output: "sunny" })
      assert.deepStrictEqual(sent(actions), [
        { type: "conversation.item.create", item: { type: "function_call_output", call_id: "call1", output: "sunny" } }
      ])
      assert.deepStrictEqual(only(actions, "Complete"), [{ _tag: "Complete", opId: 3, result: { _tag: "Ok" } }])
      // Answered: a second output for it is an unknown call.
      const again = e.run({ _tag: "SendToolOutput", opId: 4, callId: "call1", output: "again" })
      assert.deepStrictEqual(sent(again), [])
      assert.strictEqual(only(again, "Complete")[0]!.result._tag, "Failed")
    })

    it("an unknown call id completes with UnknownCallError", () => {
      const { e } = withCall("lookup")
      const actions = e.run({ _tag: "SendToolOutput", opId: 3, callId: "nope", output: "x" })
      assert.deepStrictEqual(sent(actions), [])
      const result = only(actions, "Complete")[0]!.result
      assert.isTrue(result._tag === "Failed" && result.error._tag === "UnknownCallError")
    })

    it("a server-side tool (xAI web_search) is not waited for", () => {
      const { e } = withCall("web_search")
      assert.deepStrictEqual(e.state.manualCalls, [])
      const result = only(e.run({ _tag: "SendToolOutput", opId: 3, callId: "call1", output: "x" }), "Complete")[0]!.result
      assert.isTrue(result._tag === "Failed" && result.error._tag === "UnknownCallError")
    })
  })

  // -------------------------------------------------------------------------------------------
  // 12. updateOptions.
  // -------------------------------------------------------------------------------------------
  describe("12. UpdateOptions", () => {
    it("sends only the given fields and updates state.options", () => {
      const e = engine("xai")
      const before = e.state.options
      const actions = e.run({ _tag: "UpdateOptions", opId: 5, options: { voice: "rex", instructions: "be brief" } })
      assert.deepStrictEqual(sent(actions), [{ type: "session.update", session: { voice: "rex", instructions: "be brief" } }])
      assert.deepStrictEqual(only(actions, "Complete"), [{ _tag: "Complete", opId: 5, result: { _tag: "Ok" } }])
      assert.deepStrictEqual(e.state.options, { ...before, voice: "rex", instructions: "be brief" })
    })

    it("the provider validates and normalises: model refused, voice lower-cased, speed range checked", () => {
      const model = modelOf("xai")
      const refused = model.resolveUpdate({ model: "x" } as never)
      assert.isTrue(Either.isLeft(refused) && refused.left._tag === "ConfigurationError")
      assert.deepStrictEqual(model.resolveUpdate({ voice: "Eve" }), Either.right({ voice: "eve" }))
      assert.isTrue(Either.isLeft(model.resolveUpdate({ speed: 3 })))
      assert.isTrue(Either.isLeft(model.resolveUpdate({ speed: 0.1 })))
      assert.deepStrictEqual(model.resolveUpdate({ speed: 1.2 }), Either.right({ speed: 1.2 }))
    })
  })

  // -------------------------------------------------------------------------------------------
  // 13. xAI resumption.
  // -------------------------------------------------------------------------------------------
  describe("13. resumption (xAI)", () => {
    const history = () => {
      const e = engine("xai")
      e.run(S.conversationCreated("conv1"), S.itemAdded(undefined, S.userItem("u1", "hello")))
      startReply(e, "r1", "resp1")
      e.run(
        S.outputItemAdded("resp1", "a1"),
        S.itemAdded(null, S.assistantItem("a1")),
        S.transcriptDelta("resp1", "a1", "hi"),
        S.messageDone("resp1", "a1"),
        S.responseDone("resp1")
      )
      return e
    }

    it("conversation.created gives the resume id; a resumed connection keeps the mirror; the same id sends nothing", async () => {
      const { resumeId } = await import("../../src/internal/session/conversation.js")
      const e = history()
      assert.strictEqual(resumeId(e.state), "conv1")
      e.run({ _tag: "Disconnected", error: undefined })
      e.run({ _tag: "Connected", connection: 2, reconnected: true, resumed: "conv1" })
      assert.deepStrictEqual(mirrorIds(e.state), ["u1", "a1"])
      assert.deepStrictEqual(replay(e.state, true).map((x) => x.type), ["session.update"])
      assert.deepStrictEqual(e.run(S.conversationCreated("conv1")), [])
      assert.deepStrictEqual(mirrorIds(e.state), ["u1", "a1"])
    })

    it("another id: the history is re-sent and a Warning emitted", () => {
      const e = history()
      e.run({ _tag: "Disconnected", error: undefined })
      e.run({ _tag: "Connected", connection: 2, reconnected: true, resumed: "conv1" })
      const actions = e.run(S.conversationCreated("conv2"))
      assert.deepStrictEqual(createsOf(sent(actions)).map((c) => c.item["id"]), ["u1", "a1"])
      assert.strictEqual(sent(actions).length, 2)
      assert.strictEqual(only(actions, "Emit").filter((a) => a.event._tag === "Warning").length, 1)
      // The new conversation becomes resumable only once the server has echoed the re-sent history:
      // a drop before that must replay the history again, not resume a conversation that lacks it.
      assert.isUndefined(resumeIdOf(e.state))
      e.run(S.itemAdded(null, S.userItem("u1", "hello")))
      assert.isUndefined(resumeIdOf(e.state), "half of the history echoed")
      e.run(S.itemAdded("u1", S.assistantItem("a1", [{ type: "output_text", text: "hi" }])))
      assert.strictEqual(resumeIdOf(e.state), "conv2")
    })

    it("OpenAI does not resume", async () => {
      const { resumeId } = await import("../../src/internal/session/conversation.js")
      const e = engine("openai")
      e.run(S.conversationCreated("conv1"))
      assert.isUndefined(resumeId(e.state))
    })
  })

  // -------------------------------------------------------------------------------------------
  // After Close.
  // -------------------------------------------------------------------------------------------
  it("after Close every later command fails its waiter with the close error", () => {
    const e = engine("xai")
    const error = new SessionClosedError({ message: "closed by the app" })
    const closing = e.run({ _tag: "Close", error, quiet: true })
    assert.strictEqual(only(closing, "Shutdown").length, 1)
    const actions = e.run(
      { _tag: "GenerateReply", id: "r9", instructions: undefined, userInitiated: true },
      { _tag: "SyncChat", opId: 1, wanted: Chat.make([Chat.message("m", "user", "x")]) },
      { _tag: "Truncate", opId: 2, options: { messageId: "a", modalities: ["audio"], audioEndMs: 10 } },
      { _tag: "UpdateOptions", opId: 3, options: { voice: "eve" } },
      { _tag: "UpdateTools", opId: 4, tools: [], definitions: [], rejected: [] },
      { _tag: "SendToolOutput", opId: 5, callId: "c", output: "o" },
      { _tag: "Interrupt" },
      S.responseCreated("late")
    )
    assert.deepStrictEqual(sent(actions), [])
    assert.deepStrictEqual(only(actions, "FailReply"), [{ _tag: "FailReply", replyId: "r9", error }])
    assert.deepStrictEqual(only(actions, "Complete").map((c) => [c.opId, c.result._tag === "Failed" && c.result.error]), [
      [1, error],
      [2, error],
      [3, error],
      [4, error],
      [5, error]
    ])
    assert.strictEqual(actions.length, 6)
  })
})
