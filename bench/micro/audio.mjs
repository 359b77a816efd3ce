// The outbound audio hot path: 48 kHz stereo in 10 ms frames through AudioInput (mix to mono,
// resample to 24 kHz, cut 100 ms chunks) and base64 of every chunk, against bare Buffer base64 of
// the same input bytes in the same run. Prints both times, the ratio and the x-realtime factor.
// The default layer's decimator mixes and filters in WebAssembly SIMD where the host runs it and
// writes straight into the chunks; the other cases hide parts of that to show what each is worth.
import * as AudioFrame from "@realtime-fx/core/AudioFrame"
import * as AudioInput from "@realtime-fx/core/AudioInput"
import * as Resampler from "@realtime-fx/core/Resampler"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Protocol from "@realtime-fx/core/Protocol"
import * as Schema from "effect/Schema"

const RATE = 48000
const CHANNELS = 2
const FRAME = RATE / 100 // 10 ms

const makeFrames = (seconds) => {
  const frames = []
  let phase = 0
  let seed = 12345
  for (let f = 0; f < seconds * 100; f++) {
    const data = new Int16Array(FRAME * CHANNELS)
    for (let i = 0; i < FRAME; i++, phase++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      const noise = (seed / 0x7fffffff - 0.5) * 2000
      const v = 12000 * Math.sin((2 * Math.PI * 440 * phase) / RATE) + noise
      data[2 * i] = v
      data[2 * i + 1] = v * 0.8
    }
    frames.push(AudioFrame.unsafeMake(data, RATE, CHANNELS))
  }
  return frames
}

/** AudioInput + base64: returns [ms, chunks, base64 chars]. */
const pipeline = (frames, layer) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const input = yield* AudioInput.make
      let chunks = 0
      let chars = 0
      const t0 = performance.now()
      for (const frame of frames) {
        const out = yield* input.push(frame)
        for (const chunk of out) {
          chars += AudioFrame.encodeBase64(chunk).length
          chunks++
        }
      }
      const rest = yield* input.flush
      if (rest !== undefined) {
        chars += AudioFrame.encodeBase64(rest).length
        chunks++
      }
      return [performance.now() - t0, chunks, chars]
    }).pipe(Effect.scoped, Effect.provide(layer))
  )

/** Baseline: Buffer base64 of each input frame's bytes (same byte count as the input). */
const baseline = (frames) => {
  let chars = 0
  const t0 = performance.now()
  for (const frame of frames) {
    const d = frame.data
    chars += Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("base64").length
  }
  return [performance.now() - t0, chars]
}

/**
 * The default layer with the interleaved path hidden (and so the decimator's pull interface):
 * AudioInput then mixes to mono first (a fresh mono array per frame), filters that into a fresh
 * output array and copies it into the chunk (the path before the fused one).
 */
/**
 * The default layer with only the decimator's pull interface hidden: the fused mix and filter, each
 * frame's output in a fresh array that the chunker copies.
 */
const copying = Layer.effect(
  Resampler.Resampler,
  Effect.map(Resampler.Resampler, (service) => ({
    make: (inputRate, outputRate) =>
      Effect.map(service.make(inputRate, outputRate), (r) => ({
        process: r.process,
        processInterleaved: r.processInterleaved,
        flush: r.flush
      }))
  }))
).pipe(Layer.provide(Resampler.layer))

const separateMix = Layer.effect(
  Resampler.Resampler,
  Effect.map(Resampler.Resampler, (service) => ({
    make: (inputRate, outputRate) =>
      Effect.map(service.make(inputRate, outputRate), (r) => ({ process: r.process, flush: r.flush }))
  }))
).pipe(Layer.provide(Resampler.layer))

/**
 * 600 appends' JSON text from their samples, base64 included: `AudioFrame.encodeBase64` then the
 * Schema encoder + JSON.stringify, or then `Protocol.encodeAppend`; or `Protocol.encodeAppendPcm`
 * (the session's path). Each text's UTF-8 length is taken as a socket write would (`Buffer.byteLength`
 * flattens a concatenated string: that copy is counted too).
 */
const appendTexts = (chunks) => {
  const encode = Schema.encodeSync(Protocol.InputAudioBufferAppend)
  let a = 0
  let b = 0
  let c = 0
  const t0 = performance.now()
  for (const pcm of chunks) {
    a += Buffer.byteLength(JSON.stringify(encode({ type: "input_audio_buffer.append", audio: AudioFrame.encodeBase64(pcm) })))
  }
  const t1 = performance.now()
  for (const pcm of chunks) b += Buffer.byteLength(Protocol.encodeAppend(AudioFrame.encodeBase64(pcm)))
  const t2 = performance.now()
  for (const pcm of chunks) c += Buffer.byteLength(Protocol.encodeAppendPcm(pcm))
  const t3 = performance.now()
  if (a !== b || a !== c) throw new Error("append texts differ")
  return [t1 - t0, t2 - t1, t3 - t2]
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

export async function run({ smoke }) {
  const seconds = smoke ? 10 : 60
  const repeats = smoke ? 1 : 3
  const frames = makeFrames(seconds)
  // warm-up (JIT, converter loading)
  await pipeline(frames.slice(0, 300), Resampler.layer)
  await pipeline(frames.slice(0, 300), Resampler.layerLinear)
  baseline(frames.slice(0, 300))

  const rows = []
  const base = []
  for (let r = 0; r < repeats; r++) base.push(baseline(frames)[0])
  const baseMs = median(base)
  rows.push({ case: "bare Buffer base64 of input bytes", ms: baseMs, chunks: "-" })
  // repeats outermost, cases in rotating order: no case always runs first or on a warmer JIT
  const cases = [
    ["AudioInput (default layer: fused mix + half-band, read into the chunks) + base64", Resampler.layer],
    ["AudioInput (fused mix + half-band, output arrays copied into the chunks) + base64", copying],
    ["AudioInput (half-band after a separate mono mix) + base64", separateMix],
    ["AudioInput (linear fallback) + base64", Resampler.layerLinear]
  ]
  for (const [, layer] of cases) await pipeline(frames.slice(0, 600), layer)
  const times = cases.map(() => [])
  const counts = cases.map(() => 0)
  for (let r = 0; r < repeats * 2 + 1; r++) {
    for (let c = 0; c < cases.length; c++) {
      const k = (c + r) % cases.length
      const [ms, n] = await pipeline(frames, cases[k][1])
      times[k].push(ms)
      counts[k] = n
    }
  }
  cases.forEach(([name], k) => rows.push({ case: name, ms: median(times[k]), chunks: counts[k] }))
  const chunks = Array.from({ length: 600 }, (_, i) => frames[i % frames.length].data.slice(0, 2400))
  for (let w = 0; w < 3; w++) appendTexts(chunks)
  const enc = Array.from({ length: repeats * 3 }, () => appendTexts(chunks))
  const schemaMs = median(enc.map((x) => x[0]))
  const fastMs = median(enc.map((x) => x[1]))
  const pcmMs = median(enc.map((x) => x[2]))
  console.log(`${seconds} s of 48 kHz stereo, 10 ms frames (${frames.length} frames), median of ${repeats * 2 + 1} interleaved rounds`)
  console.table(rows.map((row) => ({
    case: row.case,
    "time (ms)": row.ms.toFixed(1),
    "ratio vs baseline": (row.ms / baseMs).toFixed(2),
    "x realtime": ((seconds * 1000) / row.ms).toFixed(0),
    "chunks": row.chunks
  })))
  console.log(
    `600 appends' JSON text from 100 ms of samples each, base64 included: Schema encode + JSON.stringify ` +
      `${schemaMs.toFixed(2)} ms, Protocol.encodeAppend ${fastMs.toFixed(2)} ms (${(schemaMs / fastMs).toFixed(1)}x faster), ` +
      `Protocol.encodeAppendPcm ${pcmMs.toFixed(2)} ms (${(schemaMs / pcmMs).toFixed(1)}x faster)`
  )
}
