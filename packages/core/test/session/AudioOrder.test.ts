// The session's audio path without per-frame Effect machinery: appends keep the order of the calls
// that made them across concurrent pushers, commits and clears; a push still waits once the
// connection is over its mark; a push after the session's end fails with its end error; with
// debugEvents every append is published.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as AudioFrame from "../../src/AudioFrame.js"
import type * as RealtimeSession from "../../src/RealtimeSession.js"
import { Resampler } from "../../src/Resampler.js"
import { failureTag, layer, open, settle } from "./harness.js"

/** 100 ms of 24 kHz mono filled with `tag`: exactly one append, which carries the tag. */
const tagged = (tag: number) => AudioFrame.unsafeMake(new Int16Array(2400).fill(tag), 24000, 1)

/** The server's view: "c" for a commit, "x" for a clear, the tag of each append. */
const received = (frames: ReadonlyArray<{ readonly type: string; readonly event: Record<string, unknown> }>) =>
  frames.flatMap((f): Array<number | "c" | "x"> =>
    f.type === "input_audio_buffer.append"
      ? [AudioFrame.decodeBase64(f.event["audio"] as string)[0]!]
      : f.type === "input_audio_buffer.commit"
      ? ["c" as const]
      : f.type === "input_audio_buffer.clear"
      ? ["x" as const]
      : []
  )

/**
 * A session over a connection whose peer has stopped reading, with a small write buffer (marks of
 * 20 kB / 5 kB: about three appends): the fourth push is over the mark.
 */
const openStalled = (options: RealtimeSession.SessionOptions = {}) =>
  Effect.tap(
    open({ ...options, writeBuffer: { highWaterMark: 20_000, lowWaterMark: 5_000 } }),
    ({ server }) => server.stopReading
  )

describe("session audio: order and backpressure on the synchronous path", () => {
  it.scoped("concurrent pushers, a commit and a clear: each caller's events arrive in its call order, none lost", () =>
    Effect.gen(function*() {
      const { server, session } = yield* open()
      const a = Effect.gen(function*() {
        for (let i = 0; i < 10; i++) yield* session.pushAudio(tagged(1000 + i))
        yield* session.commitAudio
        for (let i = 10; i < 20; i++) yield* session.pushAudio(tagged(1000 + i))
      })
      const b = Effect.gen(function*() {
        for (let i = 0; i < 20; i++) {
          yield* session.pushAudio(tagged(2000 + i))
          yield* Effect.yieldNow()
        }
        yield* session.clearAudio
        yield* session.pushAudio(tagged(2020))
      })
      yield* Effect.all([a, b], { concurrency: "unbounded", discard: true })
      for (let i = 0; i < 10; i++) yield* settle
      const seen = received(yield* server.clientEvents)
      const ofA = seen.filter((v) => typeof v === "number" && v < 2000)
      const ofB = seen.filter((v) => typeof v === "number" && v >= 2000)
      assert.deepStrictEqual(ofA, Array.from({ length: 20 }, (_, i) => 1000 + i))
      assert.deepStrictEqual(ofB, Array.from({ length: 21 }, (_, i) => 2000 + i))
      // A's commit comes after its first ten appends and before the next ten; B's clear after its twenty
      const commit = seen.indexOf("c")
      const clear = seen.indexOf("x")
      assert.strictEqual(seen.filter((v) => v === "c").length, 1)
      assert.isAbove(commit, seen.indexOf(1009))
      assert.isBelow(commit, seen.indexOf(1010))
      assert.isAbove(clear, seen.indexOf(2019))
      assert.isBelow(clear, seen.indexOf(2020))
    }).pipe(Effect.provide(layer())))

  it.scoped("a push made while a commit waits for room stays behind the commit; the pusher is held over the mark", () =>
    Effect.gen(function*() {
      const { server, session } = yield* openStalled()
      // ~6.5 kB an append: the fourth push is over the mark, its caller is held (its append is queued)
      let pushed = 0
      const first = yield* Effect.fork(Effect.forEach(
        [1, 2, 3, 4, 5, 6],
        (tag) => Effect.zipRight(session.pushAudio(tagged(tag)), Effect.sync(() => pushed++)),
        { discard: true }
      ))
      yield* settle
      assert.isNull(first.unsafePoll(), "the caller is held over the mark")
      assert.isAtMost(pushed, 4)
      const heldAt = pushed
      // the commit waits for room too (it holds the audio input while it does)
      const commit = yield* Effect.fork(session.commitAudio)
      yield* settle
      assert.isNull(commit.unsafePoll())
      // another caller's push now: it must not overtake the commit
      const late = yield* Effect.fork(session.pushAudio(tagged(99)))
      yield* settle
      assert.isNull(late.unsafePoll())
      yield* server.resumeReading
      yield* Fiber.join(first)
      yield* Fiber.join(commit)
      yield* Fiber.join(late)
      yield* settle
      const seen = received(yield* server.clientEvents)
      assert.deepStrictEqual(seen.slice(0, heldAt), Array.from({ length: heldAt }, (_, i) => i + 1))
      assert.isBelow(seen.indexOf("c"), seen.indexOf(99), "the commit before the later push")
      assert.deepStrictEqual(seen.filter((v) => v !== "c" && v !== 99), [1, 2, 3, 4, 5, 6])
    }).pipe(Effect.provide(layer())))

  it.scoped("a clear interrupted while it waits for room still clears the server's buffer, with the local remainder", () =>
    Effect.gen(function*() {
      const { server, session } = yield* openStalled()
      // ~6.5 kB an append: the fourth push is over the mark, its caller is held
      const pushes = yield* Effect.fork(Effect.forEach([1, 2, 3, 4], (tag) => session.pushAudio(tagged(tag)), { discard: true }))
      yield* settle
      assert.isNull(pushes.unsafePoll(), "over the mark")
      const clear = yield* Effect.fork(session.clearAudio)
      yield* settle
      assert.isNull(clear.unsafePoll(), "the clear waits for room")
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(clear)))
      yield* server.resumeReading
      yield* Fiber.join(pushes)
      yield* session.pushAudio(tagged(5))
      yield* settle
      assert.deepStrictEqual(received(yield* server.clientEvents), [1, 2, 3, 4, "x", 5])
    }).pipe(Effect.provide(layer())))

  it.scoped("dropOldest: the open turn's audio is dropped first, a committed turn keeps its audio", () =>
    Effect.gen(function*() {
      const { server, session } = yield* openStalled({ audioBackpressure: "dropOldest" })
      for (let tag = 0; tag < 10; tag++) yield* session.pushAudio(tagged(tag))
      yield* session.commitAudio
      // 2.5 s more: with the committed second, past the 2 s the session may hold
      for (let tag = 100; tag < 125; tag++) yield* session.pushAudio(tagged(tag))
      yield* settle
      yield* server.resumeReading
      for (let i = 0; i < 20; i++) yield* settle
      const seen = received(yield* server.clientEvents)
      assert.deepStrictEqual(seen.slice(0, 11), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, "c"], "the committed turn whole")
      const later = seen.slice(11)
      assert.isBelow(later.length, 25, "some of the open turn was dropped")
      assert.deepStrictEqual(later, [...later].sort((a, b) => (a as number) - (b as number)), "what is left, in order")
      assert.strictEqual(later.at(-1), 124, "the newest audio kept")
    }).pipe(Effect.provide(layer())))

  it.scoped("dropOldest: a clear drops the open turn's queued audio, not a committed turn's", () =>
    Effect.gen(function*() {
      const { server, session } = yield* openStalled({ audioBackpressure: "dropOldest" })
      for (let tag = 0; tag < 8; tag++) yield* session.pushAudio(tagged(tag))
      yield* session.commitAudio
      for (let tag = 100; tag < 105; tag++) yield* session.pushAudio(tagged(tag))
      yield* session.clearAudio
      yield* session.pushAudio(tagged(200))
      yield* server.resumeReading
      for (let i = 0; i < 20; i++) yield* settle
      assert.deepStrictEqual(received(yield* server.clientEvents), [0, 1, 2, 3, 4, 5, 6, 7, "c", "x", 200])
    }).pipe(Effect.provide(layer())))

  it.scoped("48 kHz stereo in 10 ms frames: the pusher is held once over the mark, and every sample arrives", () =>
    Effect.gen(function*() {
      const { server, session } = yield* openStalled()
      const frame = AudioFrame.unsafeMake(new Int16Array(960).fill(800), 48000, 2)
      let pushed = 0
      const pusher = yield* Effect.fork(Effect.forEach(
        Array.from({ length: 100 }),
        () => Effect.zipRight(session.pushAudio(frame), Effect.sync(() => pushed++)),
        { discard: true }
      ))
      yield* settle
      assert.isNull(pusher.unsafePoll(), "held")
      // 20 kB is about three appends of 100 ms: held within the fifth
      assert.isAtMost(pushed, 50)
      yield* server.resumeReading
      yield* Fiber.join(pusher)
      yield* session.commitAudio
      yield* settle
      const appends = (yield* server.clientEvents).filter((f) => f.type === "input_audio_buffer.append")
      const samples = appends.reduce((n, f) => n + AudioFrame.decodeBase64(f.event["audio"] as string).length, 0)
      assert.strictEqual(samples, (100 * 480) / 2)
    }).pipe(Effect.provide(layer())))

  it.scoped("a push held over the mark when the connection gives up fails with the session's end error", () =>
    Effect.gen(function*() {
      const { server, session } = yield* openStalled()
      // Push one frame at a time until one is held (its appends are queued, it waits for room).
      let held: Fiber.RuntimeFiber<void, { readonly _tag: string }> | undefined
      for (let i = 0; i < 20 && held === undefined; i++) {
        const push = yield* Effect.fork(session.pushAudio(tagged(100 + i)))
        yield* settle
        if (push.unsafePoll() === null) held = push
      }
      assert.isDefined(held, "a push is held over the mark")
      const pusher = held!
      // The connection drops and every reconnect is refused: the session ends with AuthenticationError.
      yield* server.failNextAttempts(10, { status: 401 })
      yield* server.drop
      for (let i = 0; i < 5; i++) yield* settle
      yield* TestClock.adjust("1 second")
      for (let i = 0; i < 5; i++) yield* settle
      const exit = yield* Fiber.await(pusher)
      assert.isTrue(Exit.isFailure(exit), "the held push does not report success for audio never sent")
      assert.strictEqual(failureTag(exit), "AuthenticationError")
    }).pipe(Effect.provide(layer())))

  it.scoped("after the session's end a push fails with its end error, also once a converter exists", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { server, session } = yield* open().pipe(Scope.extend(scope))
      yield* session.pushAudio(tagged(1))
      yield* session.pushAudio(AudioFrame.unsafeMake(new Int16Array(960), 48000, 2))
      yield* settle
      const before = (yield* server.clientEvents).length
      yield* Scope.close(scope, Exit.void)
      for (const frame of [tagged(2), AudioFrame.unsafeMake(new Int16Array(960), 48000, 2)]) {
        const result = yield* Effect.either(session.pushAudio(frame))
        assert.isTrue(Either.isLeft(result) && result.left._tag === "SessionClosedError")
      }
      assert.strictEqual((yield* server.clientEvents).length, before, "nothing sent after the end")
    }).pipe(Effect.provide(layer())))

  it.scoped("frames like checked ones skip nothing: a ragged or invalid frame after valid ones still fails, sending nothing", () =>
    Effect.gen(function*() {
      const { server, session } = yield* open()
      const stereo = (samples: number, rate = 48000) => ({ data: new Int16Array(samples), sampleRate: rate, channels: 2 })
      yield* session.pushAudio(stereo(960))
      yield* session.pushAudio(stereo(960))
      const failures: Array<string> = []
      for (const frame of [stereo(961), stereo(960, 48000.5), { ...stereo(960), channels: 0 }, stereo(960, 4000)]) {
        const result = yield* Effect.either(session.pushAudio(frame))
        if (Either.isLeft(result)) failures.push(result.left._tag === "AudioFrameError" ? result.left.reason : result.left._tag)
      }
      assert.deepStrictEqual(failures, ["Length", "SampleRate", "Channels", "SampleRate"])
      yield* session.pushAudio(stereo(960))
      yield* session.commitAudio
      for (let i = 0; i < 5; i++) yield* settle
      const appends = (yield* server.clientEvents).filter((f) => f.type === "input_audio_buffer.append")
      const samples = appends.reduce((n, f) => n + AudioFrame.decodeBase64(f.event["audio"] as string).length, 0)
      assert.strictEqual(samples, 720, "the three valid 10 ms frames only")
    }).pipe(Effect.provide(layer())))

  it.scoped("with debugEvents every append and the commit are published as ClientEvents, in order", () =>
    Effect.gen(function*() {
      const { session, collected } = yield* open({ debugEvents: true })
      for (const tag of [7, 8, 9]) yield* session.pushAudio(tagged(tag))
      yield* session.commitAudio
      yield* settle
      const published = collected.flatMap((e) =>
        e._tag === "ClientEvent" && e.event.type.startsWith("input_audio_buffer.")
          ? [e.event.type === "input_audio_buffer.append" ? AudioFrame.decodeBase64(e.event.audio)[0]! : e.event.type]
          : []
      )
      assert.deepStrictEqual(published, [7, 8, 9, "input_audio_buffer.commit"])
    }).pipe(Effect.provide(layer())))

  it.scoped("a push interrupted while its new rate's converter is made still sends all of its audio and the old rate's tail", () =>
    Effect.gen(function*() {
      const { server, session } = yield* open()
      const mono = (samples: number, rate: number) => AudioFrame.unsafeMake(new Int16Array(samples).fill(3000), rate, 1)
      // every converter takes a second of (test) time to make
      const first = yield* Effect.fork(session.pushAudio(mono(4800, 48000)))
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(first)
      // a rate change: the 48 kHz converter's tail is flushed, the 16 kHz one is being made
      const second = yield* Effect.fork(session.pushAudio(mono(1600, 16000)))
      yield* settle
      const interrupt = yield* Effect.fork(Fiber.interrupt(second))
      yield* settle
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.join(interrupt)
      assert.isTrue(Exit.isInterrupted(exit), "the caller was interrupted (after its audio was queued)")
      yield* session.commitAudio
      for (let i = 0; i < 5; i++) yield* settle
      const appends = (yield* server.clientEvents).filter((f) => f.type === "input_audio_buffer.append")
      const samples = appends.reduce((n, f) => n + AudioFrame.decodeBase64(f.event["audio"] as string).length, 0)
      // 100 ms at 48 kHz + 100 ms at 16 kHz: 2400 + 2400 samples at 24 kHz, none lost to the interruption
      assert.strictEqual(samples, 4800)
    }).pipe(Effect.provide(Layer.provideMerge(
      Layer.effect(
        Resampler,
        Effect.map(Resampler, (service) => ({
          make: (inputRate: number, outputRate: number) =>
            Effect.zipRight(Effect.sleep("1 second"), service.make(inputRate, outputRate))
        }))
      ),
      layer()
    ))))
})
