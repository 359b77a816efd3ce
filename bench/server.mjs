// The bench server: a minimal xAI-style realtime server in its own process (forked by the
// orchestrator), built to cost the client as little as possible. Every frame it sends is JSON text
// built once at start-up (Buffers: ws writes them without conversion); only `response.created`
// splices in the request's `metadata`. It speaks just enough of the protocol:
//   connect -> session.created; session.update -> session.updated;
//   response.create -> response.created, output_item.added, conversation.item.added,
//     content_part.added, N x (audio delta of 100 ms [+ a transcript delta every 5th]),
//     output_audio_transcript.done, output_audio.done, content_part.done, output_item.done, response.done;
//   input_audio_buffer.append (counted, not decoded) ; input_audio_buffer.commit -> committed.
// Pacing "fast": a reply is written in one synchronous loop. "realtime": one 100 ms delta every
// 100 ms per response, from a single 5 ms ticker; every delta's send time is logged, so the
// orchestrator can ask how much audio had been written by a given wall-clock instant (the backlog's
// reference) and how late the server itself was against its schedule.
// Options (argv[2], JSON): { pacing, replyMs, variants }. IPC: "cpu", "reset", "stats",
// { type: "due", at: [wall ms...] }, "close".
import { WebSocketServer } from "ws"

const opts = { pacing: "fast", replyMs: 60_000, variants: 12, ...JSON.parse(process.argv[2] ?? "{}") }
const DELTA_MS = 100
const DELTAS = Math.round(opts.replyMs / DELTA_MS)
const wall = () => performance.timeOrigin + performance.now()
/**
 * A whole WebSocket text frame (server frames are not masked): header + the event's JSON, so a reply
 * is written to the socket as bytes, with no per-frame work at all.
 */
const wsFrame = (payload) => {
  const n = payload.length
  const header = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.from([0x81, 126, n >> 8, n & 255]) : Buffer.alloc(10)
  if (n >= 65536) {
    header[0] = 0x81
    header[1] = 127
    header.writeBigUInt64BE(BigInt(n), 2)
  }
  return Buffer.concat([header, payload])
}
const frame = (event) => wsFrame(Buffer.from(JSON.stringify(event)))

// ---- frames, built before any client connects ------------------------------------------------
const pcmBase64 = (seed) => {
  const pcm = new Int16Array(2400)
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(9000 * Math.sin((seed * 2400 + i) * 0.043))
  return Buffer.from(pcm.buffer).toString("base64")
}
const payloads = Array.from({ length: 8 }, (_, i) => pcmBase64(i))
const words = ["Sure", ", the", " weather", " in", " Paris", " is", " sunny", " today", " with", " a", " light", " breeze", "."]

const sessionObject = {
  id: "sess_bench",
  object: "realtime.session",
  model: "grok-voice",
  voice: "ara",
  instructions: "",
  turn_detection: null,
  audio: { input: { format: { type: "audio/pcm", rate: 24000 } }, output: { format: { type: "audio/pcm", rate: 24000 }, voice: "ara" } }
}
const SESSION_CREATED = frame({ type: "session.created", event_id: "ev_sc", session: sessionObject })
const SESSION_UPDATED = frame({ type: "session.updated", event_id: "ev_su", session: sessionObject })

/** One reply's frames (ids suffixed by `v`, so replies on one connection never share ids). */
const buildReply = (v) => {
  const rid = `resp_${v}`
  const iid = `item_${v}`
  const at = { response_id: rid, item_id: iid, output_index: 0, content_index: 0 }
  const text = []
  const created = JSON.stringify({
    type: "response.created",
    event_id: `ev_rc${v}`,
    response: { id: rid, object: "realtime.response", status: "in_progress", status_details: null, output: [], conversation_id: "conv_bench", output_modalities: ["audio"], usage: null, metadata: null }
  })
  const split = created.lastIndexOf("null")
  const head = [
    frame({ type: "response.output_item.added", event_id: `ev_oa${v}`, response_id: rid, output_index: 0, item: { id: iid, object: "realtime.item", type: "message", status: "in_progress", role: "assistant", content: [] } }),
    frame({ type: "conversation.item.added", event_id: `ev_ca${v}`, previous_item_id: null, item: { id: iid, object: "realtime.item", type: "message", status: "in_progress", role: "assistant", content: [] } }),
    frame({ type: "response.content_part.added", event_id: `ev_pa${v}`, ...at, part: { type: "audio", transcript: "" } })
  ]
  // deltas[k]: the frames of step k (audio, and every 5th step a transcript word first)
  const deltas = []
  for (let k = 0; k < DELTAS; k++) {
    const step = []
    if (k % 5 === 0) {
      const word = words[(k / 5) % words.length]
      text.push(word)
      step.push(frame({ type: "response.output_audio_transcript.delta", event_id: `ev_t${v}_${k}`, ...at, delta: word }))
    }
    step.push(frame({ type: "response.output_audio.delta", event_id: `ev_a${v}_${k}`, ...at, delta: payloads[k % payloads.length] }))
    deltas.push(step)
  }
  const transcript = text.join("")
  const item = { id: iid, object: "realtime.item", type: "message", status: "completed", role: "assistant", content: [{ type: "output_audio", transcript }] }
  const tail = [
    frame({ type: "response.output_audio_transcript.done", event_id: `ev_td${v}`, ...at, transcript }),
    frame({ type: "response.output_audio.done", event_id: `ev_ad${v}`, ...at }),
    frame({ type: "response.content_part.done", event_id: `ev_pd${v}`, ...at, part: { type: "audio", transcript } }),
    frame({ type: "response.output_item.done", event_id: `ev_od${v}`, response_id: rid, output_index: 0, item }),
    frame({
      type: "response.done",
      event_id: `ev_rd${v}`,
      response: {
        id: rid, object: "realtime.response", status: "completed", status_details: null, output: [item], conversation_id: "conv_bench", output_modalities: ["audio"], metadata: null,
        usage: { total_tokens: 900, input_tokens: 100, output_tokens: 800, input_token_details: { text_tokens: 100, audio_tokens: 0, image_tokens: 0, cached_tokens: 0, cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 } }, output_token_details: { text_tokens: 50, audio_tokens: 750 } }
      }
    })
  ]
  // fast pacing: everything after response.created in one buffer, one socket write
  const all = Buffer.concat([...head, ...deltas.flat(), ...tail])
  return { createdHead: created.slice(0, split), createdTail: created.slice(split + 4), head, deltas: deltas.map((step) => Buffer.concat(step)), tail: Buffer.concat(tail), all }
}
const replies = Array.from({ length: opts.variants }, (_, v) => buildReply(v + 1))
const committed = (n) => frame({ type: "input_audio_buffer.committed", event_id: `ev_ic${n}`, previous_item_id: null, item_id: `item_in${n}` })
const COMMITTED = Array.from({ length: 16 }, (_, n) => committed(n))

// ---- state -------------------------------------------------------------------------------------
/** Real-time streams being sent: { ws, reply, k (next step), start (wall ms) }. */
let streams = []
/** Every real-time response since the last reset: its start (wall ms), for the schedule. */
let starts = []
/** Lateness (ms) of each real-time step sent since the last reset. */
let lateness = []
/** Wall-clock time of every real-time audio delta sent since the last reset (non-decreasing). */
let sentAt = []
/** Per commit since the last reset: appended audio bytes. */
let commits = []

/** Writes pre-framed bytes straight to the socket (in order with anything ws itself wrote). */
const send = (ws, bytes) => ws._socket.write(bytes)

const startReply = (ws, state, request) => {
  const reply = replies[state.replies++ % replies.length]
  const metadata = request?.response?.metadata ?? null
  send(ws, wsFrame(Buffer.from(reply.createdHead + JSON.stringify(metadata) + reply.createdTail)))
  if (opts.pacing === "fast") return send(ws, reply.all)
  for (const f of reply.head) send(ws, f)
  const start = wall()
  starts.push(start)
  streams.push({ ws, reply, k: 0, start })
}

if (opts.pacing === "realtime") {
  globalThis.setInterval(() => {
    const now = wall()
    let ended = false
    for (const s of streams) {
      if (s.ws.readyState !== 1) {
        s.k = DELTAS + 1
        ended = true
        continue
      }
      while (s.k < DELTAS && s.start + s.k * DELTA_MS <= now) {
        lateness.push(now - (s.start + s.k * DELTA_MS))
        sentAt.push(now)
        send(s.ws, s.reply.deltas[s.k])
        s.k++
      }
      if (s.k === DELTAS) {
        send(s.ws, s.reply.tail)
        s.k++
        ended = true
      }
    }
    if (ended) streams = streams.filter((s) => s.k <= DELTAS)
  }, 5)
}

const APPEND = Buffer.from("\"input_audio_buffer.append\"")
const AUDIO_KEY = Buffer.from("\"audio\":\"")

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false })
wss.on("connection", (ws) => {
  const state = { replies: 0, appendedBytes: 0 }
  send(ws, SESSION_CREATED)
  ws.on("message", (data) => {
    // appends: recognised and measured without parsing their 6 KB of base64
    if (data.length > 512 && data.subarray(0, 64).indexOf(APPEND) >= 0) {
      const from = data.indexOf(AUDIO_KEY)
      if (from >= 0) {
        const start = from + AUDIO_KEY.length
        const end = data.indexOf(0x22, start)
        let pad = 0
        if (data[end - 1] === 0x3d) pad++
        if (data[end - 2] === 0x3d) pad++
        state.appendedBytes += ((end - start) / 4) * 3 - pad
      }
      return
    }
    const event = JSON.parse(data.toString())
    switch (event.type) {
      case "session.update":
        return send(ws, SESSION_UPDATED)
      case "response.create":
        return startReply(ws, state, event)
      case "input_audio_buffer.commit":
        commits.push(state.appendedBytes)
        send(ws, COMMITTED[commits.length % COMMITTED.length])
        state.appendedBytes = 0
        return
      case "input_audio_buffer.append": // a small one (under 512 bytes): parsed
        state.appendedBytes += Buffer.from(event.audio, "base64").length
        return
      default:
        return
    }
  })
  ws.on("error", () => {})
})

/** Audio (ms, all responses) the server had actually written by wall-clock instant `t`. */
const sentBy = (t) => {
  let lo = 0
  let hi = sentAt.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (sentAt[mid] <= t) lo = mid + 1
    else hi = mid
  }
  return lo * DELTA_MS
}
const p = (xs, q) => {
  if (xs.length === 0) return 0
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.ceil((q / 100) * s.length) - 1)]
}

wss.on("listening", () => process.send({ type: "ready", url: `ws://127.0.0.1:${wss.address().port}/v1/realtime` }))
process.on("message", (msg) => {
  if (msg === "cpu") process.send({ type: "cpu", cpu: process.cpuUsage() })
  else if (msg === "reset") {
    streams = []
    starts = []
    lateness = []
    sentAt = []
    commits = []
    for (const ws of wss.clients) ws.terminate()
    process.send({ type: "reset" })
  } else if (msg === "stats") {
    process.send({ type: "stats", commits, responses: starts.length, lateP99: p(lateness, 99), lateMax: p(lateness, 100) })
  } else if (msg?.type === "due") {
    process.send({ type: "due", due: msg.at.map(sentBy), responses: starts.length, lateP99: p(lateness, 99), lateMax: p(lateness, 100) })
  } else if (msg === "close") {
    for (const ws of wss.clients) ws.terminate()
    wss.close(() => process.exit(0))
  }
})
process.on("disconnect", () => process.exit(0))
