// Inbound decoding hot path: decodeServerEvent (JSON.parse + Schema decode of the event's member)
// over a realistic mix of server frames, against bare JSON.parse of the same frames in the same run.
// Mix: 70% audio deltas (100 ms of PCM16 24 kHz = 4800 bytes = 6400 base64 chars), 20% transcript
// deltas, 10% response lifecycle events. Prints both times per frame and the ratio.
import * as Protocol from "@realtime-fx/core/Protocol"

const base64Audio = (seed) => {
  const bytes = new Uint8Array(4800)
  let s = seed
  for (let i = 0; i < bytes.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff
    bytes[i] = s & 0xff
  }
  return Buffer.from(bytes).toString("base64")
}

const makeFrames = (count) => {
  const audio = [base64Audio(1), base64Audio(2), base64Audio(3), base64Audio(4)]
  const ref = (i) => ({ event_id: `event_${i}`, response_id: "resp_1", item_id: "item_1", output_index: 0, content_index: 0 })
  const lifecycle = [
    (i) => ({ type: "input_audio_buffer.speech_started", event_id: `event_${i}`, audio_start_ms: 1200, item_id: "item_0" }),
    (i) => ({ type: "input_audio_buffer.speech_stopped", event_id: `event_${i}`, audio_end_ms: 2400, item_id: "item_0" }),
    (i) => ({ type: "input_audio_buffer.committed", event_id: `event_${i}`, previous_item_id: null, item_id: "item_0" }),
    (i) => ({ type: "conversation.item.added", event_id: `event_${i}`, previous_item_id: null, item: { id: "item_0", type: "message", status: "completed", role: "user", content: [{ type: "input_audio", transcript: null }] } }),
    (i) => ({ type: "response.created", event_id: `event_${i}`, response: { object: "realtime.response", id: "resp_1", status: "in_progress", status_details: null, output: [], conversation_id: "conv_1", output_modalities: ["audio"], max_output_tokens: "inf", audio: { output: { format: { type: "audio/pcm", rate: 24000 }, voice: "ara" } }, usage: null, metadata: { client_event_id: "abc" } } }),
    (i) => ({ type: "response.output_item.added", event_id: `event_${i}`, response_id: "resp_1", output_index: 0, item: { id: "item_1", object: "realtime.item", type: "message", status: "in_progress", role: "assistant", content: [] } }),
    (i) => ({ type: "response.content_part.added", ...ref(i), part: { type: "output_audio", transcript: "" } }),
    (i) => ({ type: "response.output_audio_transcript.done", ...ref(i), transcript: "Sure, the weather in Paris is sunny today with a light breeze." }),
    (i) => ({ type: "response.output_item.done", event_id: `event_${i}`, response_id: "resp_1", output_index: 0, item: { id: "item_1", type: "message", status: "completed", role: "assistant", content: [{ type: "output_audio", transcript: "Sure, the weather in Paris is sunny today with a light breeze." }] } }),
    (i) => ({ type: "response.done", event_id: `event_${i}`, response: { object: "realtime.response", id: "resp_1", status: "completed", status_details: null, output: [{ id: "item_1", type: "message", status: "completed", role: "assistant", content: [{ type: "output_audio", transcript: "Sure, the weather in Paris is sunny today." }] }], conversation_id: "conv_1", output_modalities: ["audio"], usage: { total_tokens: 253, input_tokens: 132, output_tokens: 121, input_token_details: { text_tokens: 119, audio_tokens: 13, image_tokens: 0, cached_tokens: 64, cached_tokens_details: { text_tokens: 64, audio_tokens: 0, image_tokens: 0 } }, output_token_details: { text_tokens: 30, audio_tokens: 91 } }, metadata: null } })
  ]
  const words = ["Sure", ", the", " weather", " in", " Paris", " is", " sunny", " today", " with", " a", " light", " breeze", "."]
  const frames = []
  for (let i = 0; i < count; i++) {
    const r = i % 10
    let event
    if (r < 7) event = { type: "response.output_audio.delta", ...ref(i), delta: audio[i % audio.length] }
    else if (r < 9) event = { type: "response.output_audio_transcript.delta", ...ref(i), delta: words[i % words.length] }
    else event = lifecycle[Math.floor(i / 10) % lifecycle.length](i)
    frames.push(JSON.stringify(event))
  }
  return frames
}

let sink = 0
const timeParse = (frames) => {
  const t0 = performance.now()
  for (let i = 0; i < frames.length; i++) {
    const v = JSON.parse(frames[i])
    if (v.type.length > 0) sink++
  }
  return performance.now() - t0
}
const timeDecode = (frames) => {
  const t0 = performance.now()
  for (let i = 0; i < frames.length; i++) {
    const r = Protocol.decodeServerEvent(frames[i])
    if (r._tag !== "Right" || Protocol.isUnknownServerEvent(r.right)) throw new Error(`decode failed: ${frames[i].slice(0, 120)}`)
    sink++
  }
  return performance.now() - t0
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

export async function run({ smoke }) {
  const frames = makeFrames(smoke ? 1000 : 10000)
  const bytes = frames.reduce((n, f) => n + f.length, 0)
  const rounds = smoke ? 15 : 31
  // warm-up: both paths, until the JIT settles
  for (let w = 0; w < (smoke ? 15 : 8); w++) {
    timeParse(frames)
    timeDecode(frames)
  }
  const parse = []
  const decode = []
  for (let r = 0; r < rounds; r++) {
    // alternate the order so neither path always runs on a warmer cache
    if (r % 2 === 0) {
      parse.push(timeParse(frames))
      decode.push(timeDecode(frames))
    } else {
      decode.push(timeDecode(frames))
      parse.push(timeParse(frames))
    }
  }
  const p = median(parse)
  const d = median(decode)
  // the machine may be shared: the ratio is the median of the per-round ratios (each round runs both
  // paths back to back), which is robust to load that drifts between rounds
  const ratio = median(parse.map((x, i) => decode[i] / x))
  const perFrame = (ms) => ((ms * 1000) / frames.length).toFixed(2)
  const mbps = (ms) => (bytes / 1e6 / (ms / 1000)).toFixed(0)
  console.log(`frames: ${frames.length} (70% audio deltas of 6400 base64 chars, 20% transcript deltas, 10% lifecycle), ${(bytes / 1e6).toFixed(1)} MB, ${rounds} rounds (median)`)
  console.table([
    { path: "JSON.parse (baseline)", "µs/frame": perFrame(p), "MB/s": mbps(p), ratio: "1.00" },
    { path: "Protocol.decodeServerEvent", "µs/frame": perFrame(d), "MB/s": mbps(d), ratio: ratio.toFixed(2) }
  ])
  console.log(`ratio decodeServerEvent / JSON.parse: ${ratio.toFixed(2)}x (median of per-round ratios; aim: <= 1.30x)`)
  if (sink < 0) console.log(sink)
}
