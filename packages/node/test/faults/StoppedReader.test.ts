// A peer that stops reading (its socket paused) while pushAudio runs at 100x real time. Before flow
// control the client buffered without limit (+165 MB RSS in 30 s, nothing reported); now the caller
// is held ("wait") or audio is dropped with Warnings ("dropOldest"), and memory stays bounded.
// Memory is taken after a forced GC while the session is still open (holding what it buffered). The
// heap bound is the one that tells: unbounded, the 4 s at 100x real time would hold ~25 MB of base64
// in the heap; RSS is reported and bounded generously (the allocator keeps freed native memory,
// differently on each Node version).
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { AudioFrame, RealtimeSession } from "@realtime-fx/core"
import { memoryAfterGc } from "./gc.js"
import { greet, layers, rawServer, stopReading } from "./support.js"

const frame100ms = AudioFrame.unsafeMake(new Int16Array(2400).fill(300), 24000, 1)
const RUN_MS = 4000

/** Pushes 100 ms frames at 100x real time (ten every 10 ms) for `RUN_MS`; counts what was accepted. */
const pushFor100x = (session: RealtimeSession.RealtimeSessionService) =>
  Effect.gen(function*() {
    const started = performance.now()
    let pushed = 0
    let longestWaitMs = 0
    while (performance.now() - started < RUN_MS) {
      for (let i = 0; i < 10; i++) {
        const t = performance.now()
        // A guard, so that a held caller cannot stall the test: a push it cuts short is not counted.
        const accepted = yield* session.pushAudio(frame100ms).pipe(Effect.timeout("1500 millis"), Effect.option)
        longestWaitMs = Math.max(longestWaitMs, performance.now() - t)
        if (accepted._tag === "Some") pushed++
      }
      yield* Effect.sleep("10 millis")
    }
    return { pushed, longestWaitMs, elapsedMs: performance.now() - started }
  })

const assertBounded = (
  before: { readonly rssMiB: number; readonly heapMiB: number },
  after: { readonly rssMiB: number; readonly heapMiB: number }
) => {
  assert.isBelow(after.heapMiB - before.heapMiB, 12, "heap growth (MiB) with the session open")
  assert.isBelow(after.rssMiB - before.rssMiB, 150, "RSS growth (MiB) with the session open")
}

describe("a peer that stops reading, pushAudio at 100x real time", () => {
  it.live("\"wait\": the caller is held, the connection is ended as lost by the write timeout, memory stays bounded", () =>
    Effect.gen(function*() {
      const server = yield* rawServer((ws) => {
        greet(ws)
        stopReading(ws)
      })
      const before = memoryAfterGc()
      const result = yield* Effect.gen(function*() {
        const session = yield* RealtimeSession.make()
        const events = yield* session.subscribeEvents
        const lost: Array<string> = []
        yield* events.pipe(
          Stream.runForEach((e) => Effect.sync(() => e._tag === "Disconnected" && lost.push(e.error?.message ?? ""))),
          Effect.forkScoped
        )
        const run = yield* pushFor100x(session)
        // Measured while the session still holds whatever it buffered.
        return { ...run, lost, after: memoryAfterGc() }
      }).pipe(Effect.provide(layers(server.url, { connOptions: { timeout: "2 seconds", maxRetry: 100 } })), Effect.scoped)
      const after = result.after
      console.log(
        `stopped reader, "wait": ${result.pushed / 10} s of audio accepted in ${Math.round(result.elapsedMs)} ms ` +
          `(100x would be ${Math.round(result.elapsedMs / 10)} s); longest wait ${Math.round(result.longestWaitMs)} ms; ` +
          `RSS ${before.rssMiB} -> ${after.rssMiB} MiB, heap ${before.heapMiB} -> ${after.heapMiB} MiB; ` +
          `handshakes ${server.handshakes()}; lost: ${result.lost.join(" | ")}`
      )
      // Held: far less than 100x real time was accepted, and some pushes waited.
      // (Each reconnect after a write timeout takes a socket buffer's worth more, so how much goes in
      // depends on the machine's load; unbounded, all of it goes in.)
      assert.isBelow(result.pushed / 10, result.elapsedMs / 10 / 2)
      assert.isAbove(result.longestWaitMs, 500)
      // The write timeout (2 s) ended the stuck connection as lost, and the session reconnected.
      assert.include(result.lost, "write timed out")
      assert.isAtLeast(server.handshakes(), 2)
      assertBounded(before, after)
    }).pipe(Effect.scoped), 30_000)

  it.live("\"dropOldest\": the caller is never held, Warnings say how much was dropped, memory stays bounded", () =>
    Effect.gen(function*() {
      const server = yield* rawServer((ws) => {
        greet(ws)
        stopReading(ws)
      })
      const before = memoryAfterGc()
      const result = yield* Effect.gen(function*() {
        const session = yield* RealtimeSession.make({ audioBackpressure: "dropOldest" })
        const events = yield* session.subscribeEvents
        const warnings: Array<string> = []
        yield* events.pipe(
          Stream.runForEach((e) => Effect.sync(() => e._tag === "Warning" && warnings.push(e.message))),
          Effect.forkScoped
        )
        const run = yield* pushFor100x(session)
        return { ...run, warnings, after: memoryAfterGc() }
      }).pipe(Effect.provide(layers(server.url, { connOptions: { timeout: "30 seconds" } })), Effect.scoped)
      const after = result.after
      const droppedMs = result.warnings.reduce((ms, w) => ms + Number(/dropped the oldest (\d+) ms/.exec(w)?.[1] ?? 0), 0)
      console.log(
        `stopped reader, "dropOldest": ${result.pushed / 10} s of audio pushed in ${Math.round(result.elapsedMs)} ms; ` +
          `longest push ${Math.round(result.longestWaitMs)} ms; ${result.warnings.length} Warnings, ${droppedMs / 1000} s dropped; ` +
          `RSS ${before.rssMiB} -> ${after.rssMiB} MiB, heap ${before.heapMiB} -> ${after.heapMiB} MiB`
      )
      // Never held: every push completed (none hit the 1.5 s guard) and ~100x real time went in.
      assert.isBelow(result.longestWaitMs, 1000)
      assert.isAbove(result.pushed / 10, result.elapsedMs / 10 / 4)
      // At most one Warning a second (plus the first), reporting whole seconds of dropped audio (what
      // is not dropped sits in the Outbox, up to 2 s in the session and in the kernel's socket
      // buffers, several MB on loopback; the last second's drops are reported after the test ends).
      assert.isAtLeast(result.warnings.length, 2)
      assert.isAtMost(result.warnings.length, Math.ceil(result.elapsedMs / 1000) + 1)
      assert.isAbove(droppedMs, 10_000)
      assertBounded(before, after)
    }).pipe(Effect.scoped), 30_000)
})
