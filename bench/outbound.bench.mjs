// W2 outbound: 60 s of 48 kHz stereo in 10 ms frames (6000 frames, generated before the clock
// starts) pushed as fast as possible until the server has received every append. Each client
// converts to 24 kHz mono 100 ms appends, sends `input_audio_buffer.commit` and stops the clock at
// the server's `input_audio_buffer.committed` (one ordered socket: the ack proves all 600 appends
// arrived). Bare: channel average + 2:1 pair average, Buffer base64, JSON.stringify, ws.send.
// LiveKit: JS mono mix + rtc-node AudioResampler + session.pushAudio. realtime-fx: pushAudio with
// its default Resampler.layer (half-band 2:1 at 48 kHz, libsamplerate otherwise) and, for reference, Resampler.linearService.
import * as bare from "./lib/bare.mjs"
import * as fx from "./lib/fx.mjs"
import * as livekit from "./lib/livekit.mjs"
import { startServer } from "./lib/server.mjs"
import { fmt, median, table, withTimeout } from "./lib/stats.mjs"
import { loadLiveKit } from "./peers.mjs"

const makeFrames = (seconds) => {
  const frames = []
  let seed = 7
  for (let k = 0; k < seconds * 100; k++) {
    const f = new Int16Array(960)
    for (let i = 0; i < 480; i++) {
      const t = k * 480 + i
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      const noise = (seed % 600) - 300
      f[2 * i] = Math.round(6000 * Math.sin(t * 0.029)) + noise
      f[2 * i + 1] = Math.round(6000 * Math.sin(t * 0.031)) - noise
    }
    frames.push(f)
  }
  return frames
}

export async function run({ smoke }) {
  const seconds = smoke ? 20 : 60
  const frames = makeFrames(seconds)
  const server = await startServer({ pacing: "fast" })
  try {
    const lk = await loadLiveKit()
    const list = [{ name: "bare ws (pair-average)", run: (u) => bare.outbound(u, frames) }]
    if (lk.error) console.log(`(LiveKit peer skipped: ${lk.error})`)
    else list.push({ name: `livekit xai ${lk.version}`, run: (u) => livekit.outbound(u, frames) })
    list.push({ name: "realtime-fx (default layer)", run: (u) => fx.outbound(u, frames) })
    list.push({ name: "realtime-fx (linear)", run: (u) => fx.outbound(u, frames, { resampler: "linear" }) })
    const warmup = 1
    const rounds = smoke ? 1 : 5
    const once = async (c) => {
      const c0 = process.cpuUsage()
      const r = await withTimeout(c.run(server.url), 60_000, c.name)
      const cpu = process.cpuUsage(c0)
      return { ms: r.ms, cpuMs: (cpu.user + cpu.system) / 1000 }
    }
    for (let w = 0; w < warmup; w++) for (const c of list) await once(c)
    const res = new Map(list.map((c) => [c.name, { ms: [], cpuMs: [] }]))
    for (let r = 0; r < rounds; r++) {
      for (const c of list) {
        const x = await once(c)
        res.get(c.name).ms.push(x.ms)
        res.get(c.name).cpuMs.push(x.cpuMs)
      }
    }
    const baseMs = median(res.get(list[0].name).ms)
    const baseCpu = median(res.get(list[0].name).cpuMs)
    console.log(`W2 outbound: ${seconds} s of 48 kHz stereo, 10 ms frames -> ${seconds * 10} appends; median of ${rounds} (after ${warmup} warm-up)`)
    table(
      ["client", "wall ms", "x realtime", "time vs bare", "client CPU ms", "CPU vs bare"],
      list.map((c) => {
        const m = median(res.get(c.name).ms)
        const cpu = median(res.get(c.name).cpuMs)
        return [c.name, fmt(m), fmt((seconds * 1000) / m, 0), `${fmt(m / baseMs, 2)}x`, fmt(cpu), `${fmt(cpu / baseCpu, 2)}x`]
      })
    )
    const fxMs = median(res.get("realtime-fx (default layer)").ms)
    console.log(`aim: realtime-fx within 1.5x of bare -> ${fmt(fxMs / baseMs, 2)}x (${fxMs / baseMs <= 1.5 ? "met" : "missed"})`)
  } finally {
    await server.close()
    // rtc-node's native FFI runtime (used by AudioResampler) keeps the process alive until disposed
    const lk = await loadLiveKit()
    if (!lk.error && typeof lk.rtc.dispose === "function") await lk.rtc.dispose()
  }
}
