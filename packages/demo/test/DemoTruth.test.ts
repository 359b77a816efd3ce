// The demo tells the truth: a "connecting" state, an unresponsive host reported as a connection
// problem, --out checked before anything is sent, --timeout bounding the whole run (the write
// included), a real description for every option in --help, no tokens/s for responses too short
// to measure.
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as FakeServer from "@realtime-fx/test-kit/FakeServer"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import * as Demo from "../src/Demo.js"
import * as Format from "../src/internal/demoFormat.js"
import * as Helpers from "./helpers.js"
import { capture, captureConsole, escape, hasLine, noEnv, tempDir, withKey } from "./helpers.js"

/** A TCP server on 127.0.0.1 that accepts connections and never answers (no WebSocket handshake). */
const silentHost = Effect.acquireRelease(
  Effect.async<{ readonly server: Net.Server; readonly sockets: Set<Net.Socket>; readonly port: number }>((resume) => {
    const sockets = new Set<Net.Socket>()
    const server = Net.createServer((socket) => {
      sockets.add(socket)
      socket.on("error", () => {})
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets, port: (server.address() as Net.AddressInfo).port })))
  }),
  ({ server, sockets }) =>
    Effect.async<void>((resume) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resume(Effect.void))
    })
)

describe("the demo tells the truth", () => {
  it.scopedLive("an unresponsive host is a connection problem, never 'no speech was detected'", () =>
    Effect.gen(function*() {
      const host = yield* silentHost
      const dir = yield* tempDir
      const { output, lines } = capture()
      const error = yield* Effect.flip(
        Demo.run(
          {
            server: "live",
            baseUrl: `ws://127.0.0.1:${host.port}`,
            pacing: "fast",
            out: Path.join(dir, "o.wav"),
            // The no-speech check would fire long before the run's bound if it ignored the connection.
            noSpeechTimeout: "100 millis",
            timeout: "2 seconds"
          },
          output
        ).pipe(withKey("a-key"))
      )
      assert.strictEqual(error.message, "timed out after 2s: no connection to the server yet (it has not answered)")
      assert.notMatch(error.message, /speech/)
      assert.isTrue(hasLine(lines, new RegExp(`connecting\\s+ws://127\\.0\\.0\\.1:${host.port}$`)), lines.join("\n"))
      assert.isFalse(hasLine(lines, /connected\s/))
      assert.isAbove(host.sockets.size, 0, "the demo did reach the host")
    }))

  it.scopedLive("--out is checked before anything is sent: its parent is a file, or it is a directory", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* FakeServer.make({ pacing: "fast" })
      const file = Path.join(dir, "a-file")
      Fs.writeFileSync(file, "")
      const cases = [
        { out: Path.join(file, "reply.wav"), reason: "a parent of it is not a directory" },
        { out: dir, reason: "it is a directory" }
      ]
      for (const { out, reason } of cases) {
        const { output, lines, errors } = capture()
        const exit = yield* Demo.main(
          ["node", "demo", "--live", "--fast", "--base-url", server.url, "--out", out, "--timeout", "15"],
          output
        ).pipe(Effect.provide(NodeContext.layer), withKey("a-key"), Effect.exit)
        assert.isTrue(Exit.isFailure(exit))
        assert.deepStrictEqual(errors, [`error: cannot write the reply to ${out}: ${reason}`])
        assert.deepStrictEqual(lines, [], "nothing printed: no input read, no server, no connection")
      }
      assert.strictEqual(yield* server.connections, 0, "the server never saw a connection")
      assert.deepStrictEqual(yield* server.received, [])
    }))

  it.scopedLive("--timeout bounds the write too: a reply file nobody reads from times out while writing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // A named pipe with no reader: opening it for writing blocks until a reader comes.
      const fifo = Path.join(dir, "reply.wav")
      execFileSync("mkfifo", [fifo])
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          // Release the blocked writer: open and close a reader (the writer then fails with EPIPE).
          Fs.closeSync(Fs.openSync(fifo, Fs.constants.O_RDONLY | Fs.constants.O_NONBLOCK))
        })
      )
      const { output, lines } = capture()
      // A fast run against the fake server takes about 2 s; 10 s leaves room on a loaded machine.
      const error = yield* Effect.flip(Demo.run({ pacing: "fast", out: fifo, timeout: "10 seconds" }, output).pipe(noEnv))
      assert.strictEqual(error.message, `timed out after 10s: the reply was still being written to ${fifo}`)
      assert.isTrue(hasLine(lines, /response done/), "the conversation itself finished")
      assert.isFalse(hasLine(lines, /written to/))
    }), 30_000)

  it.live("--help gives every option a description of its own, and --version the package's version", () =>
    Effect.gen(function*() {
      const run = (args: ReadonlyArray<string>) =>
        captureConsole(Demo.main(["node", "demo", ...args], capture().output).pipe(Effect.provide(NodeContext.layer), noEnv))
      const help = yield* run(["--help"])
      assert.isTrue(Exit.isSuccess(help.result))
      const names = ["input", "out", "voice", "instructions", "model", "base-url", "fast", "realtime", "live", "fake", "timeout"]
      const boilerplate = /^(A user-defined piece of text\.|A true or false value\.|An integer\.|This setting is optional\.)$/
      const descriptions = names.map((name) => {
        const start = help.logged.search(new RegExp(`^--${escape(name)}( [A-Z]+)?$`, "m"))
        assert.isAtLeast(start, 0, `--${name} is in the help`)
        const section = help.logged.slice(start).split(/\n(?=--|\(-h)/)[0]!
        const own = section.split("\n").slice(1).map((line) => line.trim()).filter((line) => line !== "" && !boilerplate.test(line))
        assert.strictEqual(own.length, 1, `--${name} has one description: ${section}`)
        assert.isAtLeast(own[0]!.split(" ").length, 8, `--${name}'s description says something: ${own[0]}`)
        return own[0]!
      })
      assert.strictEqual(new Set(descriptions).size, names.length, "no two options share a description")
      for (const name of ["out", "timeout", "model", "base-url"]) {
        assert.match(descriptions[names.indexOf(name)]!, /Default: /, `--${name} states its default`)
      }
      const version = yield* run(["--version"])
      const pkg = JSON.parse(Fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
      assert.strictEqual(version.logged.trim(), pkg.version)
    }))

  it.scopedLive("a fast run prints no tokens/s: its responses are too short to measure, and a note says so", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { output, lines } = capture()
      const report = yield* Demo.run({ pacing: "fast", out: Path.join(dir, "r.wav"), timeout: "30 seconds" }, output).pipe(noEnv)
      assert.isTrue(report.metrics.length > 0)
      assert.isTrue(
        report.metrics.every((m) => Format.tokensPerSecond(m.durationMs, m.outputTokens) === undefined),
        "the fake server's fast responses are short"
      )
      const rates = lines.filter((line) => /tokens\/s/.test(line))
      assert.isTrue(rates.every((line) => /ttft ms/.test(line) || line.trim() === Format.rateNote), `only the header and the note: ${rates.join("\n")}`)
      assert.isTrue(hasLine(lines, new RegExp(`^  ${escape(Format.rateNote)}$`)))
      assert.isFalse(hasLine(lines, /response done.*tokens\/s/))
    }))

  it("tokens/s needs 1 s and 10 output tokens", () => {
    const metrics = (durationMs: number, outputTokens: number) => Helpers.metrics("resp", 100, durationMs, outputTokens)
    assert.strictEqual(Format.tokensPerSecond(999, 100), undefined)
    assert.strictEqual(Format.tokensPerSecond(5000, 9), undefined)
    assert.strictEqual(Format.tokensPerSecond(1000, 10), 10)
    assert.notInclude(Format.metricsLine(metrics(32, 175)), "tokens/s")
    assert.include(Format.metricsLine(metrics(2000, 50)), ", 25.0 tokens/s")
    assert.include(Format.rateNote, "at least 1 s and 10 output tokens")
  })
})
