// One measured run in a fresh process (forked by bench/run.mjs with --expose-gc): one client, one
// workload; the result goes back over IPC. Job (argv[2], JSON):
//   { client: "floor"|"bare"|"livekit"|"fx", workload: "w1"|"w2"|"w3"|"micro", url, ... }
// w1: open a session (not timed), then reply 1 (cold: the first in this process), `warmup` more,
//     then `measured` replies (warm: medians). Wall ms from the request until the consumer holds
//     every decoded PCM chunk, and this process's CPU ms over the same span.
// w2: `seconds` of 48 kHz stereo (built before the clock), pushed as fast as the client can, then a
//     commit; the clock stops at `input_audio_buffer.committed`. Run 1 is cold, the median of the
//     following `runs - 1` is warm.
// w3: `n` sessions, each streaming one real-time-paced reply (starts spread over 100 ms); after
//     `settleMs`, a `windowMs` window:
//     CPU share, event-loop delay (monitorEventLoopDelay), audio consumed at both ends of the window
//     (the orchestrator turns them into backlog with the server's schedule), RSS per session.
// micro: runs bench/micro/<name>.mjs.
import { monitorEventLoopDelay } from "node:perf_hooks"
import { makeFrames } from "./lib/frames.mjs"
import { median } from "./lib/stats.mjs"

const job = JSON.parse(process.argv[2])
const wall = () => performance.timeOrigin + performance.now()
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const cpuMs = (c) => (c.user + c.system) / 1000

const finish = (result) => process.send(result, () => process.exit(0))

const settledRss = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc()
    await sleep(30)
  }
  return process.memoryUsage().rss
}

/** Runs `fn` over `items` with at most `limit` at a time; results in order. */
const pool = async (items, limit, fn) => {
  const out = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i], i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

const timed = async (fn) => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const value = await fn()
  const ms = performance.now() - t0
  return { ms, cpuMs: cpuMs(process.cpuUsage(c0)), value }
}

const w1 = async (client) => {
  await client.prepare?.(job.url, job)
  const session = await client.open(job.url, job)
  const openedAtMs = performance.now()
  const one = async () => {
    const r = await timed(() => session.reply())
    if (r.value !== job.expectedBytes) throw new Error(`got ${r.value} bytes of PCM, expected ${job.expectedBytes}`)
    return r
  }
  const cold = await one()
  for (let i = 0; i < job.warmup; i++) await one()
  const warm = []
  for (let i = 0; i < job.measured; i++) warm.push(await one())
  return {
    openedAtMs,
    cold: { ms: cold.ms, cpuMs: cold.cpuMs },
    warm: { ms: median(warm.map((r) => r.ms)), cpuMs: median(warm.map((r) => r.cpuMs)) },
    replies: 1 + job.warmup + job.measured,
    rssMb: process.memoryUsage().rss / 1048576
  }
}

const w2 = async (client) => {
  await client.prepare?.(job.url, job)
  const frames = makeFrames(job.seconds)
  const session = await client.open(job.url, job)
  const input = session.prepareOutbound(frames)
  const runs = []
  for (let i = 0; i < job.runs; i++) runs.push(await timed(() => session.outbound(input)))
  const warm = runs.slice(1)
  return {
    cold: { ms: runs[0].ms, cpuMs: runs[0].cpuMs },
    warm: { ms: median(warm.map((r) => r.ms)), cpuMs: median(warm.map((r) => r.cpuMs)) },
    rssMb: process.memoryUsage().rss / 1048576
  }
}

const w3 = async (client) => {
  await client.prepare?.(job.url, job)
  const rss0 = await settledRss()
  const sessions = await pool(Array.from({ length: job.n }), 25, () => client.open(job.url, job))
  let consumed = 0
  const onBytes = (n) => void (consumed += n)
  // replies start spread over one 100 ms period (random phases, as independent callers would have),
  // not all in the same server tick
  await Promise.all(sessions.map((s, i) => sleep((i * 100) / job.n).then(() => s.stream(onBytes))))
  await sleep(job.settleMs)
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const start = { at: wall(), bytes: consumed }
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await sleep(job.windowMs)
  const cpu = cpuMs(process.cpuUsage(c0))
  const windowMs = performance.now() - t0
  const end = { at: wall(), bytes: consumed }
  loop.disable()
  const rss1 = await settledRss()
  return {
    cpuPct: (100 * cpu) / windowMs,
    loopSamples: loop.count,
    loopP99Ms: loop.count > 0 ? loop.percentile(99) / 1e6 : null,
    loopMaxMs: loop.count > 0 ? loop.max / 1e6 : null,
    windowMs,
    audioSecPerSec: (end.bytes - start.bytes) / 48000 / (windowMs / 1000),
    start,
    end,
    rssPerSessionKb: (rss1 - rss0) / job.n / 1024
  }
}

const main = async () => {
  if (job.workload === "micro") {
    const mod = await import(`./micro/${job.name}.mjs`)
    await mod.run({ smoke: job.smoke })
    return { ok: true }
  }
  const client = await import(`./clients/${job.client}.mjs`)
  const run = { w1, w2, w3 }[job.workload]
  const result = await run(client)
  await client.dispose?.()
  return result
}

main().then(finish, (error) => finish({ error: error instanceof Error ? error.message : String(error) }))
