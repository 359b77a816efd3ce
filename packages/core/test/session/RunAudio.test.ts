// MessageGeneration.runAudio: the audio frames handed to a callback without a fiber per frame.
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as AudioFrame from "../../src/AudioFrame.js"
import type * as Generation from "../../src/Generation.js"
import { created, failureTag, layer, open, script, settle } from "./harness.js"

/** A reply with one message, the message handle, and a way to send its audio. */
const reply = Effect.gen(function*() {
  const { session, server, generations } = yield* open()
  const gen = yield* created(generations, "resp_1")
  yield* script.messageAdded("resp_1", "item_1")
  const message = Option.getOrThrow(yield* Stream.runHead(gen.messages))
  return { session, server, generations, gen, message } as const
})

const audio = (n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* script.audioDelta("resp_1", "item_1")
  })

const collect = (message: Generation.MessageGeneration) =>
  Effect.gen(function*() {
    const frames: Array<AudioFrame.AudioFrame> = []
    const fiber = yield* Effect.fork(message.runAudio((frame) => void frames.push(frame)))
    yield* settle
    return { frames, fiber } as const
  })

describe.each([{ push: false }, { push: true }])("runAudio (push: $push)", ({ push }) => {
  it.scoped("hands over the frames held before the call, then the later ones in order, and ends with the audio", () =>
    Effect.gen(function*() {
      const { message } = yield* reply
      yield* audio(3)
      yield* settle
      const { frames, fiber } = yield* collect(message)
      assert.strictEqual(frames.length, 3, "the held frames, in the call")
      yield* audio(2)
      yield* settle
      assert.strictEqual(frames.length, 5)
      assert.isNull(fiber.unsafePoll(), "still running: the audio has not ended")
      yield* script.messageDone("resp_1", "item_1")
      yield* script.responseDone("resp_1")
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(fiber)))
      for (const frame of frames) {
        assert.strictEqual(frame.sampleRate, 24000)
        assert.strictEqual(AudioFrame.durationMs(frame), 100)
        // Made by a constructor, not a literal V8 could pretenure (internal/session/receivedFrame.ts).
        assert.notStrictEqual(Object.getPrototypeOf(frame), Object.prototype)
      }
    }).pipe(Effect.provide(layer({}, { push }))))

  it.scoped.skipIf(!push)("with a pushing transport each frame reaches the callback inside the server's send (no fiber hand-off)", () =>
    Effect.gen(function*() {
      const { message } = yield* reply
      const { frames, fiber } = yield* collect(message)
      for (let i = 1; i <= 5; i++) {
        yield* script.audioDelta("resp_1", "item_1")
        assert.strictEqual(frames.length, i, "delivered before any other fiber ran")
      }
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(layer({}, { push }))))

  it.scoped("a throwing callback fails runAudio with the defect and drops the rest; the session goes on", () =>
    Effect.gen(function*() {
      const { session, message, generations } = yield* reply
      let calls = 0
      const fiber = yield* Effect.fork(message.runAudio(() => {
        calls++
        if (calls === 2) throw new Error("consumer bug")
      }))
      yield* settle
      yield* audio(4)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      assert.include(Cause.pretty((exit as Exit.Failure<void, unknown>).cause), "consumer bug")
      assert.strictEqual(calls, 2, "no frame after the throw")
      // The later frames are not kept for the audio stream either (it ends with the same defect).
      const rest = yield* Effect.exit(Stream.runCollect(message.audio))
      assert.isTrue(Exit.isFailure(rest))
      // The session is alive: the response completes and another one is delivered.
      yield* script.messageDone("resp_1", "item_1")
      yield* script.responseDone("resp_1")
      const next = yield* created(generations, "resp_2")
      assert.strictEqual(next.responseId, "resp_2")
      assert.isNull((yield* Effect.fork(session.awaitClosed)).unsafePoll())
    }).pipe(Effect.provide(layer({}, { push }))))

  it.scoped("interrupted, it stops: later frames wait for the audio stream", () =>
    Effect.gen(function*() {
      const { message } = yield* reply
      const { frames, fiber } = yield* collect(message)
      yield* audio(2)
      yield* settle
      yield* Fiber.interrupt(fiber)
      yield* audio(3)
      yield* script.messageDone("resp_1", "item_1")
      yield* script.responseDone("resp_1")
      assert.strictEqual(frames.length, 2)
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(message.audio)), 3, "nothing lost")
    }).pipe(Effect.provide(layer({}, { push }))))

  it.scoped("called after the audio ended, it hands over what is held and returns at once", () =>
    Effect.gen(function*() {
      const { message } = yield* reply
      yield* audio(2)
      yield* script.messageDone("resp_1", "item_1")
      yield* script.responseDone("resp_1")
      const frames: Array<AudioFrame.AudioFrame> = []
      yield* message.runAudio((frame) => void frames.push(frame))
      assert.strictEqual(frames.length, 2)
    }).pipe(Effect.provide(layer({}, { push }))))

  it.scoped("a lost connection fails runAudio with the generation's error", () =>
    Effect.gen(function*() {
      const { message, server } = yield* reply
      const { frames, fiber } = yield* collect(message)
      yield* audio(1)
      yield* server.drop
      const exit = yield* Fiber.await(fiber)
      assert.strictEqual(frames.length, 1)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(failureTag(exit), "ConnectionError")
    }).pipe(Effect.provide(layer({}, { push }))))

  it.scoped("a throw while the held frames are handed over fails runAudio and drops the rest", () =>
    Effect.gen(function*() {
      const { message } = yield* reply
      yield* audio(3)
      yield* settle
      let calls = 0
      const exit = yield* Effect.exit(message.runAudio(() => {
        calls++
        throw new Error("early bug")
      }))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      assert.strictEqual(calls, 1)
      yield* audio(2)
      assert.isTrue(Exit.isFailure(yield* Effect.exit(Stream.runCollect(message.audio))), "the audio ended with the defect")
    }).pipe(Effect.provide(layer({}, { push }))))

  it.scoped("called after the generation failed, it hands over the held frames, then fails with the generation's error", () =>
    Effect.gen(function*() {
      const { message, server } = yield* reply
      yield* audio(2)
      yield* server.drop
      yield* settle
      const frames: Array<AudioFrame.AudioFrame> = []
      const exit = yield* Effect.exit(message.runAudio((frame) => void frames.push(frame)))
      assert.strictEqual(frames.length, 2)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(failureTag(exit), "ConnectionError")
    }).pipe(Effect.provide(layer({}, { push }))))

  it.scoped("a second runAudio on the same message while one runs is a defect", () =>
    Effect.gen(function*() {
      const { message } = yield* reply
      const { fiber } = yield* collect(message)
      const second = yield* Effect.exit(message.runAudio(() => {}))
      assert.isTrue(Exit.isFailure(second) && Cause.isDie(second.cause))
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(layer({}, { push }))))
})
