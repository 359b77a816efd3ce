import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as fc from "fast-check"
import { Resampler } from "../../src/Resampler.js"
import { binAmplitude, concat, rms, sine, snrDb } from "./signal.js"

/** Resamples `input` fed in blocks of the given sizes (cycled), then flushes. */
const resample = (inputRate: number, outputRate: number, input: Int16Array, blocks: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const service = yield* Resampler
    const stream = yield* service.make(inputRate, outputRate)
    const parts: Array<Int16Array> = []
    for (let i = 0, b = 0; i < input.length; b++) {
      const size = Math.max(1, blocks[b % blocks.length]!)
      parts.push(stream.process(input.subarray(i, Math.min(input.length, i + size))))
      i += size
    }
    parts.push(stream.flush())
    return concat(parts)
  }).pipe(Effect.scoped)

const layers: ReadonlyArray<readonly [string, Layer.Layer<Resampler>, number, number, number]> = [
  // name, layer, minimum SNR (dB): 48 -> 24 kHz at 1 kHz, other rates at 440 Hz, other rates at 1 kHz
  // (linear interpolation upsampling from 8 kHz is bounded near 39 dB at 440 Hz, 25 dB at 1 kHz)
  ["libsamplerate", Resampler.layer, 60, 60, 60],
  ["fallback (sinc + linear)", Resampler.layerLinear, 60, 30, 20]
]

for (const [name, layer, minSnr, minSnrRates, minSnr1k] of layers) {
  describe(`Resampler: ${name}`, () => {
    it.effect("48 -> 24 kHz keeps a 1 kHz sine (DFT peak at 1 kHz, SNR vs the ideal 24 kHz sine)", () =>
      Effect.gen(function*() {
        const out = yield* resample(48000, 24000, sine(1000, 48000, 48000), [480])
        const ideal = sine(1000, 24000, 24000)
        assert.strictEqual(out.length, 24000)
        // skip the filter's start-up and tail (50 ms each)
        const snr = snrDb(out, ideal, 1200, 22800)
        assert.isAbove(snr, minSnr, `SNR ${snr.toFixed(1)} dB`)
        const at1k = binAmplitude(out, 24000, 1000, 1200, 22800)
        const at900 = binAmplitude(out, 24000, 900, 1200, 22800)
        const at1100 = binAmplitude(out, 24000, 1100, 1200, 22800)
        assert.isAbove(at1k, 0.49 * 32767)
        assert.isBelow(at900, at1k / 1000)
        assert.isBelow(at1100, at1k / 1000)
      }).pipe(Effect.provide(layer)))

    it.effect("a 15 kHz tone at 48 kHz is attenuated by at least 60 dB (no aliasing to 9 kHz)", () =>
      Effect.gen(function*() {
        const input = sine(15000, 48000, 48000)
        const out = yield* resample(48000, 24000, input, [480])
        const attenuation = 20 * Math.log10(rms(out, 1200, 22800) / rms(input, 2400, 45600))
        assert.isBelow(attenuation, -60, `attenuation ${attenuation.toFixed(1)} dB`)
      }).pipe(Effect.provide(layer)))

    for (const rate of [8000, 16000, 22050, 44100]) {
      it.effect(`${rate} Hz -> 24 kHz: exact length after flush; many small frames equal one shot`, () =>
        Effect.gen(function*() {
          const input = sine(440, rate, Math.round(rate * 0.73))
          const expected = Math.round((input.length * 24000) / rate)
          const oneShot = yield* resample(rate, 24000, input, [input.length])
          const streamed = yield* resample(rate, 24000, input, [1, 7, 80, 3, 441, 160, 2, 999])
          assert.strictEqual(oneShot.length, expected)
          assert.strictEqual(streamed.length, expected)
          let maxDiff = 0
          for (let i = 0; i < expected; i++) maxDiff = Math.max(maxDiff, Math.abs(oneShot[i]! - streamed[i]!))
          assert.isAtMost(maxDiff, 2)
          // and it is the same tone: SNR against the ideal sine at 24 kHz, start-up skipped
          const ideal = sine(440, 24000, expected)
          const skip = 1200
          const snr = snrDb(streamed, ideal, skip, expected - skip)
          assert.isAbove(snr, minSnrRates, `SNR ${snr.toFixed(1)} dB`)
        }).pipe(Effect.provide(layer)))
    }

    it.effect("streaming equals one shot for random frame sizes (property)", () =>
      Effect.gen(function*() {
        const input = sine(700, 16000, 4000)
        const oneShot = yield* resample(16000, 24000, input, [input.length])
        const sizes = fc.sample(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), 15)
        for (const blocks of sizes) {
          const streamed = yield* resample(16000, 24000, input, blocks)
          assert.strictEqual(streamed.length, oneShot.length)
          for (let i = 0; i < streamed.length; i++) {
            assert.isAtMost(Math.abs(streamed[i]! - oneShot[i]!), 2, `sample ${i} with blocks ${blocks}`)
          }
        }
      }).pipe(Effect.provide(layer)))

    it.effect("converters released to the layer are reused correctly for other rates", () =>
      Effect.gen(function*() {
        for (const rate of [48000, 8000, 44100, 16000, 48000]) {
          const input = sine(1000, rate, rate / 2)
          const out = yield* resample(rate, 24000, input, [rate / 100])
          assert.strictEqual(out.length, 12000)
          const snr = snrDb(out, sine(1000, 24000, 12000), 1200, 10800)
          assert.isAbove(snr, minSnr1k, `${rate} Hz: SNR ${snr.toFixed(1)} dB`)
        }
      }).pipe(Effect.provide(layer)))

    it.effect("same rate in and out is pass-through without a copy; flush resets the state", () =>
      Effect.gen(function*() {
        const service = yield* Resampler
        const same = yield* service.make(24000, 24000)
        const block = sine(1000, 24000, 240)
        assert.strictEqual(same.process(block), block)
        assert.strictEqual(same.flush().length, 0)
        const down = yield* service.make(48000, 24000)
        const input = sine(1000, 48000, 960)
        const first = concat([down.process(input), down.flush()])
        const second = concat([down.process(input), down.flush()])
        assert.deepStrictEqual(second, first)
      }).pipe(Effect.scoped, Effect.provide(layer)))
  })
}
