import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { AudioDeviceError } from "../src/AudioDeviceError.js"
import { FrameChunker, frameSamples } from "../src/internal/chunker.js"
import * as DeviceErrors from "../src/internal/deviceErrors.js"
import { framesToMs, JitterBuffer } from "../src/internal/jitter.js"
import * as Worklets from "../src/internal/worklets.js"

// The audio logic that runs in the worklets, tested without a browser: the classes themselves, and
// the worklet sources evaluated against a stand-in for the AudioWorkletGlobalScope.

const tone = (n: number, value = 0.5) => new Float32Array(n).fill(value)

describe("FrameChunker", () => {
  it("frame sizes: 10-20 ms at common rates", () => {
    assert.strictEqual(frameSamples(48000, 20), 960)
    assert.strictEqual(frameSamples(44100, 10), 441)
    assert.strictEqual(frameSamples(24000, 20), 480)
  })

  it("cuts 128-sample quanta into whole frames, losing and inventing nothing", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 60 }), (size, blocks) => {
      const chunker = new FrameChunker(size)
      let out = 0
      let counter = 0
      const seen: Array<number> = []
      for (let b = 0; b < blocks; b++) {
        const block = new Float32Array(128)
        for (let i = 0; i < 128; i++) block[i] = ((counter++ % 100) - 50) / 32768
        for (const frame of chunker.push([block])) {
          assert.strictEqual(frame.length, size)
          out += frame.length
          seen.push(...frame)
        }
      }
      assert.strictEqual(out + chunker.pending, blocks * 128)
      seen.forEach((v, i) => assert.strictEqual(v, (i % 100) - 50))
    }))
  })

  it("mixes channels down to their mean and clamps to PCM16", () => {
    const chunker = new FrameChunker(4)
    const [frame] = chunker.push([new Float32Array([1, -1, 0.5, 2]), new Float32Array([1, -1, -0.5, 2])])
    assert.deepStrictEqual(Array.from(frame!), [32767, -32768, 0, 32767])
    assert.throws(() => new FrameChunker(0))
  })
})

describe("JitterBuffer", () => {
  const pcm = (n: number, v = 16384) => new Int16Array(n).fill(v)

  it("holds playback until the threshold is buffered, then plays and counts", () => {
    const jitter = new JitterBuffer(300)
    const out = new Float32Array(128)
    jitter.push(pcm(200))
    assert.strictEqual(jitter.render(out), 0)
    assert.strictEqual(out[0], 0)
    jitter.push(pcm(200))
    assert.strictEqual(jitter.render(out), 128)
    assert.strictEqual(out[127], 0.5)
    assert.closeTo(jitter.lastRms, 0.5, 1e-9)
    assert.strictEqual(jitter.played, 128)
    assert.strictEqual(jitter.buffered, 272)
  })

  it("plays out an ended stream below the threshold, then is drained", () => {
    const jitter = new JitterBuffer(1000)
    const out = new Float32Array(128)
    jitter.push(pcm(100))
    assert.strictEqual(jitter.render(out), 0)
    jitter.end()
    assert.strictEqual(jitter.render(out), 100)
    assert.strictEqual(out[100], 0, "the rest of the block is silence")
    assert.isTrue(jitter.drained)
    assert.strictEqual(jitter.underruns, 0)
  })

  it("an underrun goes back to priming and is counted", () => {
    const jitter = new JitterBuffer(128)
    const out = new Float32Array(128)
    jitter.push(pcm(200))
    jitter.render(out)
    assert.strictEqual(jitter.render(out), 72)
    assert.strictEqual(jitter.underruns, 1)
    jitter.push(pcm(64))
    assert.strictEqual(jitter.render(out), 0, "priming again")
  })

  it("clear drops everything at once and reports what was played", () => {
    const jitter = new JitterBuffer(0)
    const out = new Float32Array(128)
    jitter.push(pcm(24000))
    for (let i = 0; i < 10; i++) jitter.render(out)
    assert.strictEqual(jitter.clear(), 1280)
    assert.strictEqual(jitter.render(out), 0)
    assert.strictEqual(jitter.played, 0)
    assert.strictEqual(jitter.buffered, 0)
  })

  it("played frames equal pushed frames once drained, whatever the chunking", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 700 }), { maxLength: 30 }), fc.integer({ min: 0, max: 2000 }), (sizes, start) => {
      const jitter = new JitterBuffer(start)
      const out = new Float32Array(128)
      for (const n of sizes) {
        jitter.push(pcm(n))
        jitter.render(out)
      }
      jitter.end()
      let guard = 0
      while (!jitter.drained && guard++ < 1000) jitter.render(out)
      assert.strictEqual(jitter.played, sizes.reduce((a, b) => a + b, 0))
    }))
  })

  it("converts frames to ms", () => {
    assert.strictEqual(framesToMs(24000, 24000), 1000)
    assert.strictEqual(framesToMs(128, 24000), 5)
    assert.strictEqual(framesToMs(0, 48000), 0)
  })
})

/** Runs a worklet source against a minimal AudioWorkletGlobalScope; returns the registered class. */
const loadWorklet = (source: string) => {
  const registered = new Map<string, new(options: unknown) => FakeProcessor>()
  class AudioWorkletProcessor {
    readonly posted: Array<unknown> = []
    readonly port = {
      onmessage: null as ((event: { data: unknown }) => void) | null,
      postMessage: (message: unknown) => void this.posted.push(message)
    }
  }
  new Function("AudioWorkletProcessor", "registerProcessor", source)(
    AudioWorkletProcessor,
    (name: string, ctor: new(options: unknown) => FakeProcessor) => registered.set(name, ctor)
  )
  return registered
}

interface FakeProcessor {
  readonly posted: Array<unknown>
  readonly port: { onmessage: ((event: { data: unknown }) => void) | null }
  process(inputs: Array<Array<Float32Array>>, outputs?: Array<Array<Float32Array>>): boolean
}

describe("worklet sources", () => {
  it("the capture processor posts whole PCM16 frames and stops on request", () => {
    const Processor = loadWorklet(Worklets.captureSource).get(Worklets.captureProcessorName)!
    const p = new Processor({ processorOptions: { frameSamples: 480 } })
    for (let i = 0; i < 8; i++) assert.isTrue(p.process([[tone(128, 0.25)]]))
    assert.strictEqual(p.posted.length, 2)
    assert.strictEqual((p.posted[0] as Int16Array).length, 480)
    assert.strictEqual((p.posted[0] as Int16Array)[0], 8192)
    p.port.onmessage!({ data: "stop" })
    assert.isFalse(p.process([[tone(128)]]))
  })

  it("the playback processor plays, reports progress and drains; an interrupt answers with the count", () => {
    const Processor = loadWorklet(Worklets.playbackSource).get(Worklets.playbackProcessorName)!
    const p = new Processor({ processorOptions: { startFrames: 240, reportFrames: 480 } })
    const out = [[new Float32Array(128)]]
    p.port.onmessage!({ data: { type: "pcm", samples: new Int16Array(2400).fill(8192), seq: 1 } })
    for (let i = 0; i < 5; i++) p.process([], out)
    assert.strictEqual(out[0]![0]![0], 0.25)
    const progress = p.posted.find((m) => (m as { type: string }).type === "progress") as { played: number; rms: number }
    assert.strictEqual(progress.played, 512)
    assert.closeTo(progress.rms, 0.25, 1e-9)
    p.port.onmessage!({ data: { type: "interrupt", id: 7 } })
    assert.deepStrictEqual(p.posted.at(-1), { type: "interrupted", id: 7, played: 640 })
    p.process([], out)
    assert.strictEqual(out[0]![0]![0], 0, "silence right after the interrupt")

    p.port.onmessage!({ data: { type: "pcm", samples: new Int16Array(100).fill(100), seq: 2 } })
    p.port.onmessage!({ data: { type: "end" } })
    p.process([], out)
    assert.deepStrictEqual(p.posted.at(-1), { type: "drained", played: 100, seq: 2 })
  })
})

describe("device errors", () => {
  const dom = (name: string) => Object.assign(new Error(name), { name })

  it("maps getUserMedia failures to typed reasons", () => {
    const reason = (name: string) => DeviceErrors.fromGetUserMedia(dom(name)).reason
    assert.strictEqual(reason("NotAllowedError"), "PermissionDenied")
    assert.strictEqual(reason("NotFoundError"), "NoDevice")
    assert.strictEqual(reason("OverconstrainedError"), "NoDevice")
    assert.strictEqual(reason("NotReadableError"), "Unavailable")
    assert.strictEqual(DeviceErrors.fromGetUserMedia("weird").reason, "Unavailable")
    assert.instanceOf(DeviceErrors.suspended("speaker"), AudioDeviceError)
    assert.match(DeviceErrors.suspended("microphone").message, /user gesture/)
  })
})
