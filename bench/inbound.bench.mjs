// W1 inbound throughput and W4 per-event latency. The fake server (a child process) sends one 60 s
// reply (600 audio deltas of 100 ms + transcript deltas) as fast as it can; each client asks for it
// on a fresh connection and the clock runs from `response.create` until the consumer holds all the
// decoded PCM. Clients: bare ws + JSON.parse + Buffer base64 (baseline), LiveKit's xAI plugin 1.9,
// realtime-fx. W4 repeats the run with a hook timestamping each audio frame when its socket emits
// it, and records the delay until the consumer receives the decoded frame.
import * as arrival from "./lib/arrival.mjs"
import * as bare from "./lib/bare.mjs"
import * as fx from "./lib/fx.mjs"
import * as livekit from "./lib/livekit.mjs"
import { startServer } from "./lib/server.mjs"
import { fmt, median, percentile, table, withTimeout } from "./lib/stats.mjs"
import { loadLiveKit } from "./peers.mjs"

const REPLY_MS = 60_000
const EXPECTED_BYTES = (REPLY_MS / 1000) * 24000 * 2

const clients = async () => {
  const lk = await loadLiveKit()
  const list = [{ name: "bare ws+JSON.parse", run: bare.inbound }]
  if (lk.error) console.log(`(LiveKit peer skipped: ${lk.error})`)
  else list.push({ name: `livekit xai ${lk.version}`, run: livekit.inbound })
  list.push({ name: "realtime-fx", run: fx.inbound })
  return list
}

const once = async (client, url, opts) => {
  const c0 = process.cpuUsage()
  const r = await withTimeout(client.run(url, opts), 30_000, client.name)
  const c = process.cpuUsage(c0)
  if (r.bytes !== EXPECTED_BYTES) throw new Error(`${client.name}: got ${r.bytes} bytes of PCM, expected ${EXPECTED_BYTES}`)
  return { ms: r.ms, cpuMs: (c.user + c.system) / 1000 }
}

export async function run({ smoke }) {
  const server = await startServer({ pacing: "fast", reply: { audioMs: REPLY_MS } })
  try {
    const list = await clients()
    const warmup = smoke ? 1 : 3
    const rounds = smoke ? 3 : 7
    for (let w = 0; w < warmup; w++) for (const c of list) await once(c, server.url)
    // W1: rounds interleave the clients so drift hits all of them alike
    const res = new Map(list.map((c) => [c.name, { ms: [], cpuMs: [] }]))
    for (let r = 0; r < rounds; r++) {
      for (const c of list) {
        const x = await once(c, server.url)
        res.get(c.name).ms.push(x.ms)
        res.get(c.name).cpuMs.push(x.cpuMs)
      }
    }
    const base = res.get(list[0].name)
    const baseMs = median(base.ms)
    const baseCpu = median(base.cpuMs)
    console.log(`W1 inbound: one ${REPLY_MS / 1000} s reply, 600 x 100 ms deltas, fast pacing; median of ${rounds} (after ${warmup} warm-up)`)
    table(
      ["client", "wall ms", "x realtime", "throughput vs bare", "client CPU ms", "CPU vs bare"],
      list.map((c) => {
        const m = median(res.get(c.name).ms)
        const cpu = median(res.get(c.name).cpuMs)
        return [c.name, fmt(m), fmt(REPLY_MS / m, 0), `${fmt(baseMs / m, 2)}x`, fmt(cpu), `${fmt(cpu / baseCpu, 2)}x`]
      })
    )
    const fxMs = median(res.get("realtime-fx").ms)
    const lk = list.find((c) => c.name.startsWith("livekit"))
    const aims = [`realtime-fx throughput ${fmt(baseMs / fxMs, 2)}x bare (aim >= 0.8x)`]
    if (lk) aims.push(`${fmt(median(res.get(lk.name).ms) / fxMs, 2)}x LiveKit (aim >= 2x)`)
    console.log(`aims: ${aims.join("; ")}`)

    // W4: same load, per-event delay from socket arrival to the consumer
    arrival.install()
    const lat = new Map(list.map((c) => [c.name, { p50: [], p99: [], max: [] }]))
    const latRounds = smoke ? 2 : rounds
    for (let r = 0; r < latRounds; r++) {
      for (const c of list) {
        const delays = []
        arrival.reset()
        await once(c, server.url, { onAudio: () => delays.push(arrival.consumed()) })
        const l = lat.get(c.name)
        l.p50.push(percentile(delays, 50))
        l.p99.push(percentile(delays, 99))
        l.max.push(percentile(delays, 100))
      }
    }
    const b = lat.get(list[0].name)
    console.log(`\nW4 latency under W1 load: socket "message" event -> consumer holds the decoded frame (ms); median over ${latRounds} runs`)
    table(
      ["client", "p50 ms", "p99 ms", "max ms", "p50 vs bare", "p99 vs bare"],
      list.map((c) => {
        const l = lat.get(c.name)
        return [
          c.name,
          fmt(median(l.p50), 3),
          fmt(median(l.p99), 3),
          fmt(median(l.max), 3),
          `${fmt(median(l.p50) / median(b.p50), 1)}x`,
          `${fmt(median(l.p99) / median(b.p99), 1)}x`
        ]
      })
    )
  } finally {
    await server.close()
  }
}
