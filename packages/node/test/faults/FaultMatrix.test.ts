// The fault matrix over the loopback fake server: for each fault injected while a reply is playing,
// the handshakes made, the in-flight generation's typed error and the time it took, an event queued
// during the outage sent exactly once (or refused once the session has ended), and no fiber or
// handle left behind. Every check is bounded in time. (A peer that stops reading: StoppedReader.test.ts.)
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import { RealtimeSession } from "@realtime-fx/core"
import { FakeServer } from "@realtime-fx/test-kit"
import { activeResources, greet, layers, leakedResources, rawServer, until } from "./support.js"

type Fake = FakeServer.FakeServer

interface Row {
  readonly name: string
  /** Faults set before the reply is asked for. */
  readonly initial?: FakeServer.FakeFaults
  /** The fault, injected once the reply's first audio frame arrived. */
  readonly inject: (fake: Fake) => Effect.Effect<void>
  /** The in-flight generation's error (`"none"`: it completes). */
  readonly error: string
  /** The fault does not end the connection (default: it does, and the session reconnects). */
  readonly keepsConnection?: boolean
  /** The session ends with this error (no recovery). */
  readonly fatal?: string
  /** How long the outage lasts before the faults are cleared. */
  readonly outageMs?: number
  readonly handshakes: readonly [min: number, max: number]
}

const drop = (fake: Fake, faults: FakeServer.FakeFaults) =>
  Effect.zipRight(fake.setFaults(faults), fake.terminateAll)

const errorFrame = (code: string) => ({
  type: "error",
  event_id: `ev_err_${code}`,
  error: { type: "invalid_request_error", code, message: `fake ${code}` }
})

const rows: ReadonlyArray<Row> = [
  { name: "socket destroyed (TCP reset, 1006)", inject: (f) => f.terminateAll, error: "ConnectionError", handshakes: [2, 2] },
  { name: "close 1000", inject: (f) => f.closeAll(1000), error: "ConnectionError", handshakes: [2, 2] },
  { name: "close 1011", inject: (f) => f.closeAll(1011, "internal error"), error: "ConnectionError", handshakes: [2, 2] },
  { name: "close 4000", inject: (f) => f.closeAll(4000, "app close"), error: "ConnectionError", handshakes: [2, 2] },
  {
    name: "black-holed handshake",
    inject: (f) => drop(f, { blackholeHandshake: true }),
    outageMs: 1500,
    error: "ConnectionError",
    handshakes: [3, 4]
  },
  {
    name: "401 on upgrade",
    inject: (f) => drop(f, { rejectHandshake: 401 }),
    outageMs: 500,
    error: "ConnectionError",
    fatal: "AuthenticationError",
    handshakes: [2, 2]
  },
  {
    name: "403 on upgrade",
    inject: (f) => drop(f, { rejectHandshake: 403 }),
    outageMs: 500,
    error: "ConnectionError",
    fatal: "AuthenticationError",
    handshakes: [2, 2]
  },
  { name: "429 on upgrade", inject: (f) => drop(f, { rejectHandshake: 429 }), outageMs: 400, error: "ConnectionError", handshakes: [3, 5] },
  { name: "500 on upgrade", inject: (f) => drop(f, { rejectHandshake: 500 }), outageMs: 400, error: "ConnectionError", handshakes: [3, 5] },
  {
    name: "fatal error event (invalid_api_key)",
    inject: (f) => f.inject(errorFrame("invalid_api_key")),
    error: "AuthenticationError",
    fatal: "AuthenticationError",
    handshakes: [1, 1]
  },
  {
    name: "fatal error event (insufficient_quota)",
    inject: (f) => f.inject(errorFrame("insufficient_quota")),
    error: "ServerError",
    fatal: "ServerError",
    handshakes: [1, 1]
  },
  {
    name: "recoverable error event",
    inject: (f) => f.inject(errorFrame("fake_recoverable")),
    error: "none",
    keepsConnection: true,
    handshakes: [1, 1]
  },
  {
    name: "silent server (response.created, then nothing)",
    initial: { dropResponses: true },
    inject: () => Effect.void,
    error: "ConnectionError",
    handshakes: [2, 2]
  }
]

/** Runs one row; returns what it measured. */
const runRow = (row: Row) =>
  Effect.gen(function*() {
    const before = activeResources()
    const fakeScope = yield* Scope.make()
    const fake = yield* FakeServer.make({ pacing: "realtime", reply: { audioMs: 3000, text: "A long reply." } }).pipe(
      Scope.extend(fakeScope)
    )
    const supervisor = yield* Supervisor.track
    const sessionScope = yield* Scope.make()
    const measured = yield* Effect.gen(function*() {
      const session = yield* RealtimeSession.make({ liveness: { activeTimeout: "700 millis", idleTimeout: "5 seconds" } })
      const events = yield* session.subscribeEvents
      const tags: Array<string> = []
      yield* events.pipe(Stream.runForEach((e) => Effect.sync(() => tags.push(e._tag))), Effect.forkScoped, Effect.ignore)
      if (row.initial !== undefined) yield* fake.setFaults(row.initial)

      const generation = yield* session.generateReply()
      if (row.initial === undefined) {
        const message = Option.getOrThrow(yield* Stream.runHead(generation.messages))
        yield* Stream.runHead(message.audio)
      }
      const faultAt = performance.now()
      yield* row.inject(fake)
      const done = yield* Effect.either(generation.done).pipe(Effect.timeout("8 seconds"))
      const errorMs = performance.now() - faultAt

      // An event queued during the outage.
      const queuedId = `queued_${row.name.replace(/\W+/g, "_")}`
      const queued = yield* Effect.either(session.sendEvent({
        type: "conversation.item.create",
        item: { id: queuedId, type: "message", role: "user", content: [{ type: "input_text", text: "queued" }] }
      }))
      if (row.outageMs !== undefined) yield* Effect.sleep(row.outageMs)
      yield* fake.setFaults({})

      let closedWith: string | undefined
      if (row.fatal !== undefined) {
        const closed = yield* Effect.either(session.awaitClosed).pipe(Effect.timeout("5 seconds"), Effect.either)
        closedWith = Either.isRight(closed) && Either.isLeft(closed.right) ? closed.right.left._tag : String(closed)
      } else {
        if (row.keepsConnection !== true) {
          yield* until(() => tags.includes("Reconnected") && tags.at(-1) !== "Disconnected", "5 seconds")
        }
        yield* until(fake.received.pipe(Effect.map((r) => r.some((e) => (e["item"] as { id?: string } | undefined)?.id === queuedId))))
      }
      const copies = (yield* fake.received).filter((e) => (e["item"] as { id?: string } | undefined)?.id === queuedId).length
      const errorEvents = tags.filter((t) => t === "Error").length
      return { done, errorMs, queued, closedWith, copies, errorEvents, handshakes: (yield* fake.requests).length }
    }).pipe(
      Effect.provide(layers(fake.url, { connOptions: { timeout: "500 millis", retryInterval: "200 millis", maxRetry: 10 } })),
      Scope.extend(sessionScope),
      Effect.supervised(supervisor)
    )
    yield* Scope.close(sessionScope, Exit.void)
    yield* Scope.close(fakeScope, Exit.void)
    const fibers = yield* supervisor.value
    const running = fibers.filter((f) => f.unsafePoll() === null)
    const leaked = yield* leakedResources(before)
    return { ...measured, running: running.length, leaked }
  })

describe("fault matrix (loopback fake server)", () => {
  for (const row of rows) {
    it.live(row.name, () =>
      Effect.gen(function*() {
        const r = yield* runRow(row)
        const error = Either.isLeft(r.done) ? r.done.left._tag : "none"
        console.log(
          `[fault] ${row.name}: handshakes ${r.handshakes}, generation ${error} after ${Math.round(r.errorMs)} ms, ` +
            `queued event sent ${r.copies}x${r.closedWith !== undefined ? `, session closed with ${r.closedWith}` : ""}`
        )
        assert.strictEqual(error, row.error, "the in-flight generation fails with its typed error")
        if (row.error !== "none") assert.isBelow(r.errorMs, 3000, "and does not hang (a generous bound, not a speed target)")
        assert.isAtLeast(r.handshakes, row.handshakes[0])
        assert.isAtMost(r.handshakes, row.handshakes[1])
        if (row.keepsConnection === true) assert.isTrue(r.errorEvents > 0, "reported as a recoverable Error event")
        if (row.fatal !== undefined) {
          assert.strictEqual(r.closedWith, row.fatal)
          // Queued on a session that was then ended: never sent.
          assert.strictEqual(r.copies, 0)
        } else {
          assert.isTrue(Either.isRight(r.queued))
          assert.strictEqual(r.copies, 1, "the event queued during the outage is sent exactly once")
        }
        assert.strictEqual(r.running, 0, "no fiber of the session outlives its scope")
        assert.deepStrictEqual(r.leaked, {}, "no handle left behind")
      }).pipe(Effect.timeout("15 seconds")), 20_000)
  }
})

describe("a socket destroyed in the middle of a frame (raw server)", () => {
  it.live("the reply fails with ConnectionError, the session reconnects, the queued event is sent once, nothing leaks", () =>
    Effect.gen(function*() {
      const before = activeResources()
      const received: Array<string> = []
      let connections = 0
      const serverScope = yield* Scope.make()
      const server = yield* rawServer((ws) => {
        connections++
        greet(ws)
        ws.on("message", (data) => {
          const text = String(data)
          received.push(text)
          if (connections === 1 && text.includes("\"response.create\"")) {
            const request = JSON.parse(text) as { response?: { metadata?: Record<string, string> } }
            ws.send(JSON.stringify({
              type: "response.created",
              event_id: "ev_1",
              response: {
                id: "resp_cut",
                object: "realtime.response",
                status: "in_progress",
                output: [],
                metadata: request.response?.metadata ?? null
              }
            }))
            // A text frame announcing 255 bytes, two of them, then the TCP socket goes.
            const socket = (ws as unknown as { _socket: { write: (b: Uint8Array) => void; destroy: () => void } })._socket
            socket.write(new Uint8Array([0x81, 0x7e, 0x00, 0xff, 0x7b, 0x22]))
            setTimeout(() => socket.destroy(), 20)
          }
        })
      }).pipe(Scope.extend(serverScope))
      const supervisor = yield* Supervisor.track
      const sessionScope = yield* Scope.make()
      const r = yield* Effect.gen(function*() {
        const session = yield* RealtimeSession.make()
        const generation = yield* session.generateReply()
        const t0 = performance.now()
        const done = yield* Effect.either(generation.done).pipe(Effect.timeout("5 seconds"))
        const errorMs = performance.now() - t0
        yield* session.sendEvent({
          type: "conversation.item.create",
          item: { id: "queued_midframe", type: "message", role: "user", content: [{ type: "input_text", text: "queued" }] }
        })
        yield* until(() => received.some((t) => t.includes("queued_midframe")))
        yield* Effect.sleep("100 millis")
        return { done, errorMs, copies: received.filter((t) => t.includes("queued_midframe")).length }
      }).pipe(
        Effect.provide(layers(server.url, { connOptions: { timeout: "500 millis", retryInterval: "200 millis" } })),
        Scope.extend(sessionScope),
        Effect.supervised(supervisor)
      )
      yield* Scope.close(sessionScope, Exit.void)
      yield* Scope.close(serverScope, Exit.void)
      console.log(
        `[fault] socket destroyed mid-frame: handshakes ${server.handshakes()}, generation ${
          Either.isLeft(r.done) ? r.done.left._tag : "none"
        } after ${Math.round(r.errorMs)} ms, queued event sent ${r.copies}x`
      )
      assert.isTrue(Either.isLeft(r.done) && r.done.left._tag === "ConnectionError")
      assert.isBelow(r.errorMs, 3000)
      assert.strictEqual(server.handshakes(), 2)
      assert.strictEqual(r.copies, 1)
      assert.strictEqual((yield* supervisor.value).filter((f) => f.unsafePoll() === null).length, 0)
      assert.deepStrictEqual(yield* leakedResources(before), {})
    }).pipe(Effect.timeout("15 seconds")), 20_000)
})
