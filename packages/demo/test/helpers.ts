// Test helpers for the demo: a temporary directory, an Output and a Console that record what the
// demo prints, and config providers with or without an xAI key.
import * as Console from "effect/Console"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type * as Generation from "@realtime-fx/core/Generation"
import type * as Demo from "../src/Demo.js"

export const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "realtime-fx-demo-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** An Output that records what the demo prints. */
export const capture = () => {
  const lines: Array<string> = []
  const errors: Array<string> = []
  const live: Array<string> = []
  const output: Demo.Output = {
    line: (text) => Effect.sync(() => void lines.push(text)),
    live: (text) => Effect.sync(() => void live.push(text)),
    error: (text) => Effect.sync(() => void errors.push(text))
  }
  return { output, lines, errors, live }
}

/** Runs `effect` with a Console whose `log` records (what @effect/cli prints: help, version). */
export const captureConsole = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const logged: Array<string> = []
    const base = yield* Effect.console
    const console: Console.Console = {
      ...base,
      log: (...args) => Effect.sync(() => void logged.push(args.map(String).join(" ")))
    }
    const result = yield* Effect.exit(Effect.withConsole(effect, console))
    // eslint-disable-next-line no-control-regex
    return { result, logged: logged.join("\n").replace(/\x1b\[[0-9;]*m/g, "") }
  })

/** No XAI_API_KEY whatever the machine's environment: the CLI must pick the embedded fake server. */
export const noEnv = Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
export const withKey = (key: string) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["XAI_API_KEY", key]])))

/** The metrics of one xAI generation with 10 input text tokens and `outputTokens` audio tokens. */
export const metrics = (requestId: string, ttftMs: number, durationMs: number, outputTokens: number): Generation.GenerationMetrics => ({
  requestId,
  timestamp: 0,
  ttftMs,
  durationMs,
  cancelled: false,
  inputTokens: 10,
  outputTokens,
  totalTokens: 10 + outputTokens,
  tokensPerSecond: durationMs > 0 ? outputTokens / (durationMs / 1000) : 0,
  inputTokenDetails: {
    audioTokens: 0,
    textTokens: 10,
    imageTokens: 0,
    cachedTokens: 0,
    cachedTokensDetails: { audioTokens: 0, textTokens: 0, imageTokens: 0 }
  },
  outputTokenDetails: { textTokens: 0, audioTokens: outputTokens, imageTokens: 0 },
  model: "m",
  provider: "xai"
})

export const hasLine = (lines: ReadonlyArray<string>, pattern: RegExp) => lines.some((line) => pattern.test(line))

export const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
