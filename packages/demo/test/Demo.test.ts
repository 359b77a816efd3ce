import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import type * as Generation from "@realtime-fx/core/Generation"
import * as FakeServer from "@realtime-fx/test-kit/FakeServer"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Demo from "../src/Demo.js"
import * as DemoAudio from "../src/internal/demoAudio.js"
import * as Format from "../src/internal/demoFormat.js"
import * as DemoOutput from "../src/internal/demoOutput.js"
import * as Turn from "../src/internal/demoTurn.js"
import * as Wav from "@realtime-fx/node/Wav"
import { capture, escape, hasLine, metrics, noEnv, tempDir, withKey } from "./helpers.js"

describe("Demo CLI", () => {
  it.scopedLive("a fast run against the embedded fake server talks, calls the tool and writes a 24 kHz mono reply", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = Path.join(dir, "nested", "reply.wav")
      const { output, lines, errors } = capture()
      const exit = yield* Demo.main(["node", "demo", "--fast", "--out", out, "--timeout", "30"], output).pipe(
        Effect.provide(NodeContext.layer),
        noEnv,
        Effect.exit
      )
      assert.isTrue(Exit.isSuccess(exit), `demo failed: ${errors.join("\n")}\n${lines.join("\n")}`)
      assert.deepStrictEqual(errors, [])
      assert.isTrue(hasLine(lines, /embedded fake xAI server at ws:\/\/127\.0\.0\.1:\d+/))
      assert.isTrue(hasLine(lines, /connecting\s+ws:\/\/127\.0\.0\.1:\d+/), "a connecting line names the endpoint")
      assert.isTrue(hasLine(lines, /connected\s+connection #1/))
      assert.isTrue(hasLine(lines, /speech started/))
      assert.isTrue(hasLine(lines, /speech stopped/))
      assert.isTrue(hasLine(lines, /you said\s+"Hello! What is the weather like in Paris today\?"/))
      assert.isTrue(hasLine(lines, /tool call\s+get_weather\(\{"city":"Paris"\}\)/))
      assert.isTrue(hasLine(lines, /tool output\s+get_weather -> .*sunny/))
      assert.isTrue(hasLine(lines, /assistant\s+".*get_weather.*"/))
      assert.isTrue(hasLine(lines, /reply audio\s+[1-9]\d* ms received/))
      assert.isTrue(hasLine(lines, /response done\s+\S+: ttft .* tokens in \d+ \/ out [1-9]\d*/))
      const header = lines.findIndex((line) => /response\s+ttft ms\s+duration ms\s+tokens in\s+tokens out\s+tokens\/s/.test(line))
      assert.isTrue(header > 0, "metrics table header")
      assert.isTrue(hasLine(lines, new RegExp(`written to ${escape(out)}$`)))
      // Progress lines come in order: speech, then the tool call, then the reply.
      const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line))
      assert.isTrue(at(/connecting\s/) < at(/connected\s/))
      assert.isTrue(at(/speech started/) < at(/speech stopped/))
      assert.isTrue(at(/speech stopped/) < at(/tool call/))
      assert.isTrue(at(/tool call/) < at(/assistant\s/))

      const bytes = Fs.readFileSync(out)
      assert.strictEqual(bytes.subarray(0, 4).toString("latin1"), "RIFF")
      assert.strictEqual(bytes.subarray(8, 12).toString("latin1"), "WAVE")
      const reply = yield* Wav.read(out)
      assert.strictEqual(reply.sampleRate, 24000)
      assert.strictEqual(reply.channels, 1)
      assert.isTrue(reply.data.length > 24000 / 10, "at least 100 ms of reply audio")
      assert.isTrue(reply.data.some((sample) => sample !== 0), "the reply is not silence")
    }))

  it.scopedLive("run reports the transcript, the tool call and one metrics row per response", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { output } = capture()
      const report = yield* Demo.run({ pacing: "fast", out: Path.join(dir, "r.wav"), timeout: "30 seconds" }, output)
      assert.strictEqual(report.inputTranscript, Demo.fakeTranscript)
      assert.deepStrictEqual(report.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)]), [["get_weather", { city: "Paris" }]])
      assert.include(report.toolCalls[0]!.output, "sunny")
      assert.include(report.replyTranscript, "get_weather")
      assert.isTrue(report.replyAudioMs > 0)
      assert.strictEqual(report.metrics.length, 2) // the function call, then the reply to its output
      assert.isTrue(report.metrics[1]!.outputTokens > 0)
      assert.isTrue(report.metrics[1]!.ttftMs >= 0)
      const reply = yield* Wav.read(report.out)
      assert.strictEqual(Math.round((reply.data.length * 1000) / 24000), Math.round(report.replyAudioMs))
    }))

  it.scopedLive("a missing input file fails with one clear line and no stack trace", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const missing = Path.join(dir, "does-not-exist.wav")
      const { output, lines, errors } = capture()
      const exit = yield* Demo.main(["node", "demo", "--fast", "--input", missing, "--out", Path.join(dir, "o.wav")], output)
        .pipe(Effect.provide(NodeContext.layer), noEnv, Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(errors, [`error: cannot read the input WAV: no such file: ${missing}`])
      assert.isFalse([...lines, ...errors].some((line) => /\n|\bat .*:\d+:\d+/.test(line)), "no stack trace")
      assert.isFalse(Fs.existsSync(Path.join(dir, "o.wav")))
    }))

  it.scopedLive("a file that is not a WAV fails with a clear message", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bad = Path.join(dir, "bad.wav")
      Fs.writeFileSync(bad, "this is not audio")
      const { output } = capture()
      const error = yield* Effect.flip(Demo.run({ input: bad, pacing: "fast" }, output))
      assert.strictEqual(error._tag, "DemoError")
      assert.match(error.message, /^cannot read the input WAV: .*bad\.wav is not a WAV file/)
    }))

  it.scopedLive("a silent input fails soon with a no-speech message instead of waiting for the timeout", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const silent = Path.join(dir, "silent.wav")
      yield* Wav.write(silent, { data: new Int16Array(16000), sampleRate: 16000, channels: 1 })
      const { output, lines } = capture()
      const error = yield* Effect.flip(
        Demo.run({ input: silent, pacing: "fast", out: Path.join(dir, "o.wav"), noSpeechTimeout: "300 millis" }, output)
      )
      assert.strictEqual(error.message, "no speech was detected in the input audio (is it silent?)")
      assert.isFalse(hasLine(lines, /speech started/))
    }))

  it.scopedLive("the --timeout bound ends a run that cannot finish in time, saying what it waited for", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { output } = capture()
      const error = yield* Effect.flip(
        Demo.run({ pacing: "realtime", out: Path.join(dir, "o.wav"), timeout: "1 second" }, output)
      )
      // 1 s into a real-time run of a 3.9 s recording: connected (loopback), still sending.
      assert.strictEqual(error.message, "timed out after 1s: the input audio was still being sent")
      assert.isFalse(Fs.existsSync(Path.join(dir, "o.wav")))
    }))

  it.scopedLive("a rejected API key (live mode, loopback server) fails with an authentication message", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* FakeServer.make({ pacing: "fast", requireAuth: "the-right-key" })
      const { output, lines, errors } = capture()
      const exit = yield* Demo.main(
        ["node", "demo", "--live", "--fast", "--base-url", server.url, "--out", Path.join(dir, "o.wav"), "--timeout", "15"],
        output
      ).pipe(Effect.provide(NodeContext.layer), withKey("a-wrong-key"), Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(errors.length, 1)
      assert.match(errors[0]!, /^error: authentication failed: /)
      assert.notInclude([...lines, ...errors].join("\n"), "a-wrong-key", "the key never prints")
      assert.isTrue(hasLine(lines, new RegExp(`xAI realtime API at ${escape(server.url)}`)))
    }))

  it.live("--live needs a key; --live and --fake exclude each other; --base-url needs --live", () =>
    Effect.gen(function*() {
      const runWith = (args: ReadonlyArray<string>) => {
        const { output, errors } = capture()
        return Demo.main(["node", "demo", ...args], output).pipe(
          Effect.provide(NodeContext.layer),
          noEnv,
          Effect.exit,
          Effect.map((exit) => ({ exit, errors }))
        )
      }
      const live = yield* runWith(["--live", "--fast"])
      assert.isTrue(Exit.isFailure(live.exit))
      assert.match(live.errors[0]!, /^error: xAI API key missing: set the XAI_API_KEY/)
      const both = yield* runWith(["--live", "--fake"])
      assert.deepStrictEqual(both.errors, ["error: --live and --fake cannot be used together"])
      const url = yield* runWith(["--base-url", "ws://127.0.0.1:1"])
      assert.match(url.errors[0]!, /^error: --base-url applies to live runs/)
    }))

  it.effect("chooseServer: --fake wins, --live or a key selects the real API", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Demo.chooseServer({ live: false, fake: false, hasKey: false }), "fake")
      assert.strictEqual(yield* Demo.chooseServer({ live: false, fake: false, hasKey: true }), "live")
      assert.strictEqual(yield* Demo.chooseServer({ live: true, fake: false, hasKey: false }), "live")
      assert.strictEqual(yield* Demo.chooseServer({ live: false, fake: true, hasKey: true }), "fake")
      assert.isTrue(Exit.isFailure(yield* Effect.exit(Demo.chooseServer({ live: true, fake: true, hasKey: true }))))
    }))
})

describe("demo internals", () => {
  it("frames cuts 10 ms views and appends silence", () => {
    const audio = { data: Int16Array.from({ length: 16000 * 2 * 0.025 }, (_, i) => i + 1), sampleRate: 16000, channels: 2 }
    const frames = DemoAudio.frames(audio, 10, 30)
    assert.deepStrictEqual(frames.map((f) => f.data.length), [320, 320, 160, 320, 320, 320])
    assert.strictEqual(frames[0]!.data.buffer, audio.data.buffer, "views, not copies")
    assert.deepStrictEqual(Array.from(frames[2]!.data), Array.from(audio.data.subarray(640)))
    assert.isTrue(frames.slice(3).every((f) => f.data.every((s) => s === 0) && f.sampleRate === 16000 && f.channels === 2))
  })

  it("the turn is done only after audio, speech end, tool reply and every generation", () => {
    let s = Turn.initial
    const step = (f: (s: Turn.TurnState) => Turn.TurnState) => {
      s = f(s)
      return Turn.isDone(s)
    }
    assert.strictEqual(Turn.waitingFor(s), "no connection to the server yet (it has not answered)")
    assert.isFalse(step((x) => Turn.onEvent(x, { _tag: "Connected", connection: 1 })))
    assert.isFalse(step((x) => Turn.onEvent(x, { _tag: "SpeechStarted", itemId: "i", audioStartMs: 0 })))
    assert.isFalse(
      step((x) => Turn.onEvent(x, { _tag: "SpeechStopped", itemId: "i", audioEndMs: 900, userTranscriptionEnabled: true }))
    )
    assert.strictEqual(Turn.waitingFor({ ...s, audioSent: true }), "no response was created after the speech stopped")
    // The generation may finish before its creation event is seen: order does not matter.
    assert.isFalse(step((x) => Turn.onFinished(x, "r1", false)))
    assert.isFalse(step((x) => Turn.onEvent(x, { _tag: "GenerationCreated", responseId: "r1", userInitiated: false })))
    const call: Generation.FunctionCall = { itemId: "f", callId: "c", name: "get_weather", arguments: "{}" }
    assert.isFalse(step((x) => Turn.onEvent(x, { _tag: "FunctionCallExecuted", call, output: "{}" })))
    assert.isFalse(step((x) => Turn.onEvent(x, { _tag: "GenerationCreated", responseId: "r2", userInitiated: false })))
    assert.isFalse(step((x) => Turn.onFinished(x, "r2", true)))
    assert.strictEqual(Turn.waitingFor(s), "the input audio was still being sent")
    assert.isTrue(step(Turn.onAudioSent))
  })

  it("the turn is not done while nobody has spoken or no reply came", () => {
    const connected = Turn.onEvent(Turn.initial, { _tag: "Connected", connection: 1 })
    assert.isFalse(Turn.isDone(Turn.onAudioSent(connected)))
    assert.strictEqual(Turn.waitingFor(Turn.onAudioSent(connected)), "no speech was detected in the input audio")
  })

  it("a missing connection is what the demo waits for first, whatever else is missing", () => {
    const sent = Turn.onAudioSent(Turn.initial)
    assert.strictEqual(Turn.waitingFor(sent), "no connection to the server yet (it has not answered)")
    const dropped = Turn.onEvent(Turn.onEvent(sent, { _tag: "Connected", connection: 1 }), { _tag: "Disconnected", error: undefined })
    assert.isFalse(dropped.connected)
    assert.strictEqual(Turn.waitingFor(dropped), "the connection to the server was lost and not re-established")
    const back = Turn.onEvent(dropped, { _tag: "Reconnected", connection: 2 })
    assert.strictEqual(Turn.waitingFor(back), "no speech was detected in the input audio")
  })

  it("metricsTable aligns columns and adds a total row", () => {
    const table = Format.metricsTable([metrics("resp_1", -1, 500, 5), metrics("resp_2", 120, 1500, 45)])
    assert.strictEqual(table.length, 6)
    // resp_1 is too short to measure (500 ms, 5 tokens): no rate, and a note says why.
    assert.deepStrictEqual(table[2]!.split(/\s+/), ["resp_1", "-", "500", "10", "5", "-"])
    assert.deepStrictEqual(table[3]!.split(/\s+/), ["resp_2", "120", "1500", "10", "45", "30.0"])
    assert.deepStrictEqual(table[4]!.split(/\s+/), ["total", "2000", "20", "50", "25.0"])
    assert.strictEqual(table[5], Format.rateNote)
    assert.strictEqual(table[2]!.length, table[0]!.length, "rows as wide as the header")
    assert.strictEqual(Format.metricsTable([metrics("resp_2", 120, 1500, 45)]).length, 3, "no note when every rate is shown")
  })

  it("terminal output redraws the live line only on a TTY", () => {
    const tty: Array<string> = []
    const out = DemoOutput.terminal({ write: (t) => tty.push(t), isTTY: true, columns: 30 }, { write: (t) => tty.push(t) })
    Effect.runSync(out.live("assistant: a very long transcript that does not fit"))
    Effect.runSync(out.line("done"))
    assert.isTrue(tty[0]!.startsWith("\r\x1b[2Kassistant: …"), "cleared, then the label and the tail of the text")
    assert.isTrue(tty[0]!.endsWith("does not fit"))
    assert.strictEqual(tty[0]!.length - "\r\x1b[2K".length, 29, "fits the terminal width")
    assert.deepStrictEqual(tty.slice(1), ["\r\x1b[2K", "done\n"])
    assert.strictEqual(DemoOutput.fit("short: text", 30), "short: text")
    assert.strictEqual(DemoOutput.fit("x".repeat(40), 10), `…${"x".repeat(9)}`)
    const piped: Array<string> = []
    const plain = DemoOutput.terminal({ write: (t) => piped.push(t) }, { write: (t) => piped.push(t) })
    Effect.runSync(plain.live("partial"))
    Effect.runSync(plain.line("done"))
    assert.deepStrictEqual(piped, ["done\n"])
  })
})
