import { assert, describe, it } from "@effect/vitest"
import { AuthenticationError, ConnectionError } from "@realtime-fx/core/Errors"
import { Transport, type TransportRequest } from "@realtime-fx/core/Transport"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as MockTransport from "../src/MockTransport.js"
import { MockServer } from "../src/MockTransport.js"

const request = (n: number): TransportRequest => ({
  url: `wss://example.test/v1/realtime?attempt=${n}`,
  headers: { Authorization: Redacted.make("Bearer sk-test") },
  protocols: []
})

const open = (n = 0) => Effect.flatMap(Transport, (transport) => transport.open(request(n)))

const greeting = (connection: number) => [{ type: "session.created", connection }]

describe("MockTransport", () => {
  it.scoped("counts attempts, records requests and fails the scripted attempts (retryable)", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      yield* server.failNextAttempts(2)
      const first = yield* Effect.flip(open(1))
      const second = yield* Effect.flip(open(2))
      assert.instanceOf(first, ConnectionError)
      assert.isTrue(first._tag === "ConnectionError" && first.retryable)
      assert.instanceOf(second, ConnectionError)
      assert.isFalse(yield* server.isConnected)
      yield* open(3)
      assert.strictEqual(yield* server.attempts, 3)
      assert.deepStrictEqual((yield* server.requests).map((r) => r.url), [
        "wss://example.test/v1/realtime?attempt=1",
        "wss://example.test/v1/realtime?attempt=2",
        "wss://example.test/v1/realtime?attempt=3"
      ])
      assert.isTrue(yield* server.isConnected)
      assert.strictEqual(yield* server.awaitConnection, 1)
    }).pipe(Effect.provide(MockTransport.layer())))

  it.scoped("failNextAttempts with status 401/403 gives AuthenticationError; other statuses stay retryable", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      yield* server.failNextAttempts(1, { status: 401 })
      yield* server.failNextAttempts(1, { status: 403 })
      yield* server.failNextAttempts(1, { status: 503 })
      const e401 = yield* Effect.flip(open())
      const e403 = yield* Effect.flip(open())
      const e503 = yield* Effect.flip(open())
      assert.instanceOf(e401, AuthenticationError)
      assert.strictEqual((e401 as AuthenticationError).status, 401)
      assert.instanceOf(e403, AuthenticationError)
      assert.strictEqual((e403 as AuthenticationError).status, 403)
      assert.instanceOf(e503, ConnectionError)
      assert.isTrue((e503 as ConnectionError).retryable)
      assert.strictEqual(yield* server.attempts, 3)
    }).pipe(Effect.provide(MockTransport.layer())))

  it.scoped("hangNextAttempt never answers until a timeout interrupts it under TestClock", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      yield* server.hangNextAttempt
      const fiber = yield* Effect.fork(Effect.either(Effect.timeout(open(), "5 seconds")))
      yield* TestClock.adjust("4999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(result._tag === "Left" && result.left._tag === "TimeoutException")
      assert.isFalse(yield* server.isConnected)
      // Only the next attempt hangs.
      yield* open()
      assert.strictEqual(yield* server.attempts, 2)
      assert.strictEqual(yield* server.awaitConnection, 1)
    }).pipe(Effect.provide(MockTransport.layer())))

  it.scoped("scripted attempts are consumed in the order they were given", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      yield* server.failNextAttempts(1)
      yield* server.hangNextAttempt
      assert.instanceOf(yield* Effect.flip(open()), ConnectionError)
      const hung = yield* Effect.fork(open())
      yield* TestClock.adjust("1 hour")
      assert.isTrue(Option.isNone(yield* Fiber.poll(hung)))
      yield* Fiber.interrupt(hung)
      yield* open()
      assert.strictEqual(yield* server.attempts, 3)
    }).pipe(Effect.provide(MockTransport.layer())))

  it.scoped("greets each connection and carries frames both ways", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const connection = yield* open()
      yield* server.send({ type: "response.created", n: 1 })
      yield* server.send("raw text")
      const inbound = yield* Mailbox.toStream(connection.messages).pipe(Stream.take(3), Stream.runCollect)
      assert.deepStrictEqual(Chunk.toReadonlyArray(inbound), [
        JSON.stringify({ type: "session.created", connection: 1 }),
        JSON.stringify({ type: "response.created", n: 1 }),
        "raw text"
      ])
      yield* connection.send(JSON.stringify({ type: "session.update", session: {} }))
      const frame = yield* server.nextClientEvent
      assert.deepStrictEqual(frame, {
        connection: 1,
        type: "session.update",
        event: { type: "session.update", session: {} },
        text: "{\"type\":\"session.update\",\"session\":{}}"
      })
    }).pipe(Effect.provide(MockTransport.layer({ greeting }))))

  it.scoped("the cursor: nextClientEvent waits, nextClientEventOfType skips others, clientEvents keeps all", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const waiting = yield* Effect.fork(server.nextClientEvent)
      const connection = yield* open()
      for (const type of ["a", "b", "c", "d"]) yield* connection.send(JSON.stringify({ type }))
      yield* connection.send("not json")
      assert.strictEqual((yield* Fiber.join(waiting)).type, "a")
      assert.strictEqual((yield* server.nextClientEventOfType("c")).type, "c")
      assert.strictEqual((yield* server.nextClientEvent).type, "d")
      const invalid = yield* server.nextClientEvent
      assert.deepStrictEqual([invalid.type, invalid.text, invalid.event], ["", "not json", {}])
      assert.deepStrictEqual((yield* server.clientEvents).map((f) => f.text), [
        "{\"type\":\"a\"}",
        "{\"type\":\"b\"}",
        "{\"type\":\"c\"}",
        "{\"type\":\"d\"}",
        "not json"
      ])
      // Nothing unread: the next read waits for a frame.
      const next = yield* Effect.fork(server.nextClientEventOfType("e"))
      yield* connection.send(JSON.stringify({ type: "x" }))
      yield* TestClock.adjust("1 minute")
      assert.isTrue(Option.isNone(yield* Fiber.poll(next)))
      yield* connection.send(JSON.stringify({ type: "e" }))
      assert.strictEqual((yield* Fiber.join(next)).type, "e")
    }).pipe(Effect.provide(MockTransport.layer())))

  it.scoped("close codes: 1000 ends messages, 1011 and drop (1006) fail them; sends then fail", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const first = yield* open()
      yield* server.send({ type: "one" })
      yield* server.close()
      const frames = yield* Stream.runCollect(Mailbox.toStream(first.messages))
      assert.deepStrictEqual(Chunk.toReadonlyArray(frames), ["{\"type\":\"one\"}"])
      assert.isFalse(yield* server.isConnected)
      const late = yield* Effect.flip(first.send("{}"))
      assert.isTrue(late.retryable)

      const second = yield* open()
      assert.strictEqual(yield* server.awaitConnection, 2)
      yield* server.close(1011, "boom")
      const error = yield* Effect.flip(Stream.runDrain(Mailbox.toStream(second.messages)))
      assert.strictEqual(error.code, 1011)
      assert.strictEqual(error.reason, "boom")
      assert.isTrue(error.retryable)

      const third = yield* open()
      yield* server.drop
      const dropped = yield* Effect.flip(Stream.runDrain(Mailbox.toStream(third.messages)))
      assert.strictEqual(dropped.code, 1006)
      assert.isTrue(dropped.retryable)
      assert.strictEqual(yield* server.attempts, 3)
    }).pipe(Effect.provide(MockTransport.layer())))

  it.scoped("failNextSends: the send fails, the frame is not received, the connection drops", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const first = yield* open()
      yield* first.send(JSON.stringify({ type: "kept" }))
      yield* server.failNextSends(1)
      const error = yield* Effect.flip(first.send(JSON.stringify({ type: "lost" })))
      assert.instanceOf(error, ConnectionError)
      assert.isTrue(error.retryable)
      assert.deepStrictEqual((yield* server.clientEvents).map((f) => f.type), ["kept"])
      assert.isFalse(yield* server.isConnected)
      const ended = yield* Effect.flip(Stream.runDrain(Mailbox.toStream(first.messages)))
      assert.strictEqual(ended.code, 1006)

      const second = yield* open()
      yield* second.send(JSON.stringify({ type: "again" }))
      const frame = yield* server.nextClientEventOfType("again")
      assert.strictEqual(frame.connection, 2)
    }).pipe(Effect.provide(MockTransport.layer())))

  it.scoped("server.send and awaitConnection wait for a connection; closing the scope closes it", () =>
    Effect.gen(function*() {
      const server = yield* MockServer
      const pendingSend = yield* Effect.fork(server.send({ type: "hello" }))
      const pendingAwait = yield* Effect.fork(server.awaitConnection)
      yield* TestClock.adjust("1 minute")
      assert.isTrue(Option.isNone(yield* Fiber.poll(pendingSend)))
      const connection = yield* Effect.scoped(
        Effect.gen(function*() {
          const c = yield* open()
          assert.strictEqual(yield* Fiber.join(pendingAwait), 1)
          yield* Fiber.join(pendingSend)
          return c
        })
      )
      // The scope is closed: the mock marks the connection closed.
      assert.isFalse(yield* server.isConnected)
      assert.isTrue(Exit.isFailure(yield* Effect.exit(connection.send("{}"))))
      const frames = yield* Stream.runCollect(Mailbox.toStream(connection.messages))
      assert.deepStrictEqual(Chunk.toReadonlyArray(frames), [
        JSON.stringify({ type: "session.created", connection: 1 }),
        JSON.stringify({ type: "hello" })
      ])
    }).pipe(Effect.provide(MockTransport.layer({ greeting }))))

  it.effect("make gives the transport and the server without a Layer", () =>
    Effect.gen(function*() {
      const { server, transport } = yield* MockTransport.make()
      yield* Effect.scoped(Effect.gen(function*() {
        const connection = yield* transport.open(request(1))
        yield* connection.send(JSON.stringify({ type: "ping" }))
        yield* connection.close(4001, "client says bye")
        const error = yield* Effect.flip(Stream.runDrain(Mailbox.toStream(connection.messages)))
        assert.strictEqual(error.code, 4001)
      }))
      assert.strictEqual((yield* server.nextClientEvent).type, "ping")
      assert.strictEqual(yield* server.attempts, 1)
    }))
})
