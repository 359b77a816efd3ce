// The floor client: `ws` only. It parses nothing and decodes nothing: it counts frames (an audio
// delta is recognised by its size alone) and, for W2, sends appends whose JSON text was built before
// the clock. What it costs is the socket and the server; every other client pays that too.
import { connect, eachAppend } from "./bare.mjs"

const CREATE = JSON.stringify({ type: "response.create" })

/** Opens one floor session (`job.messagesPerReply` frames make a reply; a frame over 6 KB is 100 ms of audio). */
export const open = async (url, job) => {
  const ws = await connect(url)
  let onMessage = () => {}
  ws.on("message", (data) => onMessage(data))
  return {
    reply: () =>
      new Promise((resolve) => {
        let n = 0
        let bytes = 0
        onMessage = (data) => {
          if (data.length > 6000) bytes += 4800
          if (++n === job.messagesPerReply) resolve(bytes)
        }
        ws.send(CREATE)
      }),
    /** W2: the appends' JSON texts are built here, before the caller's clock, from the same conversion as bare. */
    prepareOutbound: (frames) => {
      const texts = []
      eachAppend(frames, (text) => texts.push(text))
      return texts
    },
    outbound: (texts) =>
      new Promise((resolve) => {
        onMessage = () => resolve()
        for (const t of texts) ws.send(t)
        ws.send("{\"type\":\"input_audio_buffer.commit\"}")
      }),
    stream: (onBytes) => {
      onMessage = (data) => {
        if (data.length > 6000) onBytes(4800)
      }
      ws.send(CREATE)
    },
    close: () => ws.terminate()
  }
}
