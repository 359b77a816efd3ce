// Liveness over real sockets, with short configured idle times: a server that goes silent mid-reply
// (it still answers pings) fails the generation with a typed error and the session reconnects; a
// server that stops answering pings (a half-open connection) is dropped while idle.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { RealtimeSession } from "@realtime-fx/core"
import { FakeServer } from "@realtime-fx/test-kit"
import { greet, layers, rawServer, until } from "./support.js"

describe("liveness over a real socket", () => {
  it.live("a server silent mid-reply: the generation fails with ConnectionError after the active idle time, then a reconnect", () =>
    Effect.gen(function*() {
      // response.created, then nothing (ws answers pings all along).
      const fake = yield* FakeServer.make({ faults: { dropResponses: true } })
      yield* Effect.gen(function*() {
        const session = yield* RealtimeSession.make({ liveness: { activeTimeout: "500 millis", idleTimeout: "2 seconds" } })
        const generation = yield* session.generateReply()
        const silentFrom = performance.now()
        const done = yield* Effect.either(generation.done)
        const tookMs = performance.now() - silentFrom
        console.log(`silent server mid-reply (active idle time 500 ms): typed error after ${Math.round(tookMs)} ms`)
        assert.isTrue(Either.isLeft(done))
        const error = (done as Either.Left<{ _tag: string; message: string }, unknown>).left
        assert.strictEqual(error._tag, "ConnectionError")
        assert.include(error.message, "no traffic from the server for 500ms")
        // 500 ms after response.created, checked every 500 ms (a quarter of the 2 s idle time):
        // a generous bound against a loaded machine, not a speed target.
        assert.isAtLeast(tookMs, 450)
        assert.isBelow(tookMs, 2000)
        yield* until(fake.requests.pipe(Effect.map((r) => r.length >= 2)))
      }).pipe(Effect.provide(layers(fake.url)), Effect.scoped)
    }).pipe(Effect.scoped), 20_000)

  it.live("a server that stops answering pings while idle: the connection is lost after the idle time and reopened", () =>
    Effect.gen(function*() {
      const server = yield* rawServer(greet, { autoPong: false })
      yield* Effect.gen(function*() {
        const session = yield* RealtimeSession.make({ liveness: { activeTimeout: "300 millis", idleTimeout: "600 millis" } })
        const events = yield* session.subscribeEvents
        const lost: Array<{ readonly at: number; readonly message: string }> = []
        let connectedAt = 0
        yield* events.pipe(
          Stream.runForEach((e) =>
            Effect.sync(() => {
              if (e._tag === "Connected" && connectedAt === 0) connectedAt = performance.now()
              if (e._tag === "Disconnected") lost.push({ at: performance.now(), message: e.error?.message ?? "" })
            })
          ),
          Effect.forkScoped
        )
        yield* until(() => lost.length > 0)
        const tookMs = lost[0]!.at - connectedAt
        console.log(`server not answering pings (idle time 600 ms): lost after ${Math.round(tookMs)} ms`)
        assert.include(lost[0]!.message, "no traffic from the server for 600ms")
        assert.isAtLeast(tookMs, 550)
        assert.isBelow(tookMs, 3000)
        yield* until(() => server.handshakes() >= 2)
      }).pipe(Effect.provide(layers(server.url)), Effect.scoped)
    }).pipe(Effect.scoped), 20_000)
})
