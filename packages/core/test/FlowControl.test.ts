// Flow control and liveness of the supervised connection, under TestClock with the mock transport:
// senders wait above the high-water mark, a write that cannot drain ends the connection as lost,
// and a peer that goes silent (no frame, no pong) is dropped after the idle timeout.
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { MockServer } from "@realtime-fx/test-kit/MockTransport"
import * as MockTransport from "@realtime-fx/test-kit/MockTransport"
import * as Connection from "../src/Connection.js"
import * as Errors from "../src/Errors.js"
import * as Metrics from "../src/Metrics.js"
import type * as Protocol from "../src/Protocol.js"
import * as Transport from "../src/Transport.js"

const retry: Connection.RetryOptions = { maxRetry: 3, retryInterval: Duration.seconds(2), timeout: Duration.seconds(10) }

/** An audio append of about `bytes` bytes on the wire. */
const append = (n: number, bytes = 10_000): Protocol.ClientEvent => ({
  type: "input_audio_buffer.append",
  audio: `${n.toString().padStart(8, "0")}${"A".repeat(bytes)}`
})
const seqOf = (frame: MockTransport.ClientFrame) => Number((frame.event["audio"] as string).slice(0, 8))

const settle = Effect.gen(function*() {
  for (let i = 0; i < 30; i++) yield* Effect.yieldNow()
})

const start = (overrides: Partial<Connection.ConnectionConfig> = {}) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const conn = yield* Connection.make({
      request: Effect.succeed({ url: "wss://mock.test/v1/realtime", headers: {}, protocols: [] }),
      retry,
      replay: Effect.succeed([]),
      awaitIdle: Effect.void,
      ...overrides
    }).pipe(Scope.extend(scope))
    const seen = yield* Ref.make<ReadonlyArray<Connection.ConnectionEvent>>([])
    yield* conn.events.pipe(Stream.runForEach((e) => Ref.update(seen, (all) => [...all, e])), Effect.exit, Effect.fork)
    yield* settle
    return { conn, scope, seen } as const
  })

const disconnects = (events: ReadonlyArray<Connection.ConnectionEvent>) =>
  events.flatMap((e) => e._tag === "Disconnected" ? [e.error?.message ?? "recycled"] : [])

/** Steps the clock 100 ms at a time (at most `steps` times) until a disconnect is seen: the clock's time then. */
const whenLost = (seen: Ref.Ref<ReadonlyArray<Connection.ConnectionEvent>>, steps: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < steps; i++) {
      yield* TestClock.adjust("100 millis")
      yield* settle
      if (disconnects(yield* Ref.get(seen)).length > 0) return yield* TestClock.currentTimeMillis
    }
    return undefined
  })

/** The `reason` tag each disconnect gets on the drops metric. */
const dropReasons = (events: ReadonlyArray<Connection.ConnectionEvent>) =>
  events.flatMap((e) => e._tag === "Disconnected" ? [Metrics.dropReason(e.error)] : [])

describe("Connection flow control", () => {
  it.effect("a peer that stops reading: the sender waits above the high-water mark, the backlog stays bounded, nothing is lost", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const { conn } = yield* start({ highWaterMark: 100_000, lowWaterMark: 30_000 })
      yield* server.stopReading
      const sent = yield* Ref.make(0)
      const producer = yield* Effect.fork(Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) => Effect.zipRight(conn.send(append(i)), Ref.update(sent, (n) => n + 1)),
        { discard: true }
      ))
      yield* settle
      // 10 kB frames: a frame is admitted while at most 100 kB are queued, so the tenth is the last.
      assert.strictEqual(yield* Ref.get(sent), 10)
      assert.isAtMost(yield* conn.buffered, 100_000 + 10_100)
      assert.isNull(producer.unsafePoll())
      // The engine's control events are never held.
      assert.isUndefined(conn.unsafeSend({ type: "input_audio_buffer.commit" }))

      yield* server.resumeReading
      yield* Fiber.join(producer)
      yield* settle
      const frames = (yield* server.clientEvents).filter((f) => f.type === "input_audio_buffer.append")
      assert.deepStrictEqual(frames.map(seqOf), Array.from({ length: 100 }, (_, i) => i), "each frame once, in order")
      assert.strictEqual(yield* conn.buffered, 0)
    }).pipe(Effect.provide(MockTransport.layer())))

  it.effect("a write that cannot drain within the write timeout ends the connection as lost; the backlog goes out once on the next", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const { conn, seen } = yield* start({ highWaterMark: 50_000, lowWaterMark: 10_000 })
      yield* server.stopReading
      const producer = yield* Effect.fork(Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => conn.send(append(i)),
        { discard: true }
      ))
      yield* settle
      yield* TestClock.adjust("9999 millis")
      yield* settle
      assert.deepStrictEqual(disconnects(yield* Ref.get(seen)), [])
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.deepStrictEqual(disconnects(yield* Ref.get(seen)), ["write timed out"])
      assert.deepStrictEqual(dropReasons(yield* Ref.get(seen)), ["timeout"])
      // The reconnect (at +0.1 s) reads again.
      yield* server.resumeReading
      yield* TestClock.adjust("100 millis")
      yield* settle
      yield* Fiber.join(producer)
      yield* settle
      const frames = (yield* server.clientEvents).filter((f) => f.type === "input_audio_buffer.append")
      // The frame the dead connection held was never received there: it is written again, once.
      assert.deepStrictEqual(frames.map(seqOf), Array.from({ length: 20 }, (_, i) => i))
      assert.isTrue(frames.every((f) => f.connection === 2))
      assert.strictEqual(yield* server.attempts, 2)
    }).pipe(Effect.provide(MockTransport.layer())))
})

describe("Connection liveness", () => {
  it.effect("a silent peer (no frame, no pong) is lost after the idle timeout; a peer that answers pings is kept", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const { seen } = yield* start({ idleTimeout: Effect.succeed(Duration.seconds(15)) })
      // Quiet but answering pings: kept for ten minutes.
      for (let i = 0; i < 60; i++) {
        yield* TestClock.adjust("10 seconds")
        yield* settle
      }
      assert.deepStrictEqual(disconnects(yield* Ref.get(seen)), [])
      assert.isAbove(yield* server.pings, 0)

      const silentAt = yield* TestClock.currentTimeMillis
      yield* server.answerPings(false)
      const lostAt = yield* whenLost(seen, 300)
      assert.deepStrictEqual(disconnects(yield* Ref.get(seen)), ["no traffic from the server for 15s"])
      assert.deepStrictEqual(dropReasons(yield* Ref.get(seen)), ["timeout"])
      // The last pong was seen at most one ping interval (3.75 s) before the peer went silent.
      assert.isDefined(lostAt)
      assert.isAtLeast(lostAt! - silentAt, 15_000 - 3_750)
      assert.isAtMost(lostAt! - silentAt, 15_000 + 3_750)
    }).pipe(Effect.provide(MockTransport.layer())))

  it.effect("frames count as traffic; the timeout is read on every check", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const active = yield* Ref.make(false)
      yield* server.answerPings(false)
      const { seen } = yield* start({
        idleTimeout: Ref.get(active).pipe(Effect.map((a) => a ? Duration.seconds(2) : Duration.seconds(60)))
      })
      // Idle: 60 s allowed; a frame every 30 s keeps it.
      for (let i = 0; i < 4; i++) {
        yield* TestClock.adjust("30 seconds")
        yield* server.send({ type: "ping" })
        yield* settle
      }
      assert.deepStrictEqual(disconnects(yield* Ref.get(seen)), [])
      yield* Ref.set(active, true)
      yield* TestClock.adjust("5 seconds")
      yield* settle
      yield* TestClock.adjust("5 seconds")
      yield* settle
      // Lost within 2 s of silence plus one tick (the peer stays silent: the next connection is lost too).
      assert.strictEqual(disconnects(yield* Ref.get(seen))[0], "no traffic from the server for 2s")
    }).pipe(Effect.provide(MockTransport.layer())))
})

describe("Metrics.dropReason", () => {
  it("names a drop by the error's kind, a time limit by the typed flag (not by the message)", () => {
    const lost = (fields: Partial<ConstructorParameters<typeof Errors.ConnectionError>[0]>) =>
      new Errors.ConnectionError({ message: "x", retryable: true, ...fields })
    assert.strictEqual(Metrics.dropReason(undefined), "recycled")
    assert.strictEqual(Metrics.dropReason(lost({ code: 1006 })), "close_1006")
    assert.strictEqual(Metrics.dropReason(lost({ timedOut: true })), "timeout")
    assert.strictEqual(Metrics.dropReason(lost({ message: "the proxy timed out" })), "network")
    assert.strictEqual(Metrics.dropReason(new Errors.AuthenticationError({ message: "no" })), "authentication")
    assert.strictEqual(Metrics.dropReason(new Errors.ServerError({ message: "m", code: "rate_limit", fatal: true })), "server_rate_limit")
    assert.strictEqual(Metrics.dropReason(new Errors.SessionClosedError({ message: "bye" })), "closed")
  })
})

/** MockTransport whose connections count how often the watchdog samples their pong counter (once a check). */
const countingChecks = (checks: { n: number }) =>
  Layer.effect(
    Transport.Transport,
    Effect.map(Transport.Transport, (transport) => ({
      open: (request: Transport.TransportRequest) =>
        Effect.map(transport.open(request), (conn): Transport.TransportConnection => {
          const activity = conn.activity
          return activity === undefined ? conn : {
            ...conn,
            activity: () => {
              checks.n++
              return activity()
            }
          }
        })
    }))
  ).pipe(Layer.provideMerge(MockTransport.layer()))

describe("Connection liveness: how often the watchdog wakes", () => {
  it.effect("with frames every 100 ms it checks about once a ping interval (3.75 s), not every second", () => {
    const checks = { n: 0 }
    return Effect.gen(function*() {
      const server = yield* MockServer
      const { seen } = yield* start({ idleTimeout: Effect.succeed(Duration.seconds(15)), minIdleTimeout: "15 seconds" })
      checks.n = 0
      for (let i = 0; i < 600; i++) {
        yield* server.send({ type: "ping" })
        yield* TestClock.adjust("100 millis")
        yield* settle
      }
      assert.deepStrictEqual(disconnects(yield* Ref.get(seen)), [])
      // 60 s: 16 ping intervals (a check a second would be 60)
      assert.isAtLeast(checks.n, 14)
      assert.isAtMost(checks.n, 18)
      assert.strictEqual(yield* server.pings, 0, "traffic: nothing to ping")
    }).pipe(Effect.provide(countingChecks(checks)))
  })

  it.effect("a quiet peer that answers pings: pinged every ping interval, its pong looked for within a second", () => {
    const checks = { n: 0 }
    return Effect.gen(function*() {
      const server = yield* MockServer
      const { seen } = yield* start({ idleTimeout: Effect.succeed(Duration.seconds(15)), minIdleTimeout: "15 seconds" })
      checks.n = 0
      const pingsBefore = yield* server.pings
      for (let i = 0; i < 60; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      assert.deepStrictEqual(disconnects(yield* Ref.get(seen)), [])
      const pings = (yield* server.pings) - pingsBefore
      // a ping 3.75 s after the pong of the last one (seen at most a second after it was sent)
      assert.isAtLeast(pings, 11)
      assert.isAtMost(pings, 17)
      // two checks a ping (the ping, its pong), not one a second
      assert.isAtMost(checks.n, 2 * pings + 2)
    }).pipe(Effect.provide(countingChecks(checks)))
  })

  it.effect("a switch to a timeout shorter than the idle ping interval is seen in time (minIdleTimeout)", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const active = yield* Ref.make(false)
      const { seen } = yield* start({
        idleTimeout: Ref.get(active).pipe(Effect.map((a) => a ? Duration.seconds(2) : Duration.seconds(60))),
        framesOnly: Ref.get(active),
        minIdleTimeout: "2 seconds"
      })
      // Idle and answering pings for a while: the watchdog's sleeps are at most 0.5 s, not 5 s.
      for (let i = 0; i < 40; i++) {
        yield* TestClock.adjust("250 millis")
        yield* settle
      }
      // A response starts with a frame, then the server stalls: lost 2 s after that frame.
      yield* server.send({ type: "response.created" })
      yield* settle
      yield* Ref.set(active, true)
      const stalledAt = yield* TestClock.currentTimeMillis
      const lostAt = yield* whenLost(seen, 100)
      assert.deepStrictEqual(disconnects(yield* Ref.get(seen)), ["no traffic from the server for 2s"])
      assert.isAtMost(lostAt! - stalledAt, 2_600, "within the 2 s timeout and one short sleep")
    }).pipe(Effect.provide(MockTransport.layer())))
})
