// The bare baseline client: `ws` + JSON.parse + Buffer base64, no framework. It is the practical
// limit a realtime client can reach in Node, so every figure is reported as a ratio against it.
import WebSocket from "ws"

/** Opens a WebSocket to the fake server and resolves once it is open. */
export const connect = (url) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Authorization: "Bearer bench" } })
    ws.once("open", () => resolve(ws))
    ws.once("error", reject)
  })

const closeWs = (ws) =>
  new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve()
    ws.once("close", resolve)
    ws.close()
  })

/**
 * Asks for one reply and holds every decoded PCM chunk until `response.done`. `onAudio(pcm)` is
 * called per decoded chunk (the consumer). Resolves to { ms, bytes, chunks }.
 */
export const inbound = async (url, { onAudio } = {}) => {
  const ws = await connect(url)
  try {
    const held = []
    let bytes = 0
    let text = ""
    const done = new Promise((resolve, reject) => {
      ws.on("message", (data) => {
        const event = JSON.parse(data.toString())
        switch (event.type) {
          case "response.output_audio.delta": {
            const pcm = Buffer.from(event.delta, "base64")
            held.push(pcm)
            bytes += pcm.length
            if (onAudio) onAudio(pcm)
            break
          }
          case "response.output_audio_transcript.delta":
            text += event.delta
            break
          case "response.done":
            resolve()
            break
          case "error":
            reject(new Error(JSON.stringify(event.error)))
        }
      })
      ws.once("close", () => reject(new Error("closed before response.done")))
    })
    const t0 = performance.now()
    ws.send(JSON.stringify({ type: "response.create" }))
    await done
    const ms = performance.now() - t0
    return { ms, bytes, chunks: held.length, textLength: text.length }
  } finally {
    await closeWs(ws)
  }
}

/**
 * The bare client's input conversion, 48 kHz stereo -> 24 kHz mono: average the two channels, then
 * average each pair of adjacent samples (a 2-tap box low-pass + 2:1 decimation). Writes
 * `frame.length / 4` samples into `out` at `offset`.
 */
export const downmixDecimate = (frame, out, offset) => {
  const n = frame.length >> 2
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    out[offset + i] = (frame[j] + frame[j + 1] + frame[j + 2] + frame[j + 3]) >> 2
  }
  return n
}

/**
 * Sends `frames` (Int16Array, 48 kHz stereo, 10 ms each) as 100 ms 24 kHz mono appends, then a
 * commit, and resolves when the server acknowledges the commit (the socket is ordered, so the
 * ack proves every append was received). Resolves to { ms, appends }.
 */
export const outbound = async (url, frames) => {
  const ws = await connect(url)
  try {
    const acked = new Promise((resolve, reject) => {
      ws.on("message", (data) => {
        const event = JSON.parse(data.toString())
        if (event.type === "input_audio_buffer.committed") resolve()
        else if (event.type === "error") reject(new Error(JSON.stringify(event.error)))
      })
    })
    const t0 = performance.now()
    const chunk = new Int16Array(2400)
    let fill = 0
    let appends = 0
    for (const frame of frames) {
      fill += downmixDecimate(frame, chunk, fill)
      if (fill === chunk.length) {
        ws.send(JSON.stringify({ type: "input_audio_buffer.append", audio: Buffer.from(chunk.buffer).toString("base64") }))
        appends++
        fill = 0
      }
    }
    ws.send(JSON.stringify({ type: "input_audio_buffer.commit" }))
    await acked
    return { ms: performance.now() - t0, appends }
  } finally {
    await closeWs(ws)
  }
}
