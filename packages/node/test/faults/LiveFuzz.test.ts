// Live fuzz over a real loopback socket: a raw `ws` server answers each `response.create` with a
// valid reply (numbered PCM16 audio deltas and transcript deltas) interleaved with fuzzed frames
// (garbage, mutated copies of the valid frames, fields of the wrong type, wrong ids, deeply nested
// and multi-MB frames, unknown types, prototype keys). Every valid delta must arrive exactly once and
// in order, the malformed frames must come out as recoverable errors, and the session must go on.
import { assert, describe, it } from "@effect/vitest"
import type { AddressInfo } from "node:net"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import { WebSocketServer } from "ws"
import type { WebSocket } from "ws"
import { RealtimeSession, Resampler, Xai } from "@realtime-fx/core"
import { NodeTransport } from "@realtime-fx/node"

/** Valid audio deltas per reply (each 10 ms, every sample = the frame's counter). */
const AUDIO_FRAMES = 40
/** Fuzzed frames sampled per reply (besides the fixed deep, large and prototype frames). */
const FUZZ_FRAMES = 200
const SEEDS = [0x5eed_0001, 0x5eed_0002] as const
const SAMPLES_PER_FRAME = 240
/** Counters of fuzz frames sent with a wrong item id: never in the valid message's audio. */
const FUZZ_MARK = 20_000
const DEPTH = 50_000
const MEGA = "x".repeat(3 * 1024 * 1024)

/** What the session must do with a fuzz frame: a recoverable error, nothing visible, or either. */
type Expect = "error" | "ignored" | "any"
interface Frame {
  readonly text: string
  readonly expect: Expect
}

const pcm = (counter: number) => Buffer.from(new Int16Array(SAMPLES_PER_FRAME).fill(counter).buffer).toString("base64")

/** An independent oracle for text frames: not JSON, not an object, or no string `type` is an error. */
const parseLevel = (text: string): "error" | "object" => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return "error"
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return "error"
  return typeof (json as { type?: unknown }).type === "string" ? "object" : "error"
}

/** The frames of one reply: the valid ones and the fuzz between them, in sending order. */
const script = (reply: number, seed: number) => {
  const rid = `resp_${reply}`
  const iid = `item_${reply}`
  const at = { response_id: rid, item_id: iid, output_index: 0, content_index: 0 }
  const base = reply * 1000
  const audio = Array.from({ length: AUDIO_FRAMES }, (_, i) => ({ type: "response.output_audio.delta", ...at, delta: pcm(base + i + 1) }))
  const words = Array.from({ length: AUDIO_FRAMES }, (_, i) => `w${reply}.${i} `)
  const transcript = words.map((delta) => ({ type: "response.output_audio_transcript.delta", ...at, delta }))
  const validTexts = [...audio, ...transcript].map((e) => JSON.stringify(e))

  // Character edits of a valid frame. One that still parses and names this response is left out:
  // it could be a valid frame (its audio would rightly play); what remains is garbage or off-target.
  const edit = fc.record({
    op: fc.constantFrom("flip", "insert", "delete"),
    pos: fc.nat(),
    ch: fc.string({ minLength: 1, maxLength: 1, unit: "binary" })
  })
  const mutated = fc.tuple(fc.constantFrom(...validTexts), fc.array(edit, { minLength: 1, maxLength: 3 })).map(([text, edits]) => {
    let out = text
    for (const { ch, op, pos } of edits) {
      const p = pos % (out.length + 1)
      out = op === "insert" ? out.slice(0, p) + ch + out.slice(p) : out.slice(0, p) + (op === "flip" ? ch : "") + out.slice(p + 1)
    }
    return out
  }).filter((text) => {
    try {
      const json = JSON.parse(text) as { response_id?: unknown } | null
      return typeof json !== "object" || json === null || json.response_id !== rid
    } catch {
      return true
    }
  }).map((text): Frame => ({ text, expect: parseLevel(text) === "error" ? "error" : "any" }))

  // A field of a valid audio delta given a value of another type: the schema must refuse it.
  const notString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 2 }))
  const notNumber = fc.oneof(fc.string({ maxLength: 20 }), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.object({ maxDepth: 2 }))
  const swapped = fc.tuple(fc.nat({ max: AUDIO_FRAMES - 1 }), fc.constantFrom("response_id", "item_id", "delta", "output_index", "content_index"), notString, notNumber)
    .map(([i, field, s, n]): Frame => ({
      text: JSON.stringify({ ...audio[i], [field]: field === "output_index" || field === "content_index" ? n : s }),
      expect: "error"
    }))

  // Well-formed audio for another response (dropped) or another item of this one (its own message).
  const wrongIds = fc.tuple(fc.nat({ max: 999 }), fc.boolean()).map(([n, otherResponse]): Frame => ({
    text: JSON.stringify({
      type: "response.output_audio.delta",
      ...at,
      ...(otherResponse ? { response_id: `resp_fuzz_${n}` } : { item_id: `item_fuzz_${n}` }),
      delta: pcm(FUZZ_MARK + n)
    }),
    expect: "ignored"
  }))

  const garbage = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300, unit: "binary" }), fc.json({ maxDepth: 3 }))
    .map((text): Frame => ({ text, expect: parseLevel(text) === "error" ? "error" : "any" }))
  const unknown = fc.tuple(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 2 })).map(([name, payload]): Frame => ({
    text: JSON.stringify({ type: `x-fuzz.${name}`, payload }),
    expect: "ignored"
  }))

  const sampled = fc.sample(fc.oneof(mutated, swapped, wrongIds, garbage, unknown), { seed, numRuns: FUZZ_FRAMES })

  const fixed: ReadonlyArray<Frame> = [
    // Deeply nested: as a whole frame, as an object chain, and in the `delta` of a valid-looking delta.
    { text: "[".repeat(DEPTH) + "]".repeat(DEPTH), expect: "error" },
    { text: "{\"a\":".repeat(DEPTH) + "1" + "}".repeat(DEPTH), expect: "error" },
    { text: JSON.stringify(audio[0]).replace(/"delta":"[^"]*"/, `"delta":${"[".repeat(DEPTH)}${"]".repeat(DEPTH)}`), expect: "error" },
    // 3 MB strings in wrong fields.
    { text: JSON.stringify({ ...audio[0], content_index: MEGA }), expect: "error" },
    { text: JSON.stringify({ type: MEGA }), expect: "ignored" },
    { text: JSON.stringify({ ...transcript[0], response_id: `resp_fuzz_${MEGA}`, delta: MEGA }), expect: "ignored" },
    // Prototype keys and objects that are no strings.
    { text: "{\"toString\":{}}", expect: "error" },
    { text: "{\"type\":{\"toString\":{}}}", expect: "error" },
    { text: JSON.stringify({ ...audio[0], delta: { toString: {} } }), expect: "error" },
    { text: `{"__proto__":${JSON.stringify(audio[0])}}`, expect: "error" },
    { text: JSON.stringify(audio[0]).replace(/"delta":"[^"]*"/, "\"__proto__\":{\"delta\":\"AAAA\",\"polluted\":true}"), expect: "error" },
    { text: "{\"type\":\"x-fuzz.proto\",\"constructor\":{\"prototype\":{\"polluted\":true}},\"__proto__\":{\"polluted\":true}}", expect: "ignored" }
  ]
  const fuzz = [...sampled]
  fixed.forEach((frame, i) => fuzz.splice(Math.floor(((i + 1) * fuzz.length) / (fixed.length + 1)), 0, frame))

  const body: Array<string> = []
  const perGap = Math.ceil(fuzz.length / AUDIO_FRAMES)
  for (let i = 0; i < AUDIO_FRAMES; i++) {
    body.push(validTexts[i]!, validTexts[AUDIO_FRAMES + i]!)
    for (const frame of fuzz.slice(i * perGap, (i + 1) * perGap)) body.push(frame.text)
  }
  const count = (e: Expect) => fuzz.filter((f) => f.expect === e).length
  return { rid, iid, base, body, words, errors: count("error"), maybe: count("any"), fuzzCount: fuzz.length }
}

type Script = ReturnType<typeof script>

/** The server's side of one reply: created, item, part, the fuzzed body, item done, response done. */
const play = async (ws: WebSocket, s: Script, clientEventId: unknown) => {
  const send = (event: unknown) => ws.send(JSON.stringify(event))
  send({ type: "response.created", response: { id: s.rid, object: "realtime.response", status: "in_progress", metadata: { client_event_id: clientEventId }, output: [] } })
  const item = { id: s.iid, object: "realtime.item", type: "message", status: "in_progress", role: "assistant", content: [] }
  send({ type: "response.output_item.added", response_id: s.rid, output_index: 0, item })
  send({ type: "response.content_part.added", response_id: s.rid, item_id: s.iid, output_index: 0, content_index: 0, part: { type: "audio", transcript: "" } })
  for (let i = 0; i < s.body.length; i++) {
    ws.send(s.body[i]!)
    // Let the socket flush now and then: the client sees both single frames and large batches.
    if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve))
  }
  const done = { ...item, status: "completed", content: [{ type: "output_audio", transcript: s.words.join("") }] }
  send({ type: "response.output_item.done", response_id: s.rid, output_index: 0, item: done })
  send({ type: "response.done", response: { id: s.rid, object: "realtime.response", status: "completed", output: [done] } })
}

/** A ws server on 127.0.0.1 that plays `scripts[n]` for the n-th `response.create`. */
const server = (scripts: ReadonlyArray<Script>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly wss: WebSocketServer; readonly handshakes: () => number }>((resume) => {
      let handshakes = 0
      let replies = 0
      const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 })
      wss.on("connection", (ws) => {
        handshakes++
        ws.on("error", () => {})
        ws.send(JSON.stringify({ type: "session.created", event_id: "ev_0", session: { id: "sess_fuzz" } }))
        ws.send(JSON.stringify({ type: "conversation.created", conversation: { id: "conv_fuzz", object: "realtime.conversation" } }))
        ws.on("message", (data) => {
          const event = JSON.parse(data.toString()) as { type?: string; response?: { metadata?: { client_event_id?: unknown } } }
          if (event.type !== "response.create") return
          const s = scripts[replies++]
          if (s !== undefined) void play(ws, s, event.response?.metadata?.client_event_id)
        })
      })
      wss.on("listening", () => {
        const port = (wss.address() as AddressInfo).port
        resume(Effect.succeed({ url: `ws://127.0.0.1:${port}`, wss, handshakes: () => handshakes }))
      })
    }),
    ({ wss }) =>
      Effect.async<void>((resume) => {
        for (const ws of wss.clients) ws.terminate()
        wss.close(() => resume(Effect.void))
      })
  )

describe("live fuzz over a loopback socket", () => {
  it.live("every valid delta arrives once and in order among fuzzed frames; errors are recoverable; the session goes on", () =>
    Effect.gen(function*() {
      const scripts = SEEDS.map((seed, i) => script(i + 1, seed))
      const fake = yield* server(scripts)
      const model = Xai.layer({ apiKey: Redacted.make("k"), baseUrl: fake.url, turnDetection: null })
      yield* Effect.gen(function*() {
        const session = yield* RealtimeSession.make()
        const events = yield* session.subscribeEvents
        const errors: Array<{ readonly tag: string; readonly recoverable: boolean }> = []
        const tags: Array<string> = []
        yield* events.pipe(
          Stream.runForEach((e) =>
            Effect.sync(() => {
              tags.push(e._tag)
              if (e._tag === "Error") errors.push({ tag: e.error._tag, recoverable: e.recoverable })
            })
          ),
          Effect.forkScoped
        )

        for (const s of scripts) {
          const reply = yield* session.generateReply()
          const messages = yield* reply.messages.pipe(
            Stream.mapEffect(
              (m) =>
                Effect.all({
                  id: Effect.succeed(m.messageId),
                  audio: Stream.runCollect(m.audio).pipe(Effect.map(Chunk.toReadonlyArray)),
                  text: Stream.runCollect(m.text).pipe(Effect.map((c) => Chunk.toReadonlyArray(c).map((d) => d.text).join("")))
                }, { concurrency: "unbounded" }),
              { concurrency: "unbounded" }
            ),
            Stream.runCollect,
            Effect.map(Chunk.toReadonlyArray)
          )
          const summary = yield* reply.done
          assert.strictEqual(summary.status, "completed")
          assert.strictEqual(summary.responseId, s.rid)

          const valid = messages.find((m) => m.id === s.iid)
          assert.isDefined(valid, `the assistant message ${s.iid} was delivered`)
          // Exactly once and in order, each frame intact (every sample carries the frame's counter).
          const expected = Array.from({ length: AUDIO_FRAMES }, (_, i) => s.base + i + 1)
          assert.deepStrictEqual(valid!.audio.map((f) => f.data[0]), expected)
          for (const frame of valid!.audio) {
            assert.strictEqual(frame.data.length, SAMPLES_PER_FRAME)
            assert.isTrue(frame.data.every((x) => x === frame.data[0]), `frame ${frame.data[0]} is intact`)
          }
          assert.strictEqual(valid!.text, s.words.join(""))
          // Other messages are the fuzz's wrong item ids: none of them carries a valid frame.
          for (const other of messages.filter((m) => m.id !== s.iid)) {
            assert.match(other.id, /^item_fuzz_\d+$/)
            for (const frame of other.audio) assert.isAtLeast(frame.data[0]!, FUZZ_MARK)
          }
        }

        // Every frame the oracle calls malformed was reported as a recoverable ProtocolError, and
        // nothing beyond the frames that may or may not decode.
        const minErrors = scripts.reduce((n, s) => n + s.errors, 0)
        const maxErrors = minErrors + scripts.reduce((n, s) => n + s.maybe, 0)
        const protocolErrors = () => errors.filter((e) => e.tag === "ProtocolError").length
        while (protocolErrors() < minErrors) yield* Effect.sleep("10 millis")
        assert.isAtLeast(protocolErrors(), minErrors)
        assert.isAtMost(protocolErrors(), maxErrors)
        assert.isTrue(errors.every((e) => e.recoverable && e.tag === "ProtocolError"), JSON.stringify(errors.filter((e) => !e.recoverable || e.tag !== "ProtocolError")))
        assert.notInclude(tags, "Closed")
        assert.notInclude(tags, "Disconnected")
        assert.strictEqual(fake.handshakes(), 1)
        assert.isUndefined(({} as Record<string, unknown>)["polluted"], "Object.prototype untouched")
      }).pipe(Effect.provide(Layer.mergeAll(model, NodeTransport.layer, Resampler.Resampler.layer)), Effect.scoped)
    }).pipe(Effect.scoped, Effect.timeout("20 seconds")), 30_000)
})
