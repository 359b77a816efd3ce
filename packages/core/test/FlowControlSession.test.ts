// Flow control and liveness seen from a session (TestClock, scripted mock server): a server that goes
// silent mid-reply fails the generation with a typed error and the session reconnects with replay;
// pushAudio waits on a peer that stops reading, or with "dropOldest" drops audio with a Warning.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Chunk from "effect/Chunk"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as AudioFrame from "../src/AudioFrame.js"
import type { SessionEvent } from "../src/RealtimeSession.js"
import { created, layer, open, script, settle } from "./session/harness.js"

const ofTag = <T extends SessionEvent["_tag"]>(events: ReadonlyArray<SessionEvent>, tag: T) =>
  events.filter((e): e is Extract<SessionEvent, { _tag: T }> => e._tag === tag)

const frame100ms = AudioFrame.unsafeMake(new Int16Array(2400).fill(500), 24000, 1)

describe("session liveness", () => {
  it.scoped("a server silent mid-reply: the generation fails with ConnectionError after ~15 s, then reconnect with replay", () =>
    Effect.gen(function*() {
      const { server, generations, collected } = yield* open()
      const gen = yield* created(generations, "resp_1")
      yield* script.messageAdded("resp_1", "item_1")
      yield* script.audioDelta("resp_1", "item_1")
      yield* settle
      const done = yield* Effect.fork(Effect.either(gen.done))
      // The server goes silent mid-reply; it still answers pings (a stalled server, not a dead socket).
      const silentAt = yield* TestClock.currentTimeMillis
      let failedAt: number | undefined
      for (let i = 0; i < 400 && failedAt === undefined; i++) {
        yield* TestClock.adjust("100 millis")
        yield* settle
        if (done.unsafePoll() !== null) failedAt = yield* TestClock.currentTimeMillis
      }
      const result = yield* Fiber.join(done)
      assert.isTrue(Either.isLeft(result))
      const error = (result as Either.Left<{ _tag: string; message: string; timedOut?: boolean }, unknown>).left
      assert.strictEqual(error._tag, "ConnectionError")
      assert.strictEqual(error.message, "connection lost: no traffic from the server for 15s")
      assert.isTrue(error.timedOut, "the reply's error says a time limit ended the connection")
      // 15 s after the last frame (the check runs at the deadline; the poll here is 100 ms).
      assert.isDefined(failedAt)
      assert.isAtLeast(failedAt! - silentAt, 15_000)
      assert.isAtMost(failedAt! - silentAt, 15_100)

      assert.isAbove(yield* server.pings, 0, "pinged meanwhile, the pongs did not count")
      // The session reconnects and replays its configuration.
      yield* TestClock.adjust("100 millis")
      yield* settle
      assert.strictEqual(ofTag(collected, "Reconnected").length, 1)
      const second = (yield* server.clientEvents).filter((f) => f.connection === 2).map((f) => f.type)
      assert.strictEqual(second[0], "session.update")
    }).pipe(Effect.provide(layer())))

  it.scoped("an idle session is kept while pings are answered, and lost after 60 s once they are not", () =>
    Effect.gen(function*() {
      const { server, collected } = yield* open()
      yield* TestClock.adjust("10 minutes")
      yield* settle
      assert.strictEqual(ofTag(collected, "Disconnected").length, 0)
      yield* server.answerPings(false)
      yield* TestClock.adjust("55 seconds")
      yield* settle
      assert.strictEqual(ofTag(collected, "Disconnected").length, 0)
      yield* TestClock.adjust("10 seconds")
      yield* settle
      const lost = ofTag(collected, "Disconnected")
      assert.strictEqual(lost.length, 1)
      assert.strictEqual(lost[0]!.error?.message, "no traffic from the server for 1m")
    }).pipe(Effect.provide(layer())))

  it.scoped("liveness: false turns the check off", () =>
    Effect.gen(function*() {
      const { server, collected } = yield* open({ liveness: false })
      yield* server.answerPings(false)
      yield* TestClock.adjust("30 minutes")
      yield* settle
      assert.strictEqual(ofTag(collected, "Disconnected").length, 0)
      assert.strictEqual(yield* server.pings, 0)
    }).pipe(Effect.provide(layer())))
})

describe("session audio backpressure", () => {
  it.scoped("\"wait\" (default): pushAudio waits while the peer does not read, and every frame arrives once it does", () =>
    Effect.gen(function*() {
      const { server, session } = yield* open({ writeBuffer: { highWaterMark: 20_000, lowWaterMark: 5_000 } })
      yield* server.stopReading
      let pushed = 0
      const pusher = yield* Effect.fork(Effect.forEach(
        Array.from({ length: 50 }),
        () => Effect.zipRight(session.pushAudio(frame100ms), Effect.sync(() => pushed++)),
        { discard: true }
      ))
      yield* settle
      assert.isNull(pusher.unsafePoll(), "the caller is held")
      // ~6.5 kB a frame: held once 20 kB are queued.
      assert.isAtMost(pushed, 4)
      yield* server.resumeReading
      yield* Fiber.join(pusher)
      yield* settle
      const appends = (yield* server.clientEvents).filter((f) => f.type === "input_audio_buffer.append")
      assert.strictEqual(appends.length, 50)
    }).pipe(Effect.provide(layer())))

  it.scoped("\"dropOldest\": pushAudio never waits; the oldest audio is dropped with one Warning a second", () =>
    Effect.gen(function*() {
      const { server, session, collected } = yield* open({
        audioBackpressure: "dropOldest",
        writeBuffer: { highWaterMark: 20_000, lowWaterMark: 5_000 }
      })
      yield* server.stopReading
      // 10 s of audio at once: the caller is never held.
      yield* Effect.forEach(Array.from({ length: 100 }), () => session.pushAudio(frame100ms), { discard: true })
      yield* settle
      const warnings = ofTag(collected, "Warning").filter((w) => w.message.includes("dropped"))
      assert.strictEqual(warnings.length, 1, "coalesced: one Warning in the same second")
      assert.match(warnings[0]!.message, /dropped the oldest \d+ ms/)
      yield* TestClock.adjust("1 second")
      yield* Effect.forEach(Array.from({ length: 10 }), () => session.pushAudio(frame100ms), { discard: true })
      yield* settle
      assert.strictEqual(ofTag(collected, "Warning").filter((w) => w.message.includes("dropped")).length, 2)

      yield* server.resumeReading
      for (let i = 0; i < 20; i++) yield* settle
      // The drops held back by the one-a-second rule are reported once the second is over.
      yield* TestClock.adjust("1 second")
      yield* settle
      const appends = (yield* server.clientEvents).filter((f) => f.type === "input_audio_buffer.append")
      // What reached the server: what the Outbox held plus at most 2 s queued in the session.
      assert.isBelow(appends.length, 110)
      assert.isAtLeast(appends.length, 20)
      const dropped = [...ofTag(collected, "Warning")].reduce(
        (ms, w) => ms + Number(/dropped the oldest (\d+) ms/.exec(w.message)?.[1] ?? 0),
        0
      )
      assert.strictEqual(dropped + appends.length * 100, 110 * 100, "every 100 ms chunk was either sent or reported dropped")
    }).pipe(Effect.provide(layer())))
})

describe("bounded unread output (outputBuffer)", () => {
  it.scoped("audio never read past the limit fails that stream alone with SlowConsumerError", () =>
    Effect.gen(function*() {
      const { generations, collected } = yield* open({ outputBuffer: 4 })
      const gen = yield* created(generations, "resp_1")
      yield* script.messageAdded("resp_1", "item_1")
      yield* settle
      const message = Option.getOrThrow(yield* Stream.runHead(gen.messages))
      // Text is read as it comes; audio is not read at all.
      const text = yield* Effect.fork(Stream.runCollect(message.text))
      for (let i = 0; i < 6; i++) {
        yield* script.audioDelta("resp_1", "item_1")
        yield* script.transcriptDelta("resp_1", "item_1", `w${i} `)
        yield* settle
      }
      yield* script.messageDone("resp_1", "item_1")
      yield* script.responseDone("resp_1")
      yield* settle

      const audio = yield* Stream.runCollect(message.audio).pipe(Effect.either)
      assert.isTrue(Either.isLeft(audio))
      const error = (audio as Either.Left<{ _tag: string; stream: string; limit: number }, unknown>).left
      assert.deepStrictEqual([error._tag, error.stream, error.limit], ["SlowConsumerError", "audio", 4])
      // The other streams of the same reply and the session go on.
      assert.strictEqual(Chunk.toReadonlyArray(yield* Fiber.join(text)).map((d) => d.text).join(""), "w0 w1 w2 w3 w4 w5 ")
      assert.strictEqual((yield* gen.done).status, "completed")
      assert.strictEqual(ofTag(collected, "Error").length, 0)
      assert.strictEqual(ofTag(collected, "Closed").length, 0)
    }).pipe(Effect.provide(layer())))

  it.scoped("unbounded by default: a reply's unread audio is all held", () =>
    Effect.gen(function*() {
      const { generations } = yield* open()
      const gen = yield* created(generations, "resp_1")
      yield* script.messageAdded("resp_1", "item_1")
      for (let i = 0; i < 50; i++) yield* script.audioDelta("resp_1", "item_1")
      yield* script.messageDone("resp_1", "item_1")
      yield* script.responseDone("resp_1")
      yield* settle
      const message = Option.getOrThrow(yield* Stream.runHead(gen.messages))
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(message.audio)), 50)
    }).pipe(Effect.provide(layer())))
})
