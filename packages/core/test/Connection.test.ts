import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import * as fc from "fast-check"
import { MockServer } from "@realtime-fx/test-kit/MockTransport"
import * as MockTransport from "@realtime-fx/test-kit/MockTransport"
import * as Connection from "../src/Connection.js"
import type * as Protocol from "../src/Protocol.js"

const retry: Connection.RetryOptions = {
  maxRetry: 3,
  retryInterval: Duration.seconds(2),
  timeout: Duration.seconds(10)
}

const replayEvent: Protocol.ClientEvent = { type: "session.update", session: { instructions: "be brief" } }
const item = (n: number): Protocol.ClientEvent => ({
  type: "conversation.item.create",
  item: { id: `item_${n}`, type: "message", role: "user", content: [{ type: "input_text", text: `n${n}` }] }
})

/** Lets forked fibers run until they block. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 30; i++) yield* Effect.yieldNow()
})

const nowMs = TestClock.currentTimeMillis

const failureTag = (exit: Exit.Exit<unknown, { readonly _tag: string }>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause))?._tag : undefined

/** Starts a connection in a fresh scope; collects its events in a Ref. */
const start = (overrides: Partial<Connection.ConnectionConfig> = {}) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const conn = yield* Connection.make({
      request: Effect.succeed({ url: "wss://mock.test/v1/realtime", headers: {}, protocols: [] }),
      retry,
      replay: Effect.succeed([replayEvent]),
      awaitIdle: Effect.void,
      ...overrides
    }).pipe(Scope.extend(scope))
    const seen = yield* Ref.make<ReadonlyArray<Connection.ConnectionEvent>>([])
    const consumer = yield* conn.events.pipe(
      Stream.runForEach((e) => Ref.update(seen, (all) => [...all, e])),
      Effect.exit,
      Effect.fork
    )
    yield* settle
    return { conn, scope, seen, consumer } as const
  })

const tags = (events: ReadonlyArray<Connection.ConnectionEvent>) =>
  events.filter((e) => e._tag !== "Message").map((e) => e._tag === "Connected" ? `Connected#${e.connection}` : e._tag)

// Every case runs twice: frames read from the transport's `messages` (pull) and pushed through `listen`.
describe.each([{ push: false }, { push: true }])("Connection (push: $push)", ({ push }) => {
  it.effect("1. a drop while open: next attempt at +0.1 s, replay before queued events, then reconnected", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const { conn, seen } = yield* start()
      assert.strictEqual(yield* server.attempts, 1)
      assert.strictEqual((yield* server.nextClientEvent).type, "session.update")

      yield* server.drop
      yield* settle
      yield* conn.send(item(1)) // queued while disconnected
      yield* conn.send(item(2))
      yield* TestClock.adjust("99 millis")
      yield* settle
      assert.strictEqual(yield* server.attempts, 1)
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.strictEqual(yield* server.attempts, 2)

      const after = (yield* server.clientEvents).filter((f) => f.connection === 2)
      assert.deepStrictEqual(after.map((f) => f.type), ["session.update", "conversation.item.create", "conversation.item.create"])
      assert.deepStrictEqual(after.slice(1).map((f) => (f.event["item"] as { id: string }).id), ["item_1", "item_2"])
      assert.deepStrictEqual(tags(yield* Ref.get(seen)), ["Connected#1", "Disconnected", "Connected#2"])
      const last = (yield* Ref.get(seen)).at(-1)
      assert.isTrue(last?._tag === "Connected" && last.reconnected)
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("2. every attempt failing: maxRetry+1 attempts at 0, 0.1, 2.1, 4.1 s, then a fatal error", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      yield* server.failNextAttempts(100)
      const times: Array<number> = []
      const { consumer } = yield* start({
        request: nowMs.pipe(Effect.map((t) => {
          times.push(t)
          return { url: "wss://mock.test", headers: {}, protocols: [] }
        }))
      })
      for (let i = 0; i < 10; i++) {
        yield* TestClock.adjust("100 millis")
        yield* settle
      }
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.deepStrictEqual(times, [0, 100, 2100, 4100])
      assert.strictEqual(yield* server.attempts, 4)
      const exit = yield* Fiber.join(consumer)
      assert.strictEqual(failureTag(exit), "ConnectionError")
      // Nothing runs afterwards.
      yield* TestClock.adjust("1 minute")
      yield* settle
      assert.strictEqual(yield* server.attempts, 4)
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("3. an authentication rejection: one attempt only, a non-recoverable authentication error", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      yield* server.failNextAttempts(1, { status: 401 })
      const { conn, consumer } = yield* start()
      yield* TestClock.adjust("1 minute")
      yield* settle
      assert.strictEqual(yield* server.attempts, 1)
      const exit = yield* Fiber.join(consumer)
      assert.strictEqual(failureTag(exit), "AuthenticationError")
      const sent = yield* Effect.either(conn.send(item(1)))
      assert.isTrue(sent._tag === "Left" && sent.left._tag === "AuthenticationError")
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("4. a hanging connect fails at exactly 10 s and is retried", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      yield* server.hangNextAttempt
      const { seen } = yield* start()
      assert.strictEqual(yield* server.attempts, 1)
      yield* TestClock.adjust("9999 millis")
      yield* settle
      assert.strictEqual(yield* server.attempts, 1)
      yield* TestClock.adjust("1 millis") // the attempt times out at 10 s
      yield* settle
      yield* TestClock.adjust("100 millis") // first retry 0.1 s later
      yield* settle
      assert.strictEqual(yield* server.attempts, 2)
      assert.isTrue(yield* server.isConnected)
      assert.deepStrictEqual(tags(yield* Ref.get(seen)), ["Connected#1"])
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("4b. attempts that all hang: the final error says the retries are over and that a time limit ended them", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      for (let i = 0; i < 4; i++) yield* server.hangNextAttempt
      const { consumer } = yield* start()
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust("12 seconds")
        yield* settle
      }
      assert.strictEqual(yield* server.attempts, 4)
      const exit = yield* Fiber.join(consumer)
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      assert.isTrue(error?._tag === "ConnectionError")
      if (error?._tag !== "ConnectionError") return
      assert.strictEqual(error.message, "gave up after 3 retries: connection attempt timed out after 10s")
      assert.isFalse(error.retryable)
      assert.isTrue(error.timedOut)
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it("5. events pushed around drops arrive exactly once, in order (random interleavings)", () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(fc.constant("push" as const), fc.constant("drop" as const), fc.constant("failSend" as const)), {
            maxLength: 40
          }),
          (steps) =>
            Effect.runPromise(
              Effect.gen(function*() {
                const server = yield* MockServer
                const { conn } = yield* start()
                let n = 0
                for (const step of steps) {
                  if (step === "push") yield* conn.send(item(n++))
                  else if (step === "drop") yield* server.drop
                  else yield* server.failNextSends(1)
                  yield* settle
                  yield* TestClock.adjust("100 millis")
                  yield* settle
                }
                for (let i = 0; i < 5; i++) {
                  yield* TestClock.adjust("2 seconds")
                  yield* settle
                }
                const received = (yield* server.clientEvents)
                  .filter((f) => f.type === "conversation.item.create")
                  .map((f) => (f.event["item"] as { id: string }).id)
                assert.deepStrictEqual(received, Array.from({ length: n }, (_, i) => `item_${i}`))
              }).pipe(Effect.provide(MockTransport.layer({ push })), Effect.scoped, Effect.provide(TestContext.TestContext))
            )
        ),
        { numRuns: 40 }
      ))

  it.effect("6. the retry count resets after a successful reconnect", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const { consumer } = yield* start()
      // Three drops, each followed by two failed attempts: would exceed maxRetry without a reset.
      for (let round = 0; round < 3; round++) {
        yield* server.drop
        yield* server.failNextAttempts(2)
        yield* settle
        yield* TestClock.adjust("100 millis")
        yield* settle
        yield* TestClock.adjust("2 seconds")
        yield* settle
        yield* TestClock.adjust("2 seconds")
        yield* settle
        assert.isTrue(yield* server.isConnected, `round ${round}`)
      }
      assert.strictEqual(yield* server.attempts, 1 + 3 * 3)
      assert.isNull(consumer.unsafePoll())
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("7. recycle waits for the generation in progress, then reconnects and replays", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const idle = yield* Deferred.make<void>()
      const { seen } = yield* start({ maxSessionDuration: Duration.minutes(20), awaitIdle: Deferred.await(idle) })
      yield* TestClock.adjust("20 minutes")
      yield* settle
      assert.strictEqual(yield* server.attempts, 1, "still busy: no recycle yet")
      yield* TestClock.adjust("5 minutes")
      yield* settle
      assert.strictEqual(yield* server.attempts, 1)
      yield* Deferred.succeed(idle, undefined)
      yield* settle
      assert.strictEqual(yield* server.attempts, 2)
      const second = (yield* server.clientEvents).filter((f) => f.connection === 2)
      assert.strictEqual(second[0]?.type, "session.update")
      assert.deepStrictEqual(tags(yield* Ref.get(seen)), ["Connected#1", "Disconnected", "Connected#2"])
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("recycle on request: the open connection closes once idle and the next one replays", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const idle = yield* Deferred.make<void>()
      const { conn, seen } = yield* start({ awaitIdle: Deferred.await(idle) })
      yield* conn.recycle
      yield* conn.recycle // asked twice: still one recycle
      yield* settle
      assert.strictEqual(yield* server.attempts, 1, "busy: the recycle waits")
      yield* Deferred.succeed(idle, undefined)
      yield* settle
      assert.strictEqual(yield* server.attempts, 2)
      assert.strictEqual((yield* server.clientEvents).filter((f) => f.connection === 2)[0]?.type, "session.update")
      assert.deepStrictEqual(tags(yield* Ref.get(seen)), ["Connected#1", "Disconnected", "Connected#2"])
      const disconnected = (yield* Ref.get(seen)).find((e) => e._tag === "Disconnected")
      assert.isTrue(disconnected?._tag === "Disconnected" && disconnected.error === undefined, "a recycle is not an error")
      // The second connection does not recycle again by itself.
      yield* TestClock.adjust("1 hour")
      yield* settle
      assert.strictEqual(yield* server.attempts, 2)
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("recycle asked while the connection is still writing its replay: done once it is live", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      yield* server.stopReading // the replay's write waits: the connection is open, not live yet
      const { conn, seen } = yield* start()
      assert.strictEqual(yield* server.attempts, 1)
      yield* conn.recycle
      yield* server.resumeReading
      yield* settle
      yield* settle
      assert.strictEqual(yield* server.attempts, 2, "recycled after the replay")
      assert.deepStrictEqual(tags(yield* Ref.get(seen)), ["Connected#1", "Disconnected", "Connected#2"])
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("an event queued while the writer is being interrupted is written by the next connection, exactly once", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const { conn } = yield* start()
      for (let round = 0; round < 20; round++) {
        // The send and the drop in the same step: the writer may be woken and interrupted at once.
        yield* conn.send(item(round))
        yield* server.drop
        yield* settle
        yield* TestClock.adjust("100 millis")
        yield* settle
      }
      const ids = (yield* server.clientEvents)
        .filter((f) => f.type === "conversation.item.create")
        .map((f) => (f.event["item"] as { id: string }).id)
      assert.deepStrictEqual(ids, Array.from({ length: 20 }, (_, i) => `item_${i}`))
      assert.strictEqual(yield* conn.buffered, 0, "nothing counted as queued once written")
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("an open connection runs on few fibers: the supervisor, the writer and the watchdog (and a reader when pulled)", () =>
    Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      const offered: Array<Connection.ConnectionEvent> = []
      const conn = yield* Effect.supervised(
        Connection.make({
          request: Effect.succeed({ url: "wss://mock.test/v1/realtime", headers: {}, protocols: [] }),
          retry,
          replay: Effect.succeed([replayEvent]),
          awaitIdle: Effect.void,
          idleTimeout: Effect.succeed(Duration.seconds(15)),
          // The events go to a sink of the test's own: no consumer fiber to count.
          sink: {
            offerAll: (events) => Effect.sync(() => offered.push(...events)),
            unsafeOffer: (event) => void offered.push(event),
            fail: () => Effect.void
          }
        }),
        supervisor
      )
      yield* conn.send(item(1))
      yield* settle
      assert.strictEqual(offered[0]?._tag, "Connected")
      assert.strictEqual((yield* supervisor.value).length, push ? 3 : 4)
      // With a sink the connection keeps no mailbox of its own: `events` is empty, at once.
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(conn.events)), 0)
    }).pipe(Effect.scoped, Effect.provide(MockTransport.layer({ push }))))

  it.effect("8. closing the scope during backoff returns at once and leaves no fiber", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const supervisor = yield* Supervisor.track
      const { scope, consumer } = yield* Effect.supervised(start(), supervisor)
      yield* server.drop
      yield* server.failNextAttempts(100)
      yield* settle
      yield* TestClock.adjust("100 millis")
      yield* settle // now in the 2 s backoff
      assert.strictEqual(yield* server.attempts, 2)
      assert.isAbove((yield* supervisor.value).length, 0, "the supervisor fiber is running")
      yield* Scope.close(scope, Exit.void)
      // The event stream ended (the consumer finished) without advancing the clock.
      const exit = yield* Fiber.join(consumer)
      assert.isTrue(Exit.isSuccess(exit))
      yield* settle
      assert.deepStrictEqual(yield* supervisor.value, [], "no fiber left running")
      yield* TestClock.adjust("1 minute")
      yield* settle
      assert.strictEqual(yield* server.attempts, 2, "no attempt after close")
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("9. a server error with a fatal code stops retries", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const { consumer } = yield* start()
      yield* server.send({
        type: "error",
        event_id: "e1",
        error: { type: "insufficient_quota", code: "insufficient_quota", message: "You exceeded your quota" }
      })
      yield* settle
      yield* TestClock.adjust("1 minute")
      yield* settle
      assert.strictEqual(yield* server.attempts, 1)
      const exit = yield* Fiber.join(consumer)
      assert.strictEqual(failureTag(exit), "ServerError")
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("a recycle error (xAI max_duration) reconnects at once with replay", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const { seen } = yield* start({ isRecycleError: (e) => e.type === "max_duration" || e.code === "max_duration" })
      yield* server.send({ type: "error", event_id: "e1", error: { type: "max_duration", message: "session expired" } })
      yield* settle
      assert.strictEqual(yield* server.attempts, 2)
      assert.deepStrictEqual(tags(yield* Ref.get(seen)), ["Connected#1", "Disconnected", "Connected#2"])
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("a malformed frame is reported and the connection goes on", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const { seen } = yield* start()
      yield* server.send("{not json")
      yield* server.send({ type: "ping", timestamp: 1 })
      yield* settle
      const events = yield* Ref.get(seen)
      assert.deepStrictEqual(events.map((e) => e._tag), ["Connected", "Malformed", "Message"])
      assert.strictEqual(yield* server.attempts, 1)
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("frames the server sent before the reader started come first, in order, then the later ones", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const { seen } = yield* start()
      yield* server.send({ type: "ping", timestamp: 3 })
      yield* settle
      const stamps = (yield* Ref.get(seen)).flatMap((e) =>
        e._tag === "Message" && "timestamp" in e.event ? [(e.event as { readonly timestamp: number }).timestamp] : []
      )
      assert.deepStrictEqual(stamps, [1, 2, 3])
    }).pipe(Effect.provide(MockTransport.layer({
      push,
      greeting: () => [{ type: "ping", timestamp: 1 }, { type: "ping", timestamp: 2 }]
    }))))

  it.effect("nothing after a fatal server error is handed on, even a frame that came right behind it", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const { seen } = yield* start()
      // Pulled, both frames reach the transport before the reader runs again; pushed, the second
      // one reaches the listener (or no connection) after the fatal frame decided the outcome.
      yield* server.send({ type: "error", event_id: "e1", error: { type: "invalid_request_error", code: "insufficient_quota", message: "no quota" } })
      yield* Effect.fork(server.send({ type: "ping", timestamp: 9 }))
      yield* settle
      const events = yield* Ref.get(seen)
      assert.deepStrictEqual(tags(events), ["Connected#1", "Disconnected"])
      assert.isFalse(events.some((e) => e._tag === "Message" && e.event.type === "ping"))
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("a sink that throws on a frame ends the connection with a typed defect error, not a crash", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const failed = yield* Deferred.make<unknown>()
      const explode = (events: ReadonlyArray<Connection.ConnectionEvent>) => {
        if (events.some((e) => e._tag === "Message")) throw new Error("boom in the sink")
      }
      const scope = yield* Scope.make()
      yield* Connection.make({
        request: Effect.succeed({ url: "wss://mock.test/v1/realtime", headers: {}, protocols: [] }),
        retry,
        replay: Effect.succeed([replayEvent]),
        awaitIdle: Effect.void,
        sink: {
          offerAll: (events) => Effect.sync(() => explode(events)),
          unsafeOffer: (event) => explode([event]),
          fail: (error) => Deferred.succeed(failed, error)
        }
      }).pipe(Scope.extend(scope))
      yield* settle
      yield* server.send({ type: "ping", timestamp: 1 })
      yield* settle
      const error = (yield* Deferred.await(failed)) as { readonly _tag: string; readonly message: string; readonly defect?: string }
      assert.strictEqual(error._tag, "SessionClosedError")
      assert.include(error.message, "the connection reader")
      assert.include(error.defect ?? "", "boom in the sink")
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(MockTransport.layer({ push }))))

  it.effect("a fatal error the server sent before its close is not lost when the close fails the replay's write", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      // Every write fails (the connection is gone): only the frame already received tells why.
      yield* server.failNextSends(5)
      const { consumer, seen } = yield* start()
      yield* TestClock.adjust("30 seconds")
      yield* settle
      const exit = yield* Fiber.join(consumer)
      assert.strictEqual(failureTag(exit), "AuthenticationError")
      assert.strictEqual(yield* server.attempts, 1, "a refused key is not retried")
      assert.deepStrictEqual(tags(yield* Ref.get(seen)), ["Disconnected"])
    }).pipe(Effect.provide(MockTransport.layer({
      push,
      greeting: () => [{ type: "error", event_id: "e1", error: { type: "invalid_request_error", code: "invalid_api_key", message: "bad key" } }]
    }))))

  it("retryDelays: 0.1 s first, then the retry interval", () => {
    assert.deepStrictEqual(Connection.retryDelays(retry).map(Duration.toMillis), [100, 2000, 2000])
    assert.deepStrictEqual(Connection.retryDelays({ ...retry, maxRetry: 0 }), [])
  })
})
