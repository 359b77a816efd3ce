import { assert, describe, it } from "@effect/vitest"
import { AuthenticationError, ConnectionError } from "@realtime-fx/core/Errors"
import { Transport, type TransportConnection, type TransportRequest } from "@realtime-fx/core/Transport"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import type { IncomingMessage } from "node:http"
import * as Net from "node:net"
import type { AddressInfo } from "node:net"
import { WebSocketServer, type ServerOptions, type WebSocket } from "ws"
import * as NodeTransport from "../src/NodeTransport.js"

// Every test talks to a real `ws` server on 127.0.0.1 and is bounded in time.

interface ServerConnection {
  readonly ws: WebSocket
  readonly request: IncomingMessage
  readonly received: Queue.Queue<string>
  readonly closed: Deferred.Deferred<{ readonly code: number; readonly reason: string }>
}

const makeServer = (options: Omit<ServerOptions, "host" | "port"> = {}) =>
  Effect.gen(function*() {
    const connections = yield* Queue.unbounded<ServerConnection>()
    const wss = yield* Effect.acquireRelease(
      Effect.async<WebSocketServer>((resume) => {
        const server: WebSocketServer = new WebSocketServer({ ...options, host: "127.0.0.1", port: 0 }, () =>
          resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          for (const client of server.clients) client.terminate()
          server.close(() => resume(Effect.void))
        })
    )
    wss.on("connection", (ws, request) => {
      const received = Effect.runSync(Queue.unbounded<string>())
      const closed = Effect.runSync(Deferred.make<{ readonly code: number; readonly reason: string }>())
      ws.on("message", (data, isBinary) => {
        received.unsafeOffer(isBinary ? `binary:${data.toString()}` : data.toString())
      })
      ws.on("close", (code, reason) => {
        Deferred.unsafeDone(closed, Exit.succeed({ code, reason: reason.toString() }))
      })
      connections.unsafeOffer({ ws, request, received, closed })
    })
    const port = (wss.address() as AddressInfo).port
    return { url: `ws://127.0.0.1:${port}/v1/realtime?model=m`, port, connections }
  })

const request = (url: string, extra: Partial<TransportRequest> = {}): TransportRequest => ({
  url,
  headers: {},
  protocols: [],
  ...extra
})

const open = (req: TransportRequest) => Effect.flatMap(Transport, (transport) => transport.open(req))

/** A default server, a connection opened to it and the server's side of that connection. */
const connected = () =>
  Effect.gen(function*() {
    const server = yield* makeServer()
    const connection = yield* open(request(server.url))
    const peer = yield* Queue.take(server.connections)
    return { connection, peer }
  })

/** Reads `messages` to its end, which must be a failure: the frames before it and the error. */
const framesUntilFailure = (connection: TransportConnection) =>
  Effect.gen(function*() {
    const frames: Array<string> = []
    const error = yield* Mailbox.toStream(connection.messages).pipe(
      Stream.runForEach((frame) => Effect.sync(() => void frames.push(frame))),
      Effect.flip
    )
    return { error, frames }
  })

const bounded = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(Effect.timeoutFail({ duration: "8 seconds", onTimeout: () => new Error("test timed out") }))

const waitUntil = (condition: () => boolean) =>
  Effect.suspend(() => condition() ? Effect.void : Effect.fail("not yet")).pipe(
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeout("2 seconds"),
    Effect.ignore
  )

const provide = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(bounded, Effect.provide(NodeTransport.layerWith({ openTimeout: "3 seconds" })))

describe("NodeTransport", () => {
  it.scopedLive("sends the headers, the subprotocols and the URL; frames flow both ways", () =>
    provide(Effect.gen(function*() {
      const server = yield* makeServer()
      const connection = yield* open(request(server.url, {
        headers: { Authorization: Redacted.make("Bearer sk-secret"), "User-Agent": "realtime-fx-test/1.0" },
        protocols: ["realtime", Redacted.make("xai-client-secret.abc")]
      }))
      const peer = yield* Queue.take(server.connections)
      assert.strictEqual(peer.request.headers.authorization, "Bearer sk-secret")
      assert.strictEqual(peer.request.headers["user-agent"], "realtime-fx-test/1.0")
      assert.deepStrictEqual(
        peer.request.headers["sec-websocket-protocol"]?.split(",").map((p) => p.trim()),
        ["realtime", "xai-client-secret.abc"]
      )
      assert.strictEqual(peer.ws.protocol, "realtime")
      assert.strictEqual(peer.request.url, "/v1/realtime?model=m")

      yield* connection.send("{\"type\":\"first\"}")
      yield* connection.send("second")
      assert.strictEqual(yield* Queue.take(peer.received), "{\"type\":\"first\"}")
      assert.strictEqual(yield* Queue.take(peer.received), "second")

      peer.ws.send("text frame")
      peer.ws.send(Buffer.from("binary frame \u00e9", "utf8"))
      const frames = yield* Mailbox.toStream(connection.messages).pipe(Stream.take(2), Stream.runCollect)
      assert.deepStrictEqual(Chunk.toReadonlyArray(frames), ["text frame", "binary frame \u00e9"])
    })))

  it.scopedLive("frames sent by the server right after the upgrade are not lost", () =>
    provide(Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      for (let i = 0; i < 100; i++) peer.ws.send(`m${i}`)
      const frames = yield* Mailbox.toStream(connection.messages).pipe(Stream.take(100), Stream.runCollect)
      assert.deepStrictEqual(Chunk.toReadonlyArray(frames), Array.from({ length: 100 }, (_, i) => `m${i}`))
    })))

  for (const status of [401, 403]) {
    it.scopedLive(`an upgrade refused with ${status} fails with AuthenticationError status ${status}`, () =>
      provide(Effect.gen(function*() {
        const server = yield* makeServer({ verifyClient: (_info, done) => done(false, status) })
        const error = yield* Effect.flip(open(request(server.url, {
          headers: { Authorization: Redacted.make("Bearer sk-secret") }
        })))
        assert.instanceOf(error, AuthenticationError)
        assert.strictEqual(error.status, status)
        assert.notInclude(error.message, "sk-secret")
      })))
  }

  it.scopedLive("an upgrade refused with 500 fails with a retryable ConnectionError", () =>
    provide(Effect.gen(function*() {
      const server = yield* makeServer({ verifyClient: (_info, done) => done(false, 500) })
      const error = yield* Effect.flip(open(request(server.url)))
      assert.instanceOf(error, ConnectionError)
      assert.isTrue(error._tag === "ConnectionError" && error.retryable)
      assert.include(error.message, "500")
    })))

  it.scopedLive("a refused TCP connection fails with a retryable ConnectionError", () =>
    provide(Effect.gen(function*() {
      // Take a free port, then close it so nothing listens there.
      const port = yield* Effect.async<number>((resume) => {
        const probe = Net.createServer()
        probe.listen(0, "127.0.0.1", () => {
          const free = (probe.address() as AddressInfo).port
          probe.close(() => resume(Effect.succeed(free)))
        })
      })
      const error = yield* Effect.flip(open(request(`ws://127.0.0.1:${port}/`)))
      assert.instanceOf(error, ConnectionError)
      assert.isTrue(error._tag === "ConnectionError" && error.retryable)
    })))

  it.scopedLive("a server that never answers the upgrade fails with openTimeout as a retryable ConnectionError", () =>
    Effect.gen(function*() {
      const sockets = new Set<Net.Socket>()
      const closedSockets = new Set<Net.Socket>()
      const port = yield* Effect.acquireRelease(
        Effect.async<Net.Server>((resume) => {
          const server = Net.createServer((socket) => {
            sockets.add(socket)
            socket.on("close", () => closedSockets.add(socket))
            socket.resume()
          })
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) =>
          Effect.async<void>((resume) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => resume(Effect.void))
          })
      ).pipe(Effect.map((server) => (server.address() as AddressInfo).port))
      const error = yield* Effect.flip(open(request(`ws://127.0.0.1:${port}/`)))
      assert.instanceOf(error, ConnectionError)
      assert.isTrue(error._tag === "ConnectionError" && error.retryable)
      assert.include(error.message, "timed out")
      assert.isTrue(error._tag === "ConnectionError" && error.timedOut === true, "typed as a time limit")
      assert.strictEqual(sockets.size, 1)
      // The timed-out handshake is aborted: the server sees the TCP connection close.
      yield* waitUntil(() => closedSockets.size === 1)
      assert.strictEqual(closedSockets.size, 1)
    }).pipe(bounded, Effect.provide(NodeTransport.layerWith({ openTimeout: "300 millis" }))))

  it.scopedLive("a terminated connection fails messages (retryable, 1006) and a later send fails promptly", () =>
    provide(Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      peer.ws.send("before")
      const collected = yield* Mailbox.toStream(connection.messages).pipe(
        Stream.runFoldEffect([] as Array<string>, (acc, frame) =>
          Effect.sync(() => {
            if (frame === "before") peer.ws.terminate()
            return [...acc, frame]
          })),
        Effect.either
      )
      assert.isTrue(Either.isLeft(collected))
      const error = Either.getLeft(collected).pipe((o) => o._tag === "Some" ? o.value : undefined)
      assert.instanceOf(error, ConnectionError)
      assert.isTrue(error!.retryable)
      assert.strictEqual(error!.code, 1006)

      const sendError = yield* connection.send("after").pipe(
        Effect.timeoutFail({ duration: "1 second", onTimeout: () => "send hung" as const }),
        Effect.flip
      )
      assert.instanceOf(sendError, ConnectionError)
      assert.isTrue((sendError as ConnectionError).retryable)
    })))

  it.scopedLive("a server close with 1000 ends messages successfully after the frames before it", () =>
    provide(Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      peer.ws.send("one")
      peer.ws.send("two")
      peer.ws.close(1000, "done")
      const frames = yield* Stream.runCollect(Mailbox.toStream(connection.messages))
      assert.deepStrictEqual(Chunk.toReadonlyArray(frames), ["one", "two"])
      const sendError = yield* Effect.flip(connection.send("late"))
      assert.isTrue(sendError.retryable)
    })))

  it.scopedLive("listen: frames held before it come first, in order, then pushed ones; the end reaches onEnd and messages", () =>
    provide(Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      for (let i = 0; i < 50; i++) peer.ws.send(`m${i}`)
      yield* Effect.sleep("100 millis") // all 50 held in messages
      const seen: Array<string> = []
      const ends: Array<Exit.Exit<void, ConnectionError>> = []
      assert.isDefined(connection.listen)
      connection.listen!((text) => seen.push(text), (exit) => ends.push(exit))
      assert.strictEqual(seen.length, 50, "the held frames are handed over in the listen call")
      for (let i = 50; i < 100; i++) peer.ws.send(`m${i}`)
      peer.ws.close(1000, "done")
      yield* connection.messages.await
      assert.deepStrictEqual(seen, Array.from({ length: 100 }, (_, i) => `m${i}`))
      assert.deepStrictEqual(ends, [Exit.void], "onEnd heard the normal close once")
    })))

  it.scopedLive("listen after the server closed still hands over the frames sent before the close, then messages ends", () =>
    provide(Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      peer.ws.send("one")
      peer.ws.send("two")
      peer.ws.close(4000, "bye")
      // The close handshake is over on both sides: messages is closing, both frames still held.
      yield* Deferred.await(peer.closed)
      yield* Effect.sleep("100 millis")
      assert.deepStrictEqual(connection.messages.unsafeSize(), Option.some(2))
      const seen: Array<string> = []
      const ends: Array<Exit.Exit<void, ConnectionError>> = []
      connection.listen!((text) => seen.push(text), (exit) => ends.push(exit))
      // The end came before listen: onEnd hears it in the listen call, after the held frames.
      assert.deepStrictEqual(seen, ["one", "two"])
      assert.strictEqual(ends.length, 1)
      assert.isTrue(Exit.isFailure(ends[0]!))
      const ended = yield* Effect.flip(connection.messages.await)
      assert.strictEqual(ended.code, 4000)
    })))

  it.scopedLive("a server close with 1011 fails messages with the code and the reason", () =>
    provide(Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      peer.ws.send("one")
      peer.ws.close(1011, "internal boom")
      const { error, frames } = yield* framesUntilFailure(connection)
      assert.deepStrictEqual(frames, ["one"])
      assert.instanceOf(error, ConnectionError)
      assert.strictEqual(error.code, 1011)
      assert.strictEqual(error.reason, "internal boom")
      assert.isTrue(error.retryable)
    })))

  it.scopedLive("close(code, reason) from the client reaches the server; a 1000 close ends messages", () =>
    provide(Effect.gen(function*() {
      const server = yield* makeServer()
      const first = yield* open(request(server.url))
      const firstPeer = yield* Queue.take(server.connections)
      yield* first.close(4000, "client going")
      assert.deepStrictEqual(yield* Deferred.await(firstPeer.closed), { code: 4000, reason: "client going" })

      const second = yield* open(request(server.url))
      const secondPeer = yield* Queue.take(server.connections)
      const reader = yield* Effect.fork(Stream.runCollect(Mailbox.toStream(second.messages)))
      yield* second.close()
      assert.strictEqual((yield* Deferred.await(secondPeer.closed)).code, 1000)
      assert.strictEqual(Chunk.size(yield* Fiber.join(reader)), 0)
      assert.isTrue((yield* Effect.flip(second.send("late"))).retryable)
    })))

  it.scopedLive("closing the scope closes the server-side socket with 1000 and ends messages", () =>
    provide(Effect.gen(function*() {
      const server = yield* makeServer()
      const connection = yield* Effect.scoped(open(request(server.url)))
      const peer = yield* Queue.take(server.connections)
      assert.strictEqual((yield* Deferred.await(peer.closed)).code, 1000)
      const frames = yield* Stream.runCollect(Mailbox.toStream(connection.messages))
      assert.strictEqual(Chunk.size(frames), 0)
      const sendError = yield* connection.send("late").pipe(
        Effect.timeoutFail({ duration: "1 second", onTimeout: () => "send hung" as const }),
        Effect.flip
      )
      assert.instanceOf(sendError, ConnectionError)
    })))

  it.scopedLive("interrupting an open that waits for the handshake leaves nothing running", () =>
    Effect.gen(function*() {
      const sockets = new Set<Net.Socket>()
      const closedSockets = new Set<Net.Socket>()
      const server = yield* Effect.acquireRelease(
        Effect.async<Net.Server>((resume) => {
          const s = Net.createServer((socket) => {
            sockets.add(socket)
            socket.on("close", () => closedSockets.add(socket))
            socket.resume() // read (and discard) the request so that the client's FIN is seen
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.async<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          s.close(() => resume(Effect.void))
        })
      )
      const port = (server.address() as AddressInfo).port
      const result = yield* open(request(`ws://127.0.0.1:${port}/`)).pipe(
        Effect.scoped,
        Effect.timeout("300 millis"),
        Effect.either
      )
      assert.isTrue(Either.isLeft(result))
      // The client aborts the pending handshake: the server sees its TCP socket close.
      yield* waitUntil(() => closedSockets.size === 1)
      assert.strictEqual(sockets.size, 1)
      assert.strictEqual(closedSockets.size, 1)
    }).pipe(bounded, Effect.provide(NodeTransport.layerWith({ openTimeout: "5 seconds" }))))

  it.scopedLive("a frame that breaks the protocol (invalid UTF-8 text) fails messages as a lost connection", () =>
    provide(Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      peer.ws.send("one")
      // ws sends a Buffer as a text frame without checking it; the client's ws refuses it.
      peer.ws.send(Buffer.from([0xff, 0xfe]), { binary: false })
      const { error, frames } = yield* framesUntilFailure(connection)
      assert.deepStrictEqual(frames, ["one"])
      assert.instanceOf(error, ConnectionError)
      assert.include(error.message, "connection lost")
      assert.include(error.message, "UTF-8")
      assert.isTrue(error.retryable)
      assert.isTrue((yield* Effect.flip(connection.send("late"))).retryable)
    })))

  it.scopedLive("an open connection runs no fiber of its own: ws's events feed it", () =>
    provide(Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      const { connection, peer } = yield* connected().pipe(Effect.supervised(supervisor))
      assert.deepStrictEqual((yield* supervisor.value).filter((fiber) => fiber.unsafePoll() === null), [])
      peer.ws.send("still flowing")
      const frames = yield* Mailbox.toStream(connection.messages).pipe(Stream.take(1), Stream.runCollect)
      assert.deepStrictEqual(Chunk.toReadonlyArray(frames), ["still flowing"])
    })))

  it.scopedLive("an open interrupted while its scope stays open aborts the handshake at once", () =>
    Effect.gen(function*() {
      const closedSockets: Array<Net.Socket> = []
      const server = yield* Effect.acquireRelease(
        Effect.async<Net.Server>((resume) => {
          const s = Net.createServer((socket) => {
            socket.on("close", () => closedSockets.push(socket))
            socket.resume() // never answers the upgrade
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.async<void>((resume) => void s.close(() => resume(Effect.void)))
      )
      const port = (server.address() as AddressInfo).port
      // Interrupted after 100 ms; this test's scope (the open's) stays open, the open timeout is far.
      const result = yield* open(request(`ws://127.0.0.1:${port}/`)).pipe(Effect.timeout("100 millis"), Effect.either)
      assert.isTrue(Either.isLeft(result))
      yield* waitUntil(() => closedSockets.length === 1)
      assert.strictEqual(closedSockets.length, 1, "the abandoned handshake's TCP socket is closed")
    }).pipe(bounded, Effect.provide(NodeTransport.layerWith({ openTimeout: "5 seconds" }))))

  it.scopedLive("the default layer opens connections", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      yield* connection.send("ping")
      assert.strictEqual(yield* Queue.take(peer.received), "ping")
    }).pipe(bounded, Effect.provide(NodeTransport.layer)))
})
