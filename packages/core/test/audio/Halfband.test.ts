import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import * as Halfband from "../../src/internal/halfband.js"
import { Resampler } from "../../src/Resampler.js"
import { binAmplitude, concat, rms, sine } from "./signal.js"

/** Decimates `input` in blocks of the given sizes (cycled), then flushes. */
const decimate = (input: Int16Array, blocks: ReadonlyArray<number>, decimator = Halfband.make()): Int16Array => {
  const parts: Array<Int16Array> = []
  for (let i = 0, b = 0; i < input.length; b++) {
    const size = Math.max(1, blocks[b % blocks.length]!)
    parts.push(decimator.process(input.subarray(i, Math.min(input.length, i + size))))
    i += size
  }
  parts.push(decimator.flush())
  return concat(parts)
}

// The filter's group delay (CENTRE input samples) is compensated inside the decimator: output k is
// centred on input 2k. The start-up and tail transients span CENTRE / 2 output samples; skip far more.
const SKIP = 1200

describe("halfband decimator", () => {
  it("the taps form a half-band filter with unit DC gain", () => {
    assert.strictEqual(Halfband.CENTRE, 2 * Halfband.sideTaps.length - 1)
    let sum = 0.5
    for (const g of Halfband.sideTaps) sum += 2 * g
    assert.closeTo(sum, 1, 1e-12)
  })

  it("equals the direct 79-tap convolution of the zero-padded input, sampled at even inputs", () => {
    const input = new Int16Array(1001)
    for (let i = 0; i < input.length; i++) input[i] = ((i * 48271) % 65536) - 32768
    const out = decimate(input, [97])
    const C = Halfband.CENTRE
    const tap = (offset: number): number => {
      const a = Math.abs(offset)
      return a === 0 ? 0.5 : a % 2 === 0 ? 0 : Halfband.sideTaps[(a - 1) / 2]!
    }
    assert.strictEqual(out.length, 501)
    for (let k = 0; k < out.length; k++) {
      let acc = 0
      for (let j = -C; j <= C; j++) {
        const i = 2 * k + j
        if (i >= 0 && i < input.length) acc += tap(j) * input[i]!
      }
      const expected = Math.max(-32768, Math.min(32767, Math.round(acc)))
      assert.isAtMost(Math.abs(out[k]! - expected), 1, `sample ${k}`)
    }
  })

  it("a 1 kHz sine at 48 kHz keeps its frequency, SNR > 60 dB against the ideal 24 kHz sine", () => {
    const out = decimate(sine(1000, 48000, 48000), [480])
    assert.strictEqual(out.length, 24000)
    const ideal = sine(1000, 24000, 24000)
    let signal = 0
    let noise = 0
    for (let i = SKIP; i < 24000 - SKIP; i++) {
      signal += ideal[i]! ** 2
      noise += (out[i]! - ideal[i]!) ** 2
    }
    const snr = 10 * Math.log10(signal / Math.max(noise, 1e-9))
    assert.isAbove(snr, 60, `SNR ${snr.toFixed(1)} dB`)
    // and the measured SNR is close to the Int16 rounding floor: the filter adds next to nothing
    assert.isAbove(snr, 85, `SNR ${snr.toFixed(1)} dB`)
    const at1k = binAmplitude(out, 24000, 1000, SKIP, 24000 - SKIP)
    assert.isAbove(at1k, 0.499 * 32767)
    assert.isBelow(binAmplitude(out, 24000, 900, SKIP, 24000 - SKIP), at1k / 1000)
    assert.isBelow(binAmplitude(out, 24000, 1100, SKIP, 24000 - SKIP), at1k / 1000)
  })

  it("a 15 kHz tone at 48 kHz is attenuated by at least 60 dB (no alias at 9 kHz)", () => {
    const input = sine(15000, 48000, 48000)
    const out = decimate(input, [480])
    const attenuation = 20 * Math.log10(rms(out, SKIP, 24000 - SKIP) / rms(input, 2 * SKIP, 48000 - 2 * SKIP))
    assert.isBelow(attenuation, -60, `attenuation ${attenuation.toFixed(1)} dB`)
    // at the alias frequency specifically
    const alias = binAmplitude(out, 24000, 9000, SKIP, 24000 - SKIP)
    assert.isBelow(20 * Math.log10(alias / (0.5 * 32767)), -60)
  })

  it("a 10 kHz tone passes within 0.5 dB", () => {
    const input = sine(10000, 48000, 48000)
    const out = decimate(input, [480])
    const gain = 20 * Math.log10(rms(out, SKIP, 24000 - SKIP) / rms(input, 2 * SKIP, 48000 - 2 * SKIP))
    assert.isBelow(Math.abs(gain), 0.5, `gain ${gain.toFixed(3)} dB`)
    const at10k = binAmplitude(out, 24000, 10000, SKIP, 24000 - SKIP)
    assert.closeTo(at10k / (0.5 * 32767), 1, 0.06)
  })

  it("streaming in random frame sizes equals one shot exactly (property)", () => {
    const input = new Int16Array(3001)
    for (let i = 0; i < input.length; i++) {
      input[i] = Math.round(12000 * Math.sin(i / 7) + 9000 * Math.sin(i * 1.3) + (((i * 7919) % 2001) - 1000))
    }
    const oneShot = decimate(input, [input.length])
    assert.strictEqual(oneShot.length, 1501)
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), (blocks) => {
        const streamed = decimate(input, blocks)
        assert.deepStrictEqual(streamed, oneShot)
      }),
      { numRuns: 60 }
    )
  })

  it("output length after flush is exactly round(totalIn / 2), for any length and split (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 400 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }),
        (length, blocks) => {
          const out = decimate(sine(440, 48000, length), blocks)
          assert.strictEqual(out.length, Math.round(length / 2))
        }
      )
    )
  })

  it("flush resets: the same input after a flush gives the same output", () => {
    const decimator = Halfband.make()
    const input = sine(1000, 48000, 961)
    const first = decimate(input, [100], decimator)
    const second = decimate(input, [37, 480], decimator)
    assert.deepStrictEqual(second, first)
    assert.strictEqual(decimator.flush().length, 0)
  })

  it("silence in gives silence out", () => {
    const out = decimate(new Int16Array(4801), [480])
    assert.strictEqual(out.length, 2401)
    assert.isTrue(out.every((v) => v === 0))
  })

  it("a full-scale square wave never overflows (Gibbs overshoot is clamped, not wrapped)", () => {
    const input = new Int16Array(48000)
    for (let i = 0; i < input.length; i++) input[i] = Math.floor(i / 40) % 2 === 0 ? 32767 : -32768
    const out = decimate(input, [480])
    // a wrapped overflow would flip sign in the middle of a half period; clamped, every plateau keeps it
    for (let k = 0; k < out.length; k++) {
      const phase = (2 * k) % 80
      if (phase >= 10 && phase < 30) assert.isAbove(out[k]!, 30000, `sample ${k}`)
      if (phase >= 50 && phase < 70) assert.isBelow(out[k]!, -30000, `sample ${k}`)
    }
    assert.strictEqual(Math.max(...out), 32767)
    assert.strictEqual(Math.min(...out), -32768)
  })
})

describe("Resampler layers use the decimator for exact 2:1", () => {
  const viaLayer = (quality: "fastest" | "medium" | "best") =>
    Effect.gen(function*() {
      const service = yield* Resampler
      const stream = yield* service.make(48000, 24000)
      const input = sine(1000, 48000, 4800)
      return concat([stream.process(input.subarray(0, 2000)), stream.process(input.subarray(2000)), stream.flush()])
    }).pipe(Effect.scoped, Effect.provide(Resampler.layerQuality(quality)))

  it.effect("fastest and medium give exactly the half-band output; best uses libsamplerate", () =>
    Effect.gen(function*() {
      const expected = decimate(sine(1000, 48000, 4800), [4800])
      assert.deepStrictEqual(yield* viaLayer("fastest"), expected)
      assert.deepStrictEqual(yield* viaLayer("medium"), expected)
      const best = yield* viaLayer("best")
      assert.strictEqual(best.length, expected.length)
      assert.notDeepEqual(best, expected)
    }))
})

describe("halfband decimator: long blocks", () => {
  it("a minute in one block: the same samples as 10 ms blocks, in working memory bounded by the write size", () => {
    for (const simd of [true, false]) {
      const frames = 48000 * 60
      const stereo = Int16Array.from({ length: 2 * frames }, (_, i) => ((i * 48271) % 60000) - 30000)
      const once = Halfband.make({ simd })
      const whole = concat([once.processInterleaved(stereo, 2), once.flush()])
      assert.isAtMost(once.capacity(), 16384, "the streams did not grow to the block's size")
      const blocks = Halfband.make({ simd })
      const parts: Array<Int16Array> = []
      for (let f = 0; f < frames; f += 480) parts.push(blocks.processInterleaved(stereo.subarray(2 * f, 2 * (f + 480)), 2))
      parts.push(blocks.flush())
      assert.strictEqual(whole.length, frames / 2)
      assert.deepStrictEqual(whole, concat(parts))
    }
  })
})
