import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Audio from "../src/internal/fakeAudio.js"
import * as Vad from "../src/internal/fakeVad.js"
import { mergeSession, placeholderArguments, words } from "../src/internal/fakeConnection.js"

describe("fake server audio", () => {
  it("PCM16 base64 round-trips, with an odd byte carried to the next chunk", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 300 }), fc.nat({ max: 600 }), (values, cutAt) => {
        const samples = Int16Array.from(values)
        const bytes = Buffer.from(samples.buffer)
        const cut = Math.min(cutAt, bytes.length)
        const a = Audio.decodePcm16(bytes.subarray(0, cut).toString("base64"))
        const b = Audio.decodePcm16(bytes.subarray(cut).toString("base64"), a.carry)
        assert.deepStrictEqual([...a.samples, ...b.samples], values)
        assert.strictEqual(b.carry, undefined)
        assert.deepStrictEqual([...Audio.decodePcm16(Audio.encodePcm16(samples)).samples], values)
      })
    )
  })

  it("PcmBuffer.slice equals slicing the concatenation, after any drops", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: -100, max: 100 }), { maxLength: 20 }), { maxLength: 10 }),
        fc.nat({ max: 250 }),
        fc.nat({ max: 250 }),
        fc.nat({ max: 250 }),
        (chunks, drop, from, to) => {
          const buffer = new Audio.PcmBuffer()
          const all: Array<number> = []
          for (const c of chunks) {
            buffer.append(Int16Array.from(c))
            all.push(...c)
          }
          buffer.dropBefore(drop)
          const start = Math.min(drop, all.length)
          assert.strictEqual(buffer.length, all.length - start)
          const expected = all.slice(Math.max(from, start), Math.max(Math.max(from, start), Math.min(to, all.length)))
          assert.deepStrictEqual([...buffer.slice(from, to)], expected)
        }
      )
    )
  })

  it("rmsDbfs: a full-scale sine is -3 dBFS, silence is -Infinity", () => {
    const sine = Int16Array.from({ length: 2400 }, (_, i) => Math.round(32767 * Math.sin((2 * Math.PI * 100 * i) / 24000)))
    assert.closeTo(Audio.rmsDbfs(sine), -3.01, 0.05)
    assert.strictEqual(Audio.rmsDbfs(new Int16Array(240)), -Infinity)
  })

  it("the memoized voice equals the synthesized one for any length, in any order of requests", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 30_000 }), { minLength: 1, maxLength: 4 }), (counts) => {
        for (const n of counts) assert.deepStrictEqual(Audio.voice(n), Audio.synthesize(0, n))
      }),
      { numRuns: 20 }
    )
  })

  it("the synthesized voice is deterministic, chunk-independent, voiced and has pauses", () => {
    const whole = Audio.synthesize(0, 48000)
    const parts = [Audio.synthesize(0, 10000), Audio.synthesize(10000, 38000)]
    assert.deepStrictEqual([...parts[0]!, ...parts[1]!], [...whole])
    const levels = Array.from({ length: 200 }, (_, i) => Audio.rmsDbfs(whole, i * 240, (i + 1) * 240))
    // loud enough for a default VAD (-40 dBFS) most of the time, and silent in the syllable gaps
    assert.isAbove(levels.filter((l) => l > -40).length, 100)
    assert.isAbove(levels.filter((l) => l < -60).length, 5)
    assert.isBelow(Math.max(...levels), 0)
  })
})

describe("fake server VAD", () => {
  const config = { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 200 }

  it("maps threshold to dBFS as -60 + 40 * threshold", () => {
    assert.strictEqual(Vad.thresholdDbfs(0.5), -40)
    assert.strictEqual(Vad.thresholdDbfs(0), -60)
    assert.strictEqual(Vad.thresholdDbfs(1), -20)
  })

  it("any loud/quiet frame pattern gives alternating start/stop events with consistent times", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 200 }), fc.nat({ max: 500 }), fc.nat({ max: 500 }), (frames, pad, silence) => {
        const c = { threshold: 0.5, prefixPaddingMs: pad, silenceDurationMs: silence }
        let state = Vad.initial
        const events: Array<Vad.VadEvent> = []
        frames.forEach((loud, i) => {
          const [next, ev] = Vad.step(c, state, i * 10, loud ? -10 : -80)
          state = next
          if (ev) events.push(ev)
        })
        events.forEach((e, i) => assert.strictEqual(e._tag, i % 2 === 0 ? "SpeechStarted" : "SpeechStopped"))
        for (let i = 0; i + 1 < events.length; i += 2) {
          const start = events[i] as Extract<Vad.VadEvent, { _tag: "SpeechStarted" }>
          const stop = events[i + 1] as Extract<Vad.VadEvent, { _tag: "SpeechStopped" }>
          assert.strictEqual(start.audioStartMs, Math.max(0, start.speechStartMs - pad))
          assert.isAtLeast(stop.audioEndMs - start.speechStartMs, Math.max(silence, 10))
        }
        if (!frames.includes(true)) assert.strictEqual(events.length, 0)
      })
    )
  })

  it("stops exactly silence_duration_ms after the last loud frame", () => {
    let state = Vad.initial
    const out: Array<Vad.VadEvent> = []
    for (let i = 0; i < 100; i++) {
      const [next, ev] = Vad.step(config, state, i * 10, i >= 50 && i < 60 ? -20 : -90)
      state = next
      if (ev) out.push(ev)
    }
    assert.deepStrictEqual(out, [
      { _tag: "SpeechStarted", audioStartMs: 200, speechStartMs: 500 },
      { _tag: "SpeechStopped", audioEndMs: 800 }
    ])
  })
})

describe("fake server helpers", () => {
  it("mergeSession deep-merges, moves GA nested voice/turn_detection to the top and fills VAD defaults", () => {
    const base = { voice: "ara", audio: { input: { format: { type: "audio/pcm", rate: 24000 } } }, turn_detection: null }
    const merged = mergeSession(base, {
      model: "x",
      modalities: ["text"],
      audio: { input: { turn_detection: { type: "server_vad", silence_duration_ms: 500 } }, output: { voice: "leo" } }
    })
    assert.deepStrictEqual(merged, {
      voice: "leo",
      output_modalities: ["text"],
      audio: { input: { format: { type: "audio/pcm", rate: 24000 } }, output: {} },
      turn_detection: {
        type: "server_vad",
        threshold: 0.5,
        prefix_padding_ms: 300,
        silence_duration_ms: 500,
        create_response: true,
        interrupt_response: true
      }
    })
  })

  it("placeholderArguments follows the schema's required properties and types", () => {
    assert.deepStrictEqual(
      placeholderArguments({
        type: "object",
        properties: { a: { type: "string" }, b: { type: "integer" }, c: { type: "boolean" }, d: { enum: ["x", "y"] }, e: { type: "string" } },
        required: ["a", "b", "c", "d"]
      }),
      { a: "fake", b: 1, c: true, d: "x" }
    )
    assert.deepStrictEqual(placeholderArguments(undefined), {})
  })

  it("words keeps the text when joined", () => {
    fc.assert(fc.property(fc.string(), (s) => assert.strictEqual(words(s).join(""), s)))
  })
})
