// The outbound audio path: the fused mono mix + half-band pass, the filter's tail at commit, and the
// module-level Resampler layers.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fc from "fast-check"
import * as AudioFrame from "../../src/AudioFrame.js"
import * as AudioInput from "../../src/AudioInput.js"
import * as Halfband from "../../src/internal/halfband.js"
import * as Resampler from "../../src/Resampler.js"
import { concat } from "./signal.js"

const pcm = (channels: number) =>
  fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 400 }).map((xs) =>
    Int16Array.from(xs.slice(0, xs.length - (xs.length % channels)))
  )

describe("half-band decimator: interleaved input", () => {
  it("processInterleaved equals process(mixToMono(block)) for any channel count and block sizes, flush included", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((channels) =>
          fc.tuple(fc.constant(channels), fc.array(pcm(channels), { minLength: 1, maxLength: 12 }))
        ),
        ([channels, blocks]) => {
          const fused = Halfband.make()
          const reference = Halfband.make()
          const a: Array<Int16Array> = []
          const b: Array<Int16Array> = []
          for (const block of blocks) {
            a.push(fused.processInterleaved(block, channels))
            b.push(reference.process(AudioFrame.mixToMono(AudioFrame.unsafeMake(block, 48000, channels)).data))
          }
          a.push(fused.flush())
          b.push(reference.flush())
          assert.deepStrictEqual(concat(a), concat(b))
        }
      )
    )
  })

  it("the default layer's 2:1 converter offers the interleaved path; other converters need not", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const service = yield* Resampler.Resampler
        const halfband = yield* service.make(48000, 24000)
        assert.isFunction(halfband.processInterleaved)
        const stereo = Int16Array.from({ length: 960 }, (_, i) => (i % 2 === 0 ? 1000 : 3000))
        const mixed = halfband.processInterleaved!(stereo, 2)
        assert.strictEqual(mixed.length + halfband.flush().length, 240)
        const other = yield* service.make(44100, 24000)
        assert.isUndefined(other.processInterleaved)
      }).pipe(Effect.scoped, Effect.provide(Resampler.layer))
    ))
})

/** Pushes frames of the given sizes (in sample frames) of `channels` at `rate`, then flushes; total samples out. */
const pushAll = (rate: number, channels: number, sizes: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const input = yield* AudioInput.make
    let out = 0
    let i = 0
    for (const size of sizes) {
      const data = new Int16Array(size * channels)
      for (let k = 0; k < data.length; k++, i++) data[k] = Math.round(8000 * Math.sin(i * 0.01))
      for (const chunk of yield* input.push(AudioFrame.unsafeMake(data, rate, channels))) {
        assert.strictEqual(chunk.length, AudioInput.CHUNK_SAMPLES)
        out += chunk.length
      }
    }
    const rest = yield* input.flush
    out += rest?.length ?? 0
    assert.strictEqual(yield* input.flush, undefined, "a second flush has nothing left")
    return out
  })

describe("AudioInput.flush flushes the resampler's delay", () => {
  it("48 kHz stereo or mono (2:1): the total out after flush is exactly round(in / 2), for any frame sizes", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom(1, 2),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 12 }),
        (channels, sizes) =>
          Effect.runPromise(
            pushAll(48000, channels, sizes).pipe(
              Effect.map((out) => assert.strictEqual(out, Math.round(sizes.reduce((a, b) => a + b, 0) / 2))),
              Effect.scoped,
              Effect.provide(Resampler.layer)
            )
          )
      ),
      { numRuns: 60 }
    ))

  it("the fallback resampler at 44.1 kHz also ends at exactly round(in * 24000 / 44100)", () =>
    Effect.runPromise(
      pushAll(44100, 2, Array.from({ length: 37 }, () => 441)).pipe(
        Effect.map((out) => assert.strictEqual(out, Math.round((37 * 441 * 24000) / 44100))),
        Effect.scoped,
        Effect.provide(Resampler.layerLinear)
      )
    ))

  it("after a flush the next push starts a fresh stream: two utterances give round(n/2) each", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const input = yield* AudioInput.make
        const utterance = function*(frames: number) {
          let out = 0
          for (let k = 0; k < frames; k++) {
            const chunks = yield* input.push(AudioFrame.unsafeMake(new Int16Array(962).fill(700), 48000, 2))
            out += chunks.reduce((n, c) => n + c.length, 0)
          }
          return out + ((yield* input.flush)?.length ?? 0)
        }
        assert.strictEqual(yield* Effect.gen(() => utterance(13)), Math.round((13 * 481) / 2))
        assert.strictEqual(yield* Effect.gen(() => utterance(7)), Math.round((7 * 481) / 2))
      }).pipe(Effect.scoped, Effect.provide(Resampler.layer))
    ))
})

describe("AudioInput: the half-band output read straight into the chunks", () => {
  /** The default layer with the decimator's pull interface hidden: AudioInput then copies its output arrays. */
  const copying = Layer.effect(
    Resampler.Resampler,
    Effect.map(Resampler.Resampler, (service) => ({
      make: (inputRate: number, outputRate: number) =>
        Effect.map(service.make(inputRate, outputRate), (r) => ({
          process: r.process,
          processInterleaved: r.processInterleaved!,
          flush: r.flush
        }))
    }))
  ).pipe(Layer.provide(Resampler.layer))

  /** Every chunk, then the flushed rest, of frames of the given sizes pushed through one AudioInput. */
  const chunksOf = (channels: number, sizes: ReadonlyArray<number>, layer: Layer.Layer<Resampler.Resampler>) =>
    Effect.gen(function*() {
      const input = yield* AudioInput.make
      const out: Array<Int16Array> = []
      let i = 0
      for (const size of sizes) {
        const data = new Int16Array(size * channels)
        for (let k = 0; k < data.length; k++, i++) data[k] = Math.round(9000 * Math.sin(i * 0.37) + ((i * 7919) % 4001) - 2000)
        for (const chunk of yield* input.push(AudioFrame.unsafeMake(data, 48000, channels))) out.push(Int16Array.from(chunk))
      }
      const rest = yield* input.flush
      if (rest !== undefined) out.push(rest)
      return out
    }).pipe(Effect.scoped, Effect.provide(layer))

  it("gives exactly the chunks of the copying path, for any frame sizes and 1 or 2 channels (property)", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom(1, 2),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 10 }),
        async (channels, sizes) => {
          const direct = await Effect.runPromise(chunksOf(channels, sizes, Resampler.layer))
          const copied = await Effect.runPromise(chunksOf(channels, sizes, copying))
          assert.isAbove(direct.length, 0)
          assert.deepStrictEqual(direct, copied)
        }
      ),
      { numRuns: 40 }
    ))

  it("unsafePushEach hands over the same chunks as push, in a reused buffer, for any rate, channels and frame sizes (property)", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom(48000, 24000, 16000),
        fc.constantFrom(1, 2),
        fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 8 }),
        async (rate, channels, sizes) => {
          const run = (each: boolean) =>
            Effect.runPromise(Effect.gen(function*() {
              const input = yield* AudioInput.make
              const out: Array<Int16Array> = []
              const seen = new Set<ArrayBufferLike>()
              let eachChunks = 0
              let i = 0
              for (const [index, size] of sizes.entries()) {
                const data = new Int16Array(size * channels)
                for (let k = 0; k < data.length; k++, i++) data[k] = Math.round(9000 * Math.sin(i * 0.37) + ((i * 7919) % 4001) - 2000)
                const frame = AudioFrame.unsafeMake(data, rate, channels)
                const handled = each && input.unsafePushEach(frame, (chunk) => {
                  seen.add(chunk.buffer)
                  eachChunks++
                  out.push(Int16Array.from(chunk))
                })
                // Only the first frame has no converter yet: every later one takes the synchronous path.
                if (each) assert.strictEqual(handled, index > 0)
                if (!handled) for (const chunk of yield* input.push(frame)) out.push(Int16Array.from(chunk))
              }
              const rest = yield* input.flush
              if (rest !== undefined) out.push(rest)
              return { out, buffers: seen.size, eachChunks }
            }).pipe(Effect.scoped, Effect.provide(Resampler.layer)))
          const viaEach = await run(true)
          const viaPush = await run(false)
          assert.deepStrictEqual(viaEach.out, viaPush.out)
          // At 48 kHz (the decimator's pull form) every chunk is filled in one reused buffer.
          if (rate === 48000 && viaEach.eachChunks > 0) assert.strictEqual(viaEach.buffers, 1)
        }
      ),
      { numRuns: 40 }
    ))

  it("unsafePush works once the rate has its converter; a new rate needs push", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const input = yield* AudioInput.make
        const frame = (rate: number) => AudioFrame.unsafeMake(new Int16Array(rate / 5).fill(500), rate, 2)
        assert.isUndefined(input.unsafePush(frame(48000)), "no converter yet")
        assert.strictEqual((yield* input.push(frame(48000))).length, 0)
        // 100 ms of stereo at 48 kHz: the second one completes the first 2,400-sample chunk
        const chunks = input.unsafePush(frame(48000))
        assert.strictEqual(chunks?.length, 1)
        assert.strictEqual(chunks![0]!.length, AudioInput.CHUNK_SAMPLES)
        assert.isUndefined(input.unsafePush(frame(16000)), "the rate changed")
        yield* input.push(frame(16000))
        assert.isDefined(input.unsafePush(frame(16000)))
      }).pipe(Effect.scoped, Effect.provide(Resampler.layer))
    ))
})

describe("Resampler layers at module level", () => {
  it("layer, layerQuality and layerLinear are the tag class's layers (both spellings work)", () => {
    assert.strictEqual(Resampler.layer, Resampler.Resampler.layer)
    assert.strictEqual(Resampler.layerLinear, Resampler.Resampler.layerLinear)
    assert.strictEqual(Resampler.layerQuality, Resampler.Resampler.layerQuality)
    assert.isTrue(Layer.isLayer(Resampler.layerQuality("medium")))
  })

  it("the module-level layer provides a working service", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const service = yield* Resampler.Resampler
        const r = yield* service.make(16000, 24000)
        const out = r.process(new Int16Array(1600).fill(1000))
        assert.strictEqual(out.length + r.flush().length, 2400)
      }).pipe(Effect.scoped, Effect.provide(Resampler.layerLinear))
    ))
})
