// The bare client: `ws` + JSON.parse + Buffer base64, no framework: what a hand-written client pays
// to use the audio. Every figure is reported as a ratio against it.
import WebSocket from "ws"

/** Opens a socket and resolves once the server's first frame (session.created) has arrived. */
export const connect = (url) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Authorization: "Bearer bench" }, perMessageDeflate: false })
    ws.once("message", () => resolve(ws))
    ws.once("error", reject)
  })

/**
 * The bare client's input conversion, 48 kHz stereo -> 24 kHz mono: average the two channels, then
 * average each pair of adjacent samples (a 2-tap box low-pass + 2:1 decimation; it aliases). Writes
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
 * Converts `frames` (48 kHz stereo) with `downmixDecimate` and hands `send` the JSON text of each full
 * 100 ms `input_audio_buffer.append` (2400 samples, base64).
 */
export const eachAppend = (frames, send) => {
  const chunk = new Int16Array(2400)
  let fill = 0
  for (const frame of frames) {
    fill += downmixDecimate(frame, chunk, fill)
    if (fill === chunk.length) {
      send(JSON.stringify({ type: "input_audio_buffer.append", audio: Buffer.from(chunk.buffer).toString("base64") }))
      fill = 0
    }
  }
}

/** Opens one bare session. */
export const open = async (url) => {
  const ws = await connect(url)
  let onEvent = () => {}
  ws.on("message", (data) => onEvent(JSON.parse(data.toString())))
  return {
    /** One reply: every decoded PCM chunk is held until `response.done`; resolves to the bytes. */
    reply: () =>
      new Promise((resolve, reject) => {
        const held = []
        let bytes = 0
        let text = ""
        onEvent = (event) => {
          switch (event.type) {
            case "response.output_audio.delta": {
              const pcm = Buffer.from(event.delta, "base64")
              held.push(pcm)
              bytes += pcm.length
              break
            }
            case "response.output_audio_transcript.delta":
              text += event.delta
              break
            case "response.done":
              resolve(bytes + 0 * text.length)
              break
            case "error":
              reject(new Error(JSON.stringify(event.error)))
          }
        }
        ws.send(JSON.stringify({ type: "response.create" }))
      }),
    prepareOutbound: (frames) => frames,
    /** W2: convert, base64, JSON.stringify and send each 100 ms append, commit, wait for the ack. */
    outbound: (frames) =>
      new Promise((resolve) => {
        onEvent = (event) => {
          if (event.type === "input_audio_buffer.committed") resolve()
        }
        eachAppend(frames, (text) => ws.send(text))
        ws.send(JSON.stringify({ type: "input_audio_buffer.commit" }))
      }),
    /** W3: one reply; `onBytes(n)` per decoded audio delta. */
    stream: (onBytes) => {
      onEvent = (event) => {
        if (event.type === "response.output_audio.delta") onBytes(Buffer.from(event.delta, "base64").length)
      }
      ws.send(JSON.stringify({ type: "response.create" }))
    },
    close: () => ws.terminate()
  }
}
