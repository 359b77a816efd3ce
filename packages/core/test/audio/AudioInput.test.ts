import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fc from "fast-check"
import * as AudioFrame from "../../src/AudioFrame.js"
import * as AudioInput from "../../src/AudioInput.js"
import { Resampler, type ResamplerService } from "../../src/Resampler.js"
import { concat } from "./signal.js"

describe("AudioInput chunker (pure)", () => {
  it("no sample lost or duplicated across random frame sizes; every chunk is exactly the size", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 120 }), { maxLength: 30 }),
        fc.boolean(),
        (size, frames, flushAtEnd) => {
          const chunker = AudioInput.makeChunker(size)
          const input = frames.map((f) => Int16Array.from(f))
          const out: Array<Int16Array> = []
          for (const frame of input) {
            for (const chunk of chunker.push(frame)) {
              assert.strictEqual(chunk.length, size)
              out.push(Int16Array.from(chunk)) // snapshot: later pushes must not change it either
            }
          }
          const all = concat(input)
          const whole = all.length - (all.length % size)
          assert.strictEqual(chunker.pending(), all.length % size)
          if (flushAtEnd) {
            const rest = chunker.flush()
            if (rest !== undefined) out.push(rest)
            assert.deepStrictEqual(concat(out), all)
            assert.strictEqual(chunker.flush(), undefined)
          } else {
            assert.deepStrictEqual(concat(out), all.subarray(0, whole))
          }
        }
      )
    )
  })

  it("chunks already returned are not overwritten by later pushes", () => {
    const chunker = AudioInput.makeChunker(4)
    const [first] = chunker.push(Int16Array.from([1, 2, 3, 4, 5, 6]))
    chunker.push(Int16Array.from([7, 8, 9, 10, 11]))
    assert.deepStrictEqual(Array.from(first!), [1, 2, 3, 4])
    const rest = chunker.flush()
    assert.deepStrictEqual(Array.from(rest!), [9, 10, 11])
    chunker.push(Int16Array.from([99]))
    assert.deepStrictEqual(Array.from(rest!), [9, 10, 11])
  })

  /** The pull properties' cases: a chunk size, frames of samples, and the sizes a source reads in. */
  const pullCase = [
    fc.integer({ min: 1, max: 50 }),
    fc.array(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 120 }), { maxLength: 20 }),
    fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 })
  ] as const

  /** A source that hands `frame` out at most `pieces[call]` samples per read, as a decimator may. */
  const pieceReader = (frame: Int16Array, pieces: ReadonlyArray<number>) => {
    let at = 0
    let call = 0
    return {
      more: () => at < frame.length,
      read: (target: Int16Array, offset: number, max: number) => {
        const n = Math.min(max, frame.length - at, pieces[call++ % pieces.length]!)
        target.set(frame.subarray(at, at + n), offset)
        at += n
        return n
      }
    }
  }

  it("pull: a source read in whatever pieces it gives equals push of the same samples (property)", () => {
    fc.assert(
      fc.property(...pullCase, (size, frames, pieces) => {
        const pulled = AudioInput.makeChunker(size)
        const pushed = AudioInput.makeChunker(size)
        const a: Array<Int16Array> = []
        const b: Array<Int16Array> = []
        for (const frame of frames.map((f) => Int16Array.from(f))) {
          const source = pieceReader(frame, pieces)
          while (source.more()) {
            for (const chunk of pulled.pull(source.read)) {
              assert.strictEqual(chunk.length, size)
              a.push(Int16Array.from(chunk))
            }
          }
          for (const chunk of pushed.push(frame)) b.push(Int16Array.from(chunk))
          assert.strictEqual(pulled.pending(), pushed.pending())
        }
        assert.deepStrictEqual(a, b)
        assert.deepStrictEqual(pulled.flush(), pushed.flush())
      })
    )
  })

  it("pullEach: the same chunks as pull, handed over in one reused buffer (property)", () => {
    fc.assert(
      fc.property(...pullCase, (size, frames, pieces) => {
        const each = AudioInput.makeChunker(size)
        const pulled = AudioInput.makeChunker(size)
        const a: Array<Int16Array> = []
        const b: Array<Int16Array> = []
        const buffers = new Set<Int16Array>()
        for (const frame of frames.map((f) => Int16Array.from(f))) {
          const first = pieceReader(frame, pieces)
          while (first.more()) {
            each.pullEach(first.read, (chunk) => {
              assert.strictEqual(chunk.length, size)
              buffers.add(chunk)
              a.push(Int16Array.from(chunk))
            })
          }
          const second = pieceReader(frame, pieces)
          while (second.more()) for (const chunk of pulled.pull(second.read)) b.push(Int16Array.from(chunk))
          assert.strictEqual(each.pending(), pulled.pending())
        }
        assert.deepStrictEqual(a, b)
        assert.isAtMost(buffers.size, 1)
        assert.deepStrictEqual(each.flush(), pulled.flush())
      })
    )
  })

  it("pull: chunks already returned are not overwritten by later pulls", () => {
    const chunker = AudioInput.makeChunker(4)
    let next = 1
    const count = (limit: number) => (target: Int16Array, offset: number, max: number) => {
      const n = Math.min(max, limit - next + 1)
      for (let i = 0; i < n; i++) target[offset + i] = next++
      return n
    }
    const [first] = chunker.pull(count(6))
    assert.strictEqual(chunker.pull(count(11)).length, 1)
    assert.deepStrictEqual(Array.from(first!), [1, 2, 3, 4])
    assert.deepStrictEqual(Array.from(chunker.flush()!), [9, 10, 11])
  })

  it("clear drops the remainder", () => {
    const chunker = AudioInput.makeChunker(4)
    chunker.push(Int16Array.from([1, 2, 3]))
    chunker.clear()
    assert.strictEqual(chunker.flush(), undefined)
    assert.deepStrictEqual(chunker.push(Int16Array.from([5, 6, 7, 8])).map((c) => Array.from(c)), [[5, 6, 7, 8]])
  })
})

const frame = (data: Int16Array, rate: number, channels: number) => AudioFrame.unsafeMake(data, rate, channels)

/** A fake resampler service that records creations and disposals, and resamples by repetition/decimation. */
const recording = () => {
  const log: Array<string> = []
  const service: ResamplerService = {
    make: (inputRate, outputRate) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          log.push(`make ${inputRate}`)
          return {
            process: (input: Int16Array) => {
              const out = new Int16Array(Math.round((input.length * outputRate) / inputRate))
              for (let i = 0; i < out.length; i++) out[i] = input[Math.floor((i * inputRate) / outputRate)]!
              return out
            },
            flush: () => {
              log.push(`flush ${inputRate}`)
              return Int16Array.from([7])
            }
          }
        }),
        () => Effect.sync(() => log.push(`free ${inputRate}`))
      )
  }
  return { log, layer: Layer.succeed(Resampler, service) }
}

describe("AudioInput", () => {
  it.effect("48 kHz stereo 10 ms frames become 100 ms chunks of 24 kHz mono (real resampler)", () =>
    Effect.gen(function*() {
      const input = yield* AudioInput.make
      const chunks: Array<Int16Array> = []
      // 25 frames of 10 ms: left = 1000, right = 3000 -> mono 2000
      for (let i = 0; i < 25; i++) {
        const data = new Int16Array(960)
        for (let j = 0; j < 960; j += 2) {
          data[j] = 1000
          data[j + 1] = 3000
        }
        chunks.push(...(yield* input.push(frame(data, 48000, 2))))
      }
      assert.strictEqual(chunks.length, 2)
      for (const chunk of chunks) assert.strictEqual(chunk.length, AudioInput.CHUNK_SAMPLES)
      // past the filter's start-up, the DC level is the stereo mean
      assert.approximately(chunks[1]![1000]!, 2000, 2)
      const rest = yield* input.flush
      assert.isDefined(rest)
      assert.isAbove(rest!.length, 0)
      assert.isBelow(rest!.length, AudioInput.CHUNK_SAMPLES)
      // 250 ms in: exactly 6000 samples out, the filter's delay included (flush drains it)
      assert.strictEqual(chunks.length * 2400 + rest!.length, 6000)
      assert.strictEqual(yield* input.flush, undefined)
    }).pipe(Effect.scoped, Effect.provide(Resampler.layer)))

  it.effect("24 kHz mono passes through sample-exact", () =>
    Effect.gen(function*() {
      const input = yield* AudioInput.make
      const data = Int16Array.from({ length: 5000 }, (_, i) => (i * 37) % 30000)
      const chunks = yield* input.push(frame(data, 24000, 1))
      const rest = yield* input.flush
      assert.deepStrictEqual(concat([...chunks, rest!]), data)
      assert.deepStrictEqual(chunks.map((c) => c.length), [2400, 2400])
    }).pipe(Effect.scoped, Effect.provide(Resampler.layer)))

  it.effect("a rate change recreates the resampler, keeping the old one's tail, and frees the old one", () => {
    const { layer, log } = recording()
    return Effect.gen(function*() {
      yield* Effect.gen(function*() {
        const input = yield* AudioInput.make
        yield* input.push(frame(new Int16Array(1600), 16000, 1)) // -> 2400: one chunk
        yield* input.push(frame(new Int16Array(160), 16000, 1))
        assert.deepStrictEqual(log, ["make 16000"])
        const out = yield* input.push(frame(new Int16Array(8000), 8000, 1)) // 240 + tail 1 + 24000
        assert.deepStrictEqual(log, ["make 16000", "flush 16000", "free 16000", "make 8000"])
        assert.strictEqual(out.length, 10)
        // the old tail (7) sits right after the 240 samples that were pending
        assert.strictEqual(out[0]![240], 7)
        const rest = yield* input.flush
        // the partial chunk, then the 8 kHz converter's own tail (flush ends the stream)
        assert.strictEqual(rest!.length, (240 + 1 + 24000) % 2400 + 1)
        assert.strictEqual(rest!.at(-1), 7)
        assert.strictEqual(log.at(-1), "flush 8000")
      }).pipe(Effect.scoped)
      assert.deepStrictEqual(log.at(-1), "free 8000")
    }).pipe(Effect.provide(layer))
  })

  it.effect("clear drops the remainder and resets the resampler", () => {
    const { layer, log } = recording()
    return Effect.gen(function*() {
      const input = yield* AudioInput.make
      yield* input.push(frame(new Int16Array(100), 16000, 1))
      yield* input.clear
      assert.include(log, "flush 16000")
      assert.strictEqual(yield* input.flush, undefined)
      const chunks = yield* input.push(frame(Int16Array.from({ length: 1600 }, () => 5), 16000, 1))
      assert.strictEqual(chunks.length, 1)
      assert.isTrue(chunks[0]!.every((x) => x === 5))
    }).pipe(Effect.scoped, Effect.provide(layer))
  })

  it.effect("works with the fallback resampler and 44.1 kHz 4-channel input", () =>
    Effect.gen(function*() {
      const input = yield* AudioInput.make
      let total = 0
      for (let i = 0; i < 100; i++) {
        const chunks = yield* input.push(frame(new Int16Array(441 * 4).fill(100), 44100, 4))
        total += chunks.reduce((n, c) => n + c.length, 0)
      }
      total += (yield* input.flush)?.length ?? 0
      assert.approximately(total, 24000, 40)
    }).pipe(Effect.scoped, Effect.provide(Resampler.layerLinear)))

  it.effect("a long frame reaches a pull-form converter in bounded writes, with the same chunks as short frames", () =>
    Effect.gen(function*() {
      // the half-band decimator behind a recorder of the frames each write takes
      let largest = 0
      const recorder = Layer.effect(
        Resampler,
        Effect.map(Resampler, (service) => ({
          make: (inputRate: number, outputRate: number) =>
            Effect.map(service.make(inputRate, outputRate), (converter) => ({
              ...converter,
              write: (input: Int16Array, channels: number) => {
                largest = Math.max(largest, input.length / channels)
                converter.write!(input, channels)
              }
            }))
        }))
      ).pipe(Layer.provide(Resampler.layer))
      // 20 s of 48 kHz stereo in one frame, and the same audio in 10 ms frames
      const seconds = 20
      const data = Int16Array.from({ length: 2 * 48000 * seconds }, (_, i) => ((i * 7919) % 20000) - 10000)
      const run = (frames: ReadonlyArray<Int16Array>) =>
        Effect.gen(function*() {
          const input = yield* AudioInput.make
          const out: Array<Int16Array> = []
          for (const f of frames) out.push(...(yield* input.push(frame(f, 48000, 2))))
          out.push((yield* input.flush)!)
          return concat(out)
        }).pipe(Effect.scoped, Effect.provide(recorder))
      const whole = yield* run([data])
      assert.isAtMost(largest, 8192, "no write takes more than 8192 frames")
      assert.isAbove(largest, 0, "the pull form was used")
      const pieces = yield* run(Array.from({ length: 100 * seconds }, (_, i) => data.subarray(i * 960, (i + 1) * 960)))
      assert.strictEqual(whole.length, 24000 * seconds)
      assert.deepStrictEqual(whole, pieces)
    }))
})
