import { assert, describe, it } from "@effect/vitest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Socket from "@effect/platform/Socket"
import { AuthenticationError, ConfigurationError, ConnectionError } from "@realtime-fx/core/Errors"
import { RealtimeModel } from "@realtime-fx/core/RealtimeModel"
import * as RealtimeSession from "@realtime-fx/core/RealtimeSession"
import { Resampler } from "@realtime-fx/core/Resampler"
import { Transport } from "@realtime-fx/core/Transport"
import * as Xai from "@realtime-fx/core/Xai"
import * as FakeServer from "@realtime-fx/test-kit/FakeServer"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import WebSocket from "ws"
import * as BrowserTransport from "../src/BrowserTransport.js"
import * as Rules from "../src/internal/request.js"

// The transport runs here over the `ws` package's WebSocket (the same EventTarget interface as the
// browser's) against the loopback fake server; the real browser is covered by `npm run test:browser`.
// Every test is bounded by vitest's timeout and talks to 127.0.0.1 only.

const sockets: Array<WebSocket> = []
const WsConstructor = Layer.succeed(Socket.WebSocketConstructor, (url, protocols) => {
  const ws = new WebSocket(url, protocols)
  sockets.push(ws)
  return ws as unknown as globalThis.WebSocket
})
const TransportLive = BrowserTransport.layerConstructor({ openTimeout: "3 seconds" }).pipe(Layer.provide(WsConstructor))

const apiKey = "fake-api-key"

const mint = (server: FakeServer.FakeServer) =>
  Xai.createClientSecret({ apiKey: Redacted.make(apiKey), baseUrl: server.httpUrl, expiresAfterSeconds: 60 }).pipe(
    Effect.provide(NodeHttpClient.layerUndici)
  )

describe("BrowserTransport over a WebSocket constructor", () => {
  it.scoped("authenticates with a minted client secret as the subprotocol, never a header", () =>
    Effect.gen(function*() {
      const server = yield* FakeServer.make({ requireAuth: apiKey })
      const secret = yield* mint(server)
      assert.match(Redacted.value(secret.value), /^fake-secret-/)
      const model = yield* Xai.make({ clientSecret: secret.value, baseUrl: server.url })
      const transport = yield* Effect.provide(Transport, TransportLive)
      const conn = yield* transport.open(model.request())
      const requests = yield* server.requests
      assert.strictEqual(requests.length, 1)
      assert.strictEqual(requests[0]!.headers["sec-websocket-protocol"], `xai-client-secret.${Redacted.value(secret.value)}`)
      assert.isUndefined(requests[0]!.headers.authorization)
      // The server echoed the offered subprotocol (Chromium fails the handshake otherwise).
      assert.strictEqual(sockets.at(-1)!.protocol, `xai-client-secret.${Redacted.value(secret.value)}`)
      const first = yield* conn.messages.take
      assert.strictEqual(JSON.parse(first).type, "session.created")
      assert.isAtLeast(conn.bufferedAmount!(), 0)
    }))

  it.scopedLive("listen hands over the held frames in order, then pushes every new frame to its handler", () =>
    Effect.gen(function*() {
      const server = yield* FakeServer.make()
      const model = yield* Xai.make({ clientSecret: Redacted.make("s"), baseUrl: server.url })
      const transport = yield* Effect.provide(Transport, TransportLive)
      const conn = yield* transport.open(model.request())
      const listen = (conn as { readonly listen?: (handler: (text: string) => void) => void }).listen
      assert.isDefined(listen)
      // Wait until the greeting is held in the mailbox, unread.
      const held = () => Effect.map(conn.messages.size, Option.getOrElse(() => 0))
      while ((yield* held()) === 0) yield* Effect.sleep("5 millis")
      const got: Array<string> = []
      listen!((text) => got.push(JSON.parse(text).type))
      assert.strictEqual(got[0], "session.created", "the held frames first, in order")
      const greeting = got.length
      yield* server.inject({ type: "fake.one" })
      yield* server.inject({ type: "fake.two" })
      while (got.length < greeting + 2) yield* Effect.sleep("5 millis")
      assert.deepStrictEqual(got.slice(-2), ["fake.one", "fake.two"])
      assert.strictEqual(yield* held(), 0, "nothing went to the mailbox after listen")
      yield* server.closeAll(4001, "gone")
      const end = yield* Mailbox.toStream(conn.messages).pipe(Stream.runDrain, Effect.flip)
      assert.strictEqual(end.code, 4001, "the mailbox still tells how the connection ended")
    }))

  it.scoped("the fake server's client-secret route refuses a wrong API key", () =>
    Effect.gen(function*() {
      const server = yield* FakeServer.make({ requireAuth: apiKey })
      const error = yield* Xai.createClientSecret({ apiKey: Redacted.make("wrong"), baseUrl: server.httpUrl }).pipe(
        Effect.provide(NodeHttpClient.layerUndici),
        Effect.flip
      )
      assert.instanceOf(error, AuthenticationError)
    }))

  it.scoped("runs a whole session: the reply's text arrives", () =>
    Effect.gen(function*() {
      const server = yield* FakeServer.make({ requireAuth: apiKey, reply: { text: "Hi from the fake." } })
      const secret = yield* mint(server)
      const session = yield* RealtimeSession.make().pipe(
        Effect.provide(Layer.mergeAll(
          Xai.layer({ clientSecret: secret.value, baseUrl: server.url }),
          TransportLive,
          Resampler.layerLinear
        ))
      )
      const reply = yield* session.generateReply()
      const text = yield* reply.messages.pipe(
        Stream.flatMap((message) => message.text),
        Stream.runFold("", (acc, delta) => acc + delta.text)
      )
      assert.strictEqual(text, "Hi from the fake.")
    }))

  it.scoped("refuses a request with an Authorization header (an API key) with a ConfigurationError", () =>
    Effect.gen(function*() {
      const server = yield* FakeServer.make()
      const model = yield* Xai.make({ apiKey: Redacted.make("secret-key-value"), baseUrl: server.url })
      const transport = yield* Effect.provide(Transport, TransportLive)
      const exit = yield* Effect.exit(transport.open(model.request()))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
      assert.instanceOf(defect, ConfigurationError)
      assert.match((defect as ConfigurationError).message, /Authorization.*client secret/)
      assert.notInclude((defect as ConfigurationError).message, "secret-key-value")
      assert.strictEqual((yield* server.requests).length, 0, "nothing reached the server")
      const checked = yield* Effect.either(BrowserTransport.checkModel.pipe(Effect.provideService(RealtimeModel, model)))
      assert.isTrue(Either.isLeft(checked) && checked.left._tag === "ConfigurationError")
      const good = yield* Xai.make({ clientSecret: Redacted.make("s"), baseUrl: server.url })
      yield* BrowserTransport.checkModel.pipe(Effect.provideService(RealtimeModel, good))
    }))

  it.scoped("a refused handshake (bad client secret) fails as close 1006 before open, naming the causes", () =>
    Effect.gen(function*() {
      const server = yield* FakeServer.make({ requireAuth: apiKey })
      const model = yield* Xai.make({ clientSecret: Redacted.make("not-minted"), baseUrl: server.url })
      const transport = yield* Effect.provide(Transport, TransportLive)
      const error = yield* Effect.flip(transport.open(model.request()))
      assert.instanceOf(error, ConnectionError)
      assert.strictEqual((error as ConnectionError).code, 1006)
      assert.isTrue((error as ConnectionError).retryable)
      assert.match(error.message, /client secret/)
      assert.notInclude(error.message, "not-minted")
    }))

  it.scoped("a close after open fails the messages with its code; a normal close ends them", () =>
    Effect.gen(function*() {
      const server = yield* FakeServer.make()
      const model = yield* Xai.make({ clientSecret: Redacted.make("s"), baseUrl: server.url })
      const transport = yield* Effect.provide(Transport, TransportLive)
      const conn = yield* transport.open(model.request())
      yield* conn.messages.take
      yield* server.closeAll(4000, "bye")
      const error = yield* Mailbox.toStream(conn.messages).pipe(Stream.runDrain, Effect.flip)
      assert.strictEqual(error.code, 4000)
      assert.strictEqual(error.reason, "bye")
      const conn2 = yield* transport.open(model.request())
      yield* server.closeAll(1000)
      const rest = yield* Mailbox.toStream(conn2.messages).pipe(Stream.runCollect)
      assert.isAtLeast(rest.length, 1)
      yield* conn2.send("{}").pipe(Effect.flip, Effect.map((e) => assert.strictEqual(e._tag, "ConnectionError")))
    }))
})

describe("browser transport rules", () => {
  const request = (headers: Record<string, string>) => ({ url: "wss://x/v1/realtime", headers, protocols: [Redacted.make("p.secret")] })

  it("drops the User-Agent, reveals the subprotocols only for the socket, refuses other headers", () => {
    const ok = Rules.checkRequest(request({ "User-Agent": "realtime-fx/0.1.0" }))
    assert.deepStrictEqual(ok, Either.right({ url: "wss://x/v1/realtime", protocols: ["p.secret"] }))
    const refused = Rules.checkRequest(request({ "User-Agent": "x", "OpenAI-Beta": "realtime=v1" }))
    assert.isTrue(Either.isLeft(refused))
    if (Either.isLeft(refused)) assert.match(refused.left.message, /OpenAI-Beta/)
  })

  it("maps ends before open to typed errors", () => {
    const base: Rules.OpenEnd = { closeCode: 1006, closeReason: "", timedOut: false, invalidRequest: undefined, offeredProtocol: false }
    const handshake = Rules.openFailure(base)
    assert.instanceOf(handshake, ConnectionError)
    assert.notMatch(handshake.message, /client secret/)
    assert.match(Rules.openFailure({ ...base, offeredProtocol: true }).message, /client secret/)
    assert.instanceOf(Rules.openFailure({ ...base, closeCode: 4001 }), AuthenticationError)
    assert.instanceOf(Rules.openFailure({ ...base, closeCode: 1008, closeReason: "invalid client secret" }), AuthenticationError)
    const invalid = Rules.openFailure({ ...base, invalidRequest: "SyntaxError" })
    assert.isTrue(invalid._tag === "ConnectionError" && !invalid.retryable)
    const timedOut = Rules.openFailure({ ...base, timedOut: true })
    assert.match(timedOut.message, /timed out/)
    assert.isTrue(timedOut._tag === "ConnectionError" && timedOut.timedOut === true)
    const other = Rules.openFailure({ ...base, closeCode: 1011, closeReason: "boom" })
    assert.isTrue(other._tag === "ConnectionError" && other.code === 1011 && other.reason === "boom")
  })

  it("maps ends after open: 1000 is normal, others carry the code", () => {
    assert.isUndefined(Rules.lostFailure(1000, ""))
    assert.strictEqual(Rules.lostFailure(1011, "x")!.code, 1011)
    assert.strictEqual(Rules.lostFailure(undefined, undefined)!.code, 1006)
  })

  it("sends only close codes and reasons a browser accepts", () => {
    assert.strictEqual(Rules.closeCodeFor(undefined), 1000)
    assert.strictEqual(Rules.closeCodeFor(1001), 1000)
    assert.strictEqual(Rules.closeCodeFor(4321), 4321)
    assert.strictEqual(Rules.closeCodeFor(5000), 1000)
    const long = "é".repeat(100) // 200 bytes
    const cut = Rules.closeReasonFor(long)!
    assert.isAtMost(new TextEncoder().encode(cut).length, 123)
    assert.strictEqual(cut, "é".repeat(61))
    assert.strictEqual(Rules.closeReasonFor("short"), "short")
  })
})
