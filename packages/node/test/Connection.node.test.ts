// The supervised connection over the real Node transport, against a loopback ws server.
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocketServer, type WebSocket } from "ws"
import { Connection } from "@realtime-fx/core"
import * as NodeTransport from "../src/NodeTransport.js"

interface Loopback {
  readonly url: string
  readonly upgrades: Array<IncomingMessage["headers"]>
  readonly received: Array<{ readonly connection: number; readonly type: string }>
  readonly sockets: Array<WebSocket>
}

/** A ws server on 127.0.0.1:0; `reject` answers the upgrade with that HTTP status. */
const loopback = (reject?: number) =>
  Effect.acquireRelease(
    Effect.async<{ server: WebSocketServer; state: Loopback }>((resume) => {
      const state: Loopback = { url: "", upgrades: [], received: [], sockets: [] }
      const server = new WebSocketServer({
        host: "127.0.0.1",
        port: 0,
        verifyClient: (info, done) => {
          state.upgrades.push(info.req.headers)
          if (reject !== undefined) done(false, reject, "Unauthorized")
          else done(true)
        }
      })
      server.on("connection", (socket) => {
        state.sockets.push(socket)
        const connection = state.sockets.length
        socket.on("message", (data) => {
          state.received.push({ connection, type: (JSON.parse(String(data)) as { type: string }).type })
        })
      })
      server.on("listening", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, state: Object.assign(state, { url: `ws://127.0.0.1:${port}/v1/realtime` }) }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        for (const client of server.clients) client.terminate()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ state }) => state))

const until = (check: () => boolean) =>
  Effect.gen(function*() {
    while (!check()) yield* Effect.sleep("10 millis")
  }).pipe(Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("condition not met in 5 s") }))

const connect = (url: string) =>
  Connection.make({
    request: Effect.succeed({
      url,
      headers: { Authorization: Redacted.make("Bearer loopback-secret"), "User-Agent": "realtime-fx/0.1.0" },
      protocols: []
    }),
    retry: { maxRetry: 3, retryInterval: Duration.millis(200), timeout: Duration.seconds(2) },
    replay: Effect.succeed([{ type: "session.update", session: { instructions: "replayed" } }]),
    awaitIdle: Effect.void
  })

describe("Connection over NodeTransport (loopback)", () => {
  it.live("the Authorization header arrives and the replay is the first frame", () =>
    Effect.gen(function*() {
      const server = yield* loopback()
      const conn = yield* connect(server.url)
      yield* conn.send({ type: "input_audio_buffer.commit" })
      yield* until(() => server.received.length >= 2)
      assert.strictEqual(server.upgrades[0]?.["authorization"], "Bearer loopback-secret")
      assert.strictEqual(server.upgrades[0]?.["user-agent"], "realtime-fx/0.1.0")
      assert.deepStrictEqual(server.received.map((r) => r.type), ["session.update", "input_audio_buffer.commit"])
    }).pipe(Effect.provide(NodeTransport.layer), Effect.scoped), 10_000)

  it.live("a 401 handshake gives the authentication error after one attempt", () =>
    Effect.gen(function*() {
      const server = yield* loopback(401)
      const conn = yield* connect(server.url)
      const exit = yield* conn.events.pipe(Stream.runDrain, Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = Option.getOrThrow(Cause.failureOption(exit.cause))
        assert.strictEqual(error._tag, "AuthenticationError")
        assert.notInclude(String(error.message), "loopback-secret")
      }
      assert.strictEqual(server.upgrades.length, 1)
      assert.strictEqual(yield* conn.attempts, 1)
    }).pipe(Effect.provide(NodeTransport.layer), Effect.scoped), 10_000)

  it.live("a server that destroys the socket mid-stream is reconnected to and the replay arrives", () =>
    Effect.gen(function*() {
      const server = yield* loopback()
      const conn = yield* connect(server.url)
      const tags: Array<string> = []
      const consumer = yield* conn.events.pipe(
        Stream.runForEach((e) => Effect.sync(() => tags.push(e._tag))),
        Effect.fork
      )
      yield* until(() => server.received.length >= 1)
      server.sockets[0]!.send(JSON.stringify({ type: "ping", timestamp: 1 }))
      yield* until(() => tags.includes("Message"))
      server.sockets[0]!.terminate() // abrupt: no close frame (1006)
      yield* until(() => tags.includes("Disconnected"))
      yield* conn.send({ type: "input_audio_buffer.clear" }) // queued while the connection is down
      yield* until(() => server.received.filter((r) => r.connection === 2).length >= 2)
      assert.deepStrictEqual(
        server.received.filter((r) => r.connection === 2).map((r) => r.type),
        ["session.update", "input_audio_buffer.clear"]
      )
      assert.deepStrictEqual(tags, ["Connected", "Message", "Disconnected", "Connected"])
      yield* Fiber.interrupt(consumer)
    }).pipe(Effect.provide(NodeTransport.layer), Effect.scoped), 10_000)
})

describe("Connection over NodeTransport: a frame that decides the outcome", () => {
  it.live("a fatal error from a peer that never answers the close frame ends the events at once (not after ws's 30 s close timeout)", () =>
    Effect.gen(function*() {
      const server = yield* loopback()
      const conn = yield* connect(server.url)
      yield* until(() => server.received.length >= 1)
      const socket = server.sockets[0]!
      socket.send(JSON.stringify({ type: "error", error: { type: "invalid_request_error", code: "invalid_api_key", message: "bad key" } }))
      // The peer stops reading: the client's close frame is never answered.
      ;(socket as unknown as { _socket: { pause: () => void } })._socket.pause()
      // Far below ws's 30 s close timeout: the outcome is known when the frame arrives.
      const exit = yield* conn.events.pipe(Stream.runDrain, Effect.timeout("3 seconds"), Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = Option.getOrThrow(Cause.failureOption(exit.cause))
        assert.strictEqual(error._tag, "AuthenticationError")
      }
    }).pipe(Effect.provide(NodeTransport.layer), Effect.scoped), 10_000)
})
