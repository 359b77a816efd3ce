// Supervision over real sockets: a defect in a transition ends a session over ws with a typed error
// that reaches its waiters and streams, closes the socket and leaves no fiber; and a child process
// whose session ends by a fault (its Scope left open) exits on its own.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { RealtimeModel, RealtimeSession, Resampler, Xai } from "@realtime-fx/core"
import { FakeServer } from "@realtime-fx/test-kit"
import { NodeTransport } from "@realtime-fx/node"

const until = (what: string, check: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    while (!(yield* check)) yield* Effect.sleep("10 millis")
  }).pipe(Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error(`${what}: not within 5 s`) }))

/** An xAI model whose `sessionConfig` throws for the instructions "boom" (called inside the engine's `step`). */
const throwingModel = (url: string) =>
  Layer.effect(
    RealtimeModel.RealtimeModel,
    Effect.map(RealtimeModel.RealtimeModel, (model) => ({
      ...model,
      sessionConfig: (options: Parameters<typeof model.sessionConfig>[0]) => {
        if (options.instructions === "boom") throw new Error("sessionConfig boom")
        return model.sessionConfig(options)
      }
    }))
  ).pipe(Layer.provide(Xai.layer({ apiKey: Redacted.make("e2e-secret"), baseUrl: url, turnDetection: null })))

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
// vite-node (a dependency of vitest) runs the fixture from the TypeScript sources; its CLI sits at the package root.
const viteNode = join(dirname(createRequire(import.meta.url).resolve("vite-node")), "..", "vite-node.mjs")

/** Runs a fixture under vite-node (sources, no build); its stdout lines with the time each came, and when it exited. */
const runChild = (script: string, env: Record<string, string>) =>
  Effect.async<{ readonly lines: ReadonlyArray<{ readonly text: string; readonly atMs: number }>; readonly exitAtMs: number; readonly code: number | null; readonly stderr: string }>((resume) => {
    const child = spawn(process.execPath, [viteNode, "--config", fixture("vite.config.mjs"), fixture(script)], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const lines: Array<{ text: string; atMs: number }> = []
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      for (const text of chunk.split("\n")) if (text.trim() !== "") lines.push({ text, atMs: performance.now() })
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("exit", (code) => resume(Effect.succeed({ lines, exitAtMs: performance.now(), code, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("supervision over ws", () => {
  it.live("a throwing transition ends a session over ws: typed error to every waiter and stream, Closed, socket closed, no fiber left", () =>
    Effect.gen(function*() {
      const fake = yield* FakeServer.make({ pacing: "realtime", reply: { audioMs: 3000 } })
      const scope = yield* Scope.make()
      const supervisor = yield* Supervisor.track
      const inScope = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        effect.pipe(
          Scope.extend(scope),
          Effect.supervised(supervisor),
          Effect.provide(Layer.mergeAll(throwingModel(fake.url), NodeTransport.layer, Resampler.Resampler.layer))
        )
      const session = yield* inScope(RealtimeSession.make())
      const events: Array<RealtimeSession.SessionEvent> = []
      const eventsFiber = yield* inScope(Effect.forkScoped(Stream.runForEach(session.events, (e) => Effect.sync(() => events.push(e)))))
      const generations = yield* inScope(Effect.forkScoped(Stream.runDrain(session.generations)))
      const reply = yield* inScope(session.generateReply())
      const audio = yield* inScope(Effect.forkScoped(Stream.runDrain(reply.messages.pipe(Stream.flatMap((m) => m.audio)))))
      yield* until("audio playing", fake.received.pipe(Effect.map((r) => r.some((e) => e["type"] === "response.create"))))
      yield* Effect.sleep("200 millis")

      const started = performance.now()
      // The caller's error went through updateOptions' span (Effect wraps it in a proxy that carries
      // the span), so it is compared by content; everything else sees the very error that ended the session.
      const viaUpdate = yield* Effect.flip(inScope(session.updateOptions({ instructions: "boom" })))
      assert.strictEqual(viaUpdate._tag, "SessionClosedError")
      const failed = yield* Effect.flip(session.awaitClosed)
      assert.strictEqual(viaUpdate.message, failed.message)
      assert.strictEqual((viaUpdate as { defect?: string }).defect, (failed as { defect?: string }).defect)
      for (const [fiber, what] of [[audio, "audio"], [eventsFiber, "events"], [generations, "generations"]] as const) {
        const exit = yield* Fiber.await(fiber).pipe(Effect.timeout("2 seconds"))
        assert.isTrue(Exit.isFailure(exit), `${what} failed`)
        assert.deepStrictEqual(yield* Effect.flip(exit), failed, `${what} failed with the session's end`)
      }
      assert.deepStrictEqual(yield* Effect.flip(reply.done), failed)
      assert.strictEqual(yield* Effect.flip(session.awaitClosed), failed)
      assert.strictEqual(events.filter((e) => e._tag === "Closed").length, 1)
      yield* until("socket closed", fake.connections.pipe(Effect.map((n) => n === 0)))
      // A generous bound against a hang, not a speed target.
      assert.isBelow(performance.now() - started, 3000)
      yield* until("no fiber left", supervisor.value.pipe(Effect.map((fibers) => fibers.length === 0)))
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual((yield* fake.requests).length, 1, "no reconnect")
    }).pipe(Effect.scoped, Effect.timeout("20 seconds")), 30_000)

  // The child process leaves its session's Scope open: only the session's own shutdown can release
  // the socket and its timers. The bounds are generous safety nets against a hang (the pending reply
  // timer alone would hold a process for 5 s), not speed targets.
  /** One child process (see fixtures/session-ends.ts) against its own fake server. */
  const child = (mode: "fatal" | "defect") =>
    Effect.gen(function*() {
      const fake = yield* FakeServer.make({ pacing: "realtime", reply: { audioMs: 3000 } })
      if (mode === "fatal") {
        // The server keeps the socket open after its fatal error: the client must close it.
        yield* fake.setFaults({ errorEvent: { type: "insufficient_quota", code: "insufficient_quota", when: "midReply" } })
      }
      const result = yield* runChild("session-ends.ts", { RFX_URL: fake.url, RFX_MODE: mode }).pipe(
        Effect.timeoutFail({ duration: "45 seconds", onTimeout: () => new Error(`${mode}: the child process did not exit within 45 s`) })
      )
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.lines.length, 1, result.stderr)
      const line = JSON.parse(result.lines[0]!.text) as { closed: string; audio: string | undefined }
      assert.strictEqual(line.closed, mode === "fatal" ? "ServerError" : "SessionClosedError")
      if (mode === "fatal") assert.strictEqual(line.audio, "Failure", "the reply in flight failed")
      assert.isBelow(result.exitAtMs - result.lines[0]!.atMs, 3000, `${mode}: exited on its own soon after the session ended`)
      yield* until("socket closed", fake.connections.pipe(Effect.map((n) => n === 0)))
    }).pipe(Effect.scoped)

  // Each child leaves its session's Scope open: only the session's own shutdown can release the
  // socket and its timers. The bounds are generous safety nets against a hang (the pending reply
  // timer alone would hold a process for 5 s), not speed targets. Both run at once (vite-node's
  // start-up dominates).
  it.live("child processes whose session ends by a fault (fatal server error, throwing transition) exit on their own", () =>
    Effect.all([child("fatal"), child("defect")], { concurrency: "unbounded", discard: true }), 60_000)
})
