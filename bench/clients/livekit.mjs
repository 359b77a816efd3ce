// LiveKit's xAI plugin (@livekit/agents-plugin-xai 1.9, installed by bench/peers.mjs into
// bench/.peers) driven directly: its RealtimeModel / RealtimeSession outside an agent job.
import { loadLiveKit } from "../peers.mjs"

const drain = async (readable, onChunk) => {
  const reader = readable.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    onChunk(value)
  }
}

let lk

/** Loads the plugin (before any session, so W3's RSS baseline includes the module). */
export const prepare = async () => {
  lk = await loadLiveKit()
  if (lk.error) throw new Error(`LiveKit peer unavailable: ${lk.error}`)
}

/** Opens a LiveKit xAI RealtimeSession; resolves once its socket has seen session.created/updated. */
export const open = async (url) => {
  if (lk === undefined) await prepare()
  const model = new lk.xai.realtime.RealtimeModel({ baseURL: url.replace(/\/realtime$/, ""), apiKey: "bench", turnDetection: null })
  const session = model.session()
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("LiveKit session did not connect in 30 s")), 30_000)
    const on = (ev) => {
      if (ev.type === "session.updated" || ev.type === "session.created") {
        clearTimeout(timer)
        session.off("openai_server_event_received", on)
        resolve()
      }
    }
    session.on("openai_server_event_received", on)
  })
  return {
    /** One reply: every AudioFrame held until the streams end; the bytes. */
    reply: async () => {
      const held = []
      let bytes = 0
      let text = 0
      const gen = await session.generateReply()
      const pending = []
      await drain(gen.messageStream, (message) => {
        pending.push(
          drain(message.audioStream, (frame) => {
            held.push(frame.data)
            bytes += frame.data.byteLength
          }),
          drain(message.textStream, (d) => void (text += d.length))
        )
      })
      await Promise.all(pending)
      return bytes
    },
    prepareOutbound: (frames) => frames,
    /**
     * W2: each 48 kHz stereo 10 ms frame is mixed to mono (JS) and resampled to 24 kHz by LiveKit's
     * own AudioResampler (rtc-node), then `pushAudio` (the plugin expects 24 kHz mono and cuts its
     * appends itself); commit; wait for `input_audio_buffer.committed`.
     */
    outbound: async (frames) => {
      const acked = new Promise((resolve) => {
        const on = (ev) => {
          if (ev.type === "input_audio_buffer.committed") {
            session.off("openai_server_event_received", on)
            resolve()
          }
        }
        session.on("openai_server_event_received", on)
      })
      const resampler = new lk.rtc.AudioResampler(48000, 24000, 1)
      for (const frame of frames) {
        const mono = new Int16Array(frame.length >> 1)
        for (let i = 0, j = 0; i < mono.length; i++, j += 2) mono[i] = (frame[j] + frame[j + 1]) >> 1
        for (const out of resampler.push(new lk.rtc.AudioFrame(mono, 48000, 1, mono.length))) session.pushAudio(out)
      }
      for (const out of resampler.flush()) session.pushAudio(out)
      session.commitAudio()
      await acked
      resampler.close?.()
    },
    /** W3: one reply; `onBytes(n)` per audio frame. */
    stream: async (onBytes) => {
      const gen = await session.generateReply()
      void drain(gen.messageStream, (message) => {
        void drain(message.audioStream, (frame) => onBytes(frame.data.byteLength))
        void drain(message.textStream, () => {})
      }).catch(() => {})
    },
    close: () => session.close()
  }
}

/** rtc-node's native runtime (AudioResampler) keeps the process alive until disposed. */
export const dispose = async () => {
  if (lk !== undefined && !lk.error && typeof lk.rtc.dispose === "function") await lk.rtc.dispose()
}
