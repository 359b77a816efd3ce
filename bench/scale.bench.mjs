// W3 scale: N concurrent sessions each receiving real-time-paced audio (one 100 ms delta every
// 100 ms of a long reply) from a fake server in a child process (its CPU is not counted). Per N:
// open N sessions, ask each for a reply, let streaming settle, then measure over a window the CPU
// share (process.cpuUsage delta / wall time, 1.0 = one core) and RSS per session ((RSS after
// - RSS before opening, both after a forced GC) / N). Consumers count bytes and drop frames.
// Baseline: N bare ws clients in the same run. N = 10, 100, 500 (smoke: 10 with a short window).
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as bare from "./lib/bare.mjs"
import * as fx from "./lib/fx.mjs"
import { startServer } from "./lib/server.mjs"
import { fmt, table, withTimeout } from "./lib/stats.mjs"

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc")
const REPLY_MS = 30_000
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const settledRss = async () => {
  for (let i = 0; i < 3; i++) {
    gc()
    await sleep(50)
  }
  return process.memoryUsage().rss
}

const measure = async (windowMs, totalBytes) => {
  const b0 = totalBytes()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await sleep(windowMs)
  const c = process.cpuUsage(c0)
  const wall = performance.now() - t0
  const received = totalBytes() - b0
  return { cpuShare: (c.user + c.system) / 1000 / wall, audioSecPerSec: received / 48000 / (wall / 1000) }
}

/** N bare ws clients, each asking for a reply and counting its decoded PCM. */
const runBare = async (url, n, { settleMs, windowMs }) => {
  const rss0 = await settledRss()
  let bytes = 0
  const sockets = []
  for (let i = 0; i < n; i++) {
    const ws = await bare.connect(url)
    ws.on("message", (data) => {
      const e = JSON.parse(data.toString())
      if (e.type === "response.output_audio.delta") bytes += Buffer.from(e.delta, "base64").length
    })
    sockets.push(ws)
  }
  for (const ws of sockets) ws.send(JSON.stringify({ type: "response.create" }))
  await sleep(settleMs)
  const m = await measure(windowMs, () => bytes)
  const rss1 = await settledRss()
  for (const ws of sockets) ws.terminate()
  return { ...m, rssPerSessionKb: (rss1 - rss0) / n / 1024 }
}

/** N realtime-fx sessions (one shared layer), each draining its reply's audio stream. */
const runFx = async (url, n, { settleMs, windowMs }) => {
  let bytes = 0
  const scope = Effect.runSync(Scope.make())
  // the shared layer (provider, transport, resampler pool) is built before the RSS baseline
  const context = await Effect.runPromise(Layer.buildWithScope(fx.layer(url), scope))
  const rss0 = await settledRss()
  const sessions = await Effect.runPromise(
    Effect.forEach(Array.from({ length: n }), () => fx.openSession, { concurrency: 25 }).pipe(
      Effect.provide(context),
      Scope.extend(scope)
    )
  )
  const one = (session) => Effect.gen(function*() {
    const gen = yield* session.generateReply()
    yield* Effect.forkScoped(
      gen.messages.pipe(
        Stream.flatMap((m) => m.audio),
        Stream.runForEach((f) => Effect.sync(() => void (bytes += f.data.byteLength))),
        Effect.ignore
      )
    )
  })
  await Effect.runPromise(
    Effect.forEach(sessions, one, { concurrency: "unbounded", discard: true }).pipe(Scope.extend(scope))
  )
  await sleep(settleMs)
  const m = await measure(windowMs, () => bytes)
  const rss1 = await settledRss()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  return { ...m, rssPerSessionKb: (rss1 - rss0) / n / 1024 }
}

export async function run({ smoke }) {
  const ns = smoke ? [10] : [10, 100, 500]
  const timing = smoke ? { settleMs: 500, windowMs: 1000 } : { settleMs: 2000, windowMs: 5000 }
  const rows = []
  for (const n of ns) {
    // a fresh server per client kind and N; every reply starts after all sessions are open and
    // outlasts settling + window
    const server = await startServer({ pacing: "realtime", reply: { audioMs: REPLY_MS } })
    try {
      const b = await withTimeout(runBare(server.url, n, timing), 120_000, `bare x${n}`)
      await server.close()
      const server2 = await startServer({ pacing: "realtime", reply: { audioMs: REPLY_MS } })
      try {
        const f = await withTimeout(runFx(server2.url, n, timing), 120_000, `realtime-fx x${n}`)
        rows.push([`bare x${n}`, fmt(b.audioSecPerSec, 0), fmt(100 * b.cpuShare, 1), "1.00x", fmt(b.rssPerSessionKb, 0), "1.00x"])
        rows.push([
          `realtime-fx x${n}`,
          fmt(f.audioSecPerSec, 0),
          fmt(100 * f.cpuShare, 1),
          `${fmt(f.cpuShare / b.cpuShare, 2)}x`,
          fmt(f.rssPerSessionKb, 0),
          // the bare clients' growth is within RSS noise at small N: no ratio then
          b.rssPerSessionKb < 50 ? "n/a (bare ~0)" : `${fmt(f.rssPerSessionKb / b.rssPerSessionKb, 2)}x`
        ])
        if (n === 500) {
          console.log(
            `aim at 500: CPU ${fmt(100 * f.cpuShare, 1)}% of one core (< 50%: ${f.cpuShare < 0.5 ? "met" : "missed"}), ` +
              `${fmt(f.rssPerSessionKb / 1024, 2)} MB/session (< 1 MB: ${f.rssPerSessionKb < 1024 ? "met" : "missed"})`
          )
        }
      } finally {
        await server2.close()
      }
    } finally {
      await server.close()
    }
  }
  console.log(`W3 scale: real-time-paced replies; window ${timing.windowMs} ms after ${timing.settleMs} ms settling`)
  table(["clients", "audio s/s", "CPU % of a core", "CPU vs bare", "RSS KB/session", "RSS vs bare"], rows)
}
