// LiveKit's xAI plugin (@livekit/agents-plugin-xai 1.9) driven directly as a benchmark client:
// its RealtimeModel / RealtimeSession, outside an agent job (no room, no AgentSession).
import { loadLiveKit } from "../peers.mjs"

const drain = async (readable, onChunk) => {
  const reader = readable.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    onChunk(value)
  }
}

/** Opens a LiveKit xAI RealtimeSession against `url`; resolves once its socket has seen session.updated. */
const openSession = async (lk, url) => {
  const model = new lk.xai.realtime.RealtimeModel({
    baseURL: url.replace(/\/realtime$/, ""),
    apiKey: "bench",
    turnDetection: null
  })
  const session = model.session()
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("LiveKit session did not connect in 10 s")), 10_000)
    const on = (ev) => {
      if (ev.type === "session.updated" || ev.type === "session.created") {
        clearTimeout(timer)
        session.off("openai_server_event_received", on)
        resolve()
      }
    }
    session.on("openai_server_event_received", on)
  })
  return session
}

/** W1/W4: one reply on a fresh session; holds every AudioFrame. { ms, bytes, chunks }. */
export const inbound = async (url, { onAudio } = {}) => {
  const lk = await loadLiveKit()
  if (lk.error) throw new Error(lk.error)
  const session = await openSession(lk, url)
  try {
    const held = []
    let bytes = 0
    let text = 0
    const t0 = performance.now()
    const gen = await session.generateReply()
    const pending = []
    await drain(gen.messageStream, (message) => {
      pending.push(
        drain(message.audioStream, (frame) => {
          held.push(frame.data)
          bytes += frame.data.byteLength
          if (onAudio) onAudio(frame)
        }),
        drain(message.textStream, (d) => void (text += d.length))
      )
    })
    await Promise.all(pending)
    return { ms: performance.now() - t0, bytes, chunks: held.length, textLength: text }
  } finally {
    await session.close()
  }
}

/**
 * W2: each 48 kHz stereo 10 ms frame is mixed to mono (JS) and resampled to 24 kHz with LiveKit's
 * own AudioResampler (rtc-node), then given to `pushAudio` (the plugin expects 24 kHz mono and
 * cuts 100 ms appends itself). Commits and waits for `input_audio_buffer.committed`. { ms }.
 */
export const outbound = async (url, frames) => {
  const lk = await loadLiveKit()
  if (lk.error) throw new Error(lk.error)
  const session = await openSession(lk, url)
  try {
    const acked = new Promise((resolve) => {
      session.on("openai_server_event_received", (ev) => {
        if (ev.type === "input_audio_buffer.committed") resolve()
      })
    })
    const t0 = performance.now()
    const resampler = new lk.rtc.AudioResampler(48000, 24000, 1)
    for (const frame of frames) {
      const mono = new Int16Array(frame.length >> 1)
      for (let i = 0, j = 0; i < mono.length; i++, j += 2) mono[i] = (frame[j] + frame[j + 1]) >> 1
      for (const out of resampler.push(new lk.rtc.AudioFrame(mono, 48000, 1, mono.length))) session.pushAudio(out)
    }
    for (const out of resampler.flush()) session.pushAudio(out)
    await session.commitAudio()
    await acked
    const ms = performance.now() - t0
    resampler.close?.()
    return { ms }
  } finally {
    await session.close()
  }
}
