// The bench orchestrator. Every measured run is a fresh client process (bench/child.mjs); the server
// is another process (bench/server.mjs) with every frame pre-encoded; clients are interleaved
// round by round so drift in the machine's load hits them alike. Figures are medians over rounds
// and ratios to the bare client of the same run.
// Usage: npm run bench [-- --smoke] [-- w1 w2 w3 micro] [-- --reps=N] [-- --n=100,500,1000] [-- --tuned-n=500,1000] [-- --prof=DIR]
import { execFileSync } from "node:child_process"
import { cpus, loadavg } from "node:os"
import { existsSync } from "node:fs"
import { messagesPerReply, pcmBytes } from "./lib/frames.mjs"
import { runChild, startServer } from "./lib/proc.mjs"
import { fmt, median, table } from "./lib/stats.mjs"
import { peersDir } from "./peers.mjs"

const args = process.argv.slice(2)
const smoke = args.includes("--smoke")
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1]
const only = args.filter((a) => !a.startsWith("--"))
const wanted = (w) => only.length === 0 || only.includes(w)
const reps = Number(option("reps") ?? (smoke ? 1 : 5))
/** --prof=DIR: every client process writes a V8 CPU profile there (node --cpu-prof). */
const profile = option("prof")

const uptime = () => {
  try {
    return execFileSync("uptime", { encoding: "utf8" }).trim()
  } catch {
    return `load average ${loadavg().map((x) => x.toFixed(2)).join(", ")}`
  }
}

/** The clients, in table order; LiveKit only when bench/peers.mjs can provide it. */
const clientList = async () => {
  const list = [
    { id: "floor", name: "floor (ws only)" },
    { id: "bare", name: "bare (ws+JSON.parse+base64)" }
  ]
  const { loadLiveKit } = await import("./peers.mjs")
  const lk = await loadLiveKit()
  if (lk.error) console.log(`(LiveKit peer skipped: ${lk.error})`)
  else list.push({ id: "livekit", name: `LiveKit xai ${lk.version}` })
  list.push({ id: "fx", name: "realtime-fx" })
  return list
}

/** Runs `rounds` rounds over `clients` (order rotated each round); `job(c)` builds a child job; `after(c, result)` may add server figures. */
const rounds = async (clients, n, job, timeoutMs, after = async () => {}) => {
  const results = new Map(clients.map((c) => [c.name, []]))
  for (let r = 0; r < n; r++) {
    const order = clients.map((_, i) => clients[(i + r) % clients.length])
    for (const c of order) {
      const flags = [...(c.execArgv ?? []), ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [])]
      const res = await runChild(job(c), timeoutMs, flags)
      if (res.error) console.log(`  ${c.name}: ${res.error}`)
      else {
        await after(c, res)
        results.get(c.name).push(res)
      }
    }
  }
  return results
}

const med = (xs, f) => (xs.length === 0 ? NaN : median(xs.map(f)))
const ratio = (a, b) => `${fmt(a / b, 2)}x`
/** The medians of a client's cold wall, warm wall and warm CPU over its processes (W1, W2). */
const timing = (xs) => ({ cold: med(xs, (r) => r.cold.ms), warm: med(xs, (r) => r.warm.ms), cpu: med(xs, (r) => r.warm.cpuMs) })

// ---------------------------------------------------------------------------------------------
/** realtime-fx once more, consuming the audio with `runAudio` (no fiber per frame) instead of the Stream (W1, W3). */
const withRunAudio = (clients) => [...clients, { id: "fx", name: "realtime-fx (runAudio)", consumer: "runAudio" }]

const w1 = async (all) => {
  const clients = withRunAudio(all)
  const replyMs = 60_000
  const warmup = smoke ? 1 : 3
  const measured = smoke ? 2 : 5
  const server = await startServer({ pacing: "fast", replyMs, variants: 1 + warmup + measured })
  const serverCpu = new Map(clients.map((c) => [c.name, []]))
  try {
    let before = await server.cpuMs()
    const res = await rounds(
      clients,
      reps,
      (c) => ({
        client: c.id,
        workload: "w1",
        url: server.url,
        warmup,
        measured,
        messagesPerReply: messagesPerReply(replyMs),
        expectedBytes: pcmBytes(replyMs),
        consumer: c.consumer
      }),
      90_000,
      async (c, r) => {
        // the server's CPU since the previous child (its replies and connection) per reply
        const now = await server.cpuMs()
        serverCpu.get(c.name).push((now - before) / r.replies)
        before = now
      }
    )
    const base = res.get(clients[1].name)
    const b = timing(base)
    console.log(`\nW1 inbound: one ${replyMs / 1000} s reply (600 audio deltas of 100 ms + 120 transcript deltas), fast pacing; ` +
      `cold = the first reply in a fresh process, warm = median of ${measured} after ${warmup} more; median of ${reps} processes per client`)
    table(
      ["client", "cold ms", "cold vs bare", "cold CPU ms", "warm ms", "warm vs bare", "warm CPU ms", "CPU vs bare", "RSS MB", "server CPU ms/reply"],
      clients.map((c) => {
        const xs = res.get(c.name)
        const { cold, warm, cpu } = timing(xs)
        return [c.name, fmt(cold), ratio(cold, b.cold), fmt(med(xs, (r) => r.cold.cpuMs)), fmt(warm), ratio(warm, b.warm), fmt(cpu), ratio(cpu, b.cpu), fmt(med(xs, (r) => r.rssMb), 0), fmt(median(serverCpu.get(c.name)), 1)]
      })
    )
    const floor = med(res.get(clients[0].name), (r) => r.warm.ms)
    const bound = b.warm / floor
    console.log(
      `server check: bare warm wall = ${fmt(bound, 2)}x the floor's` +
        (bound >= 1.3
          ? " (the bare client is clearly slower than ws alone: the server is not the bottleneck)"
          : " (NOT clearly slower than the floor: wall time is bound by the server/socket; read client CPU as the headline)")
    )
    const fx = res.get("realtime-fx")
    const lk = clients.find((c) => c.id === "livekit")
    console.log(
      `aims: warm client CPU ${ratio(med(fx, (r) => r.warm.cpuMs), b.cpu)} bare (<= 1.5x)` +
        (lk ? `, LiveKit ${ratio(med(res.get(lk.name), (r) => r.warm.cpuMs), b.cpu)}` : "") +
        `; cold wall ${ratio(med(fx, (r) => r.cold.ms), b.cold)} bare (<= 1.5x)`
    )
  } finally {
    await server.close()
  }
}

// ---------------------------------------------------------------------------------------------
const w2 = async (clients) => {
  const seconds = smoke ? 10 : 60
  const runs = smoke ? 2 : 4
  const server = await startServer({ pacing: "fast", replyMs: 1000, variants: 1 })
  const list = [...clients.map((c) => (c.id === "fx" ? { ...c, name: "realtime-fx (half-band, default)" } : c)), { id: "fx", name: "realtime-fx (linear fallback)", resampler: "linear" }]
  const expected = seconds * 24000 * 2
  try {
    const res = await rounds(
      list,
      reps,
      (c) => ({ client: c.id, workload: "w2", url: server.url, seconds, runs, resampler: c.resampler }),
      90_000,
      async (c, r) => {
        const stats = await server.stats()
        r.appended = stats.commits
        if (c.id !== "livekit" && !stats.commits.every((b) => b === expected)) {
          console.log(`  ${c.name}: commits carried ${stats.commits.join(", ")} bytes, expected ${expected} each`)
        }
        await server.reset()
      }
    )
    const base = res.get(list[1].name)
    const b = timing(base)
    console.log(`\nW2 outbound: ${seconds} s of 48 kHz stereo in 10 ms frames -> 24 kHz mono appends, commit, until committed; ` +
      `cold = first push in a fresh process, warm = median of the next ${runs - 1}; median of ${reps} processes`)
    table(
      ["client", "cold ms", "cold vs bare", "warm ms", "warm vs bare", "warm CPU ms", "CPU vs bare", "x realtime", "RSS MB", "bytes/commit"],
      list.map((c) => {
        const xs = res.get(c.name)
        const { cold, warm, cpu } = timing(xs)
        return [c.name, fmt(cold), ratio(cold, b.cold), fmt(warm), ratio(warm, b.warm), fmt(cpu), ratio(cpu, b.cpu), fmt((seconds * 1000) / warm, 0), fmt(med(xs, (r) => r.rssMb), 0), xs[0]?.appended?.[0] ?? "n/a"]
      })
    )
    const floor = med(res.get(list[0].name), (r) => r.warm.ms)
    const bound = b.warm / floor
    console.log(
      `server check: bare warm wall = ${fmt(bound, 2)}x the floor's (floor: appends built before the clock, send only)` +
        (bound >= 1.3 ? "" : ": the bare client's wall time is bound by the socket and the server; read client CPU as the headline")
    )
    const fxHb = res.get(list[list.length - 2].name)
    console.log(`aim: realtime-fx (half-band) warm wall ${ratio(med(fxHb, (r) => r.warm.ms), b.warm)} bare, warm CPU ${ratio(med(fxHb, (r) => r.warm.cpuMs), b.cpu)} bare (<= 2x)`)
  } finally {
    await server.close()
  }
}

// ---------------------------------------------------------------------------------------------
/** The young generation's semi-space W3's second pass gives every client (V8's default here: 16 MB). */
const TUNED_SEMI_SPACE_MB = 64

const w3 = async (all) => {
  const plain = withRunAudio(all)
  // Every client again with a larger young generation (a Node flag, as a deployment would set it):
  // per-frame objects that live about one 100 ms period then die young instead of being promoted.
  const tunedFlag = `--max-semi-space-size=${TUNED_SEMI_SPACE_MB}`
  const tuned = plain.map((c) => ({ ...c, name: `${c.name} ${tunedFlag}`, execArgv: [tunedFlag] }))
  const ns = option("n")?.split(",").map(Number) ?? (smoke ? [20] : [100, 500, 1000])
  // --n picks the sizes of both passes unless --tuned-n names the second's
  const tunedNs = option("tuned-n")?.split(",").map(Number) ?? (option("n") !== undefined ? ns : smoke ? [20] : [500, 1000])
  const passes = [{ clients: plain, ns }, { clients: tuned, ns: tunedNs }]
  const timing = smoke ? { settleMs: 500, windowMs: 1000 } : { settleMs: 3000, windowMs: 5000 }
  const w3reps = Number(option("reps") ?? (smoke ? 1 : 2))
  const server = await startServer({ pacing: "realtime", replyMs: 30_000, variants: 1 })
  try {
    const rows = []
    for (const { clients, ns } of passes) for (const n of ns) {
      const res = await rounds(
        clients,
        w3reps,
        (c) => ({ client: c.id, workload: "w3", url: server.url, n, ...timing, consumer: c.consumer }),
        180_000,
        async (c, r) => {
          const due = await server.due([r.start.at, r.end.at])
          r.backlogStartMs = (due.due[0] - r.start.bytes / 48) / n
          r.backlogEndMs = (due.due[1] - r.end.bytes / 48) / n
          r.serverLateP99 = due.lateP99
          await server.reset()
        }
      )
      const base = res.get(clients[1].name)
      const bCpu = med(base, (r) => r.cpuPct)
      for (const c of clients) {
        const xs = res.get(c.name)
        const cpu = med(xs, (r) => r.cpuPct)
        rows.push([
          `${c.name} x${n}`,
          fmt(med(xs, (r) => r.audioSecPerSec), 0),
          fmt(cpu, 1),
          ratio(cpu, bCpu),
          xs.every((r) => r.loopP99Ms === null) ? "n/a" : fmt(med(xs.filter((r) => r.loopP99Ms !== null), (r) => r.loopP99Ms), 1),
          fmt(med(xs, (r) => r.windowMs) / 1000, 1),
          fmt(med(xs, (r) => r.backlogEndMs), 0),
          fmt(med(xs, (r) => r.backlogEndMs - r.backlogStartMs), 0),
          fmt(med(xs, (r) => r.rssPerSessionKb), 0),
          fmt(med(xs, (r) => r.serverLateP99), 1)
        ])
      }
    }
    console.log(`\nW3 scale: N sessions, each one real-time reply (one 100 ms delta every 100 ms); ${timing.windowMs} ms window after ${timing.settleMs} ms; ` +
      `median of ${w3reps} processes. backlog = audio the server had written minus audio the client consumed, per session, at the window's end; growth = over the window; server late = the server's own lag behind its schedule. ` +
      `Rows marked ${tunedFlag}: every client run with that Node flag, ratios to bare run with it too`)
    table(["clients", "audio s/s", "CPU % of a core", "CPU vs bare", "loop p99 ms", "window s", "backlog ms", "backlog growth ms", "RSS KB/session", "server late p99 ms"], rows)
  } finally {
    await server.close()
  }
}

// ---------------------------------------------------------------------------------------------
const micro = async () => {
  for (const name of ["protocol", "audio", "delivery"]) {
    console.log(`\nmicro: ${name}`)
    const r = await runChild({ workload: "micro", name, smoke }, 120_000)
    if (r.error) console.log(`  ${name}: ${r.error}`)
  }
}

console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ${smoke ? "smoke" : "full"} run`)
console.log(`before: ${uptime()}`)
const t0 = performance.now()
const clients = await clientList()
if (!existsSync(`${peersDir}node_modules`)) console.log("(bench/.peers not installed)")
if (wanted("w1")) await w1(clients)
if (wanted("w2")) await w2(clients)
if (wanted("w3")) await w3(clients)
if (wanted("micro")) await micro()
console.log(`\nafter: ${uptime()}; total ${fmt((performance.now() - t0) / 1000, 0)} s`)
