// Transport.makeInbox: frames held until `listen`, then pushed; the end reaches `messages` and the listener once.
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ConnectionError } from "../src/Errors.js"
import * as Transport from "../src/Transport.js"

const listening = (inbox: Transport.Inbox) => {
  const frames: Array<string> = []
  const ends: Array<Exit.Exit<void, ConnectionError>> = []
  inbox.listen((text) => void frames.push(text), (exit) => void ends.push(exit))
  return { frames, ends }
}

describe("Transport.makeInbox", () => {
  it.effect("without a listener frames wait in messages; the end follows them", () =>
    Effect.gen(function*() {
      const inbox = yield* Transport.makeInbox
      assert.isTrue(inbox.offer("a"))
      assert.isTrue(inbox.offer("b"))
      assert.isTrue(yield* inbox.end)
      assert.isFalse(inbox.offer("late"), "nothing is taken after the end")
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(Mailbox.toStream(inbox.messages))), ["a", "b"])
    }))

  it.effect("listen hands over the held frames first, then each new one at once; the end reaches onEnd once", () =>
    Effect.gen(function*() {
      const inbox = yield* Transport.makeInbox
      inbox.offer("a")
      const { frames, ends } = listening(inbox)
      assert.deepStrictEqual(frames, ["a"])
      inbox.offer("b")
      assert.deepStrictEqual(frames, ["a", "b"], "pushed in the offer call")
      const error = new ConnectionError({ message: "lost", retryable: true, code: 1006 })
      assert.isTrue(yield* inbox.fail(error))
      assert.isFalse(yield* inbox.end, "ended once")
      assert.strictEqual(ends.length, 1)
      assert.deepStrictEqual(ends[0], Exit.fail(error))
      assert.deepStrictEqual(yield* Effect.flip(inbox.messages.await), error, "messages tells the same end")
    }))

  it.effect("a listener that comes after the end gets the held frames, then the end, in the listen call", () =>
    Effect.gen(function*() {
      const inbox = yield* Transport.makeInbox
      inbox.offer("a")
      yield* inbox.end
      const { frames, ends } = listening(inbox)
      assert.deepStrictEqual(frames, ["a"])
      assert.deepStrictEqual(ends, [Exit.void])
    }))

  it.effect("a frame offered while listen hands over the held ones (re-entrantly) comes after them, to the listener", () =>
    Effect.gen(function*() {
      const inbox = yield* Transport.makeInbox
      inbox.offer("a")
      inbox.offer("b")
      const frames: Array<string> = []
      inbox.listen((text) => {
        frames.push(text)
        // a handler that makes the transport receive synchronously
        if (text === "a") inbox.offer("c")
      }, () => {})
      inbox.offer("d")
      assert.deepStrictEqual(frames, ["a", "b", "c", "d"])
      assert.strictEqual(Option.getOrThrow(inbox.messages.unsafeSize()), 0, "nothing left behind in messages")
    }))
})
