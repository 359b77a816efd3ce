import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "fast-check"
import * as AudioFrame from "../../src/AudioFrame.js"
import * as codec from "../../src/internal/audioCodec.js"

const arbPcm = fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 600 }).map((xs) => Int16Array.from(xs))

const failureReason = (exit: Exit.Exit<unknown, AudioFrame.AudioFrameError>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error.reason : undefined

describe("AudioFrame.make", () => {
  it.effect("accepts a valid frame without copying its data", () =>
    Effect.gen(function*() {
      const data = new Int16Array(960)
      const frame = yield* AudioFrame.make(data, 48000, 2)
      assert.strictEqual(frame.data, data)
      assert.strictEqual(AudioFrame.samplesPerChannel(frame), 480)
      assert.strictEqual(AudioFrame.durationMs(frame), 10)
    }))

  it.effect("rejects a bad rate, a bad channel count and a ragged length with typed reasons", () =>
    Effect.gen(function*() {
      assert.strictEqual(failureReason(yield* Effect.exit(AudioFrame.make(new Int16Array(4), 0, 1))), "SampleRate")
      assert.strictEqual(failureReason(yield* Effect.exit(AudioFrame.make(new Int16Array(4), 4000, 1))), "SampleRate")
      assert.strictEqual(failureReason(yield* Effect.exit(AudioFrame.make(new Int16Array(4), 22050.5, 1))), "SampleRate")
      assert.strictEqual(failureReason(yield* Effect.exit(AudioFrame.make(new Int16Array(4), 16000, 0))), "Channels")
      assert.strictEqual(failureReason(yield* Effect.exit(AudioFrame.make(new Int16Array(5), 16000, 2))), "Length")
      assert.throws(() => AudioFrame.unsafeMake(new Int16Array(3), 16000, 2))
    }))
})

describe("AudioFrame conversions", () => {
  it("toFloat32 then fromFloat32 is the identity on PCM16", () => {
    fc.assert(fc.property(arbPcm, (pcm) => {
      assert.deepStrictEqual(AudioFrame.fromFloat32(AudioFrame.toFloat32(pcm)), pcm)
    }))
  })

  it("fromFloat32 clamps out-of-range values and maps NaN to 0", () => {
    const out = AudioFrame.fromFloat32(Float32Array.from([2, -2, 1, -1, 0.5, Number.NaN]))
    assert.deepStrictEqual(Array.from(out), [32767, -32768, 32767, -32768, 16384, 0])
  })

  it("mixToMono averages channels and returns a mono frame itself", () => {
    const stereo = AudioFrame.unsafeMake(Int16Array.from([100, 300, -32768, -32768, 32767, 32767, 1000, -1000]), 48000, 2)
    const mono = AudioFrame.mixToMono(stereo)
    assert.deepStrictEqual(Array.from(mono.data), [200, -32768, 32767, 0])
    assert.strictEqual(mono.channels, 1)
    assert.strictEqual(mono.sampleRate, 48000)
    assert.strictEqual(AudioFrame.mixToMono(mono), mono)
    const three = AudioFrame.unsafeMake(Int16Array.from([3, 6, 9, -3, -6, -9]), 16000, 3)
    assert.deepStrictEqual(Array.from(AudioFrame.mixToMono(three).data), [6, -6])
  })
})

describe("AudioFrame base64", () => {
  it("encodes little-endian bytes (known vector)", () => {
    // 0x0201 -> bytes 01 02; -1 -> ff ff; 0x7f00 -> 00 7f
    const pcm = Int16Array.from([0x0201, -1, 0x7f00])
    assert.strictEqual(AudioFrame.encodeBase64(pcm), "AQL//wB/")
    assert.strictEqual(codec.encodePcmTable(pcm), "AQL//wB/")
    assert.deepStrictEqual(Array.from(AudioFrame.decodeBase64("AQL//wB/")), [0x0201, -1, 0x7f00])
    assert.deepStrictEqual(Array.from(codec.decodePcmTable("AQL//wB/")), [0x0201, -1, 0x7f00])
  })

  it("round trips, and the Buffer path agrees with the table path in both directions", () => {
    const Buf = codec.nodeBuffer
    assert.isDefined(Buf)
    fc.assert(fc.property(arbPcm, (pcm) => {
      const viaBuffer = codec.encodePcmBuffer(Buf!, pcm)
      const viaTable = codec.encodePcmTable(pcm)
      assert.strictEqual(viaTable, viaBuffer)
      assert.deepStrictEqual(codec.decodePcmTable(viaBuffer), pcm)
      assert.deepStrictEqual(codec.decodePcmBuffer(Buf!, viaTable), pcm)
      assert.deepStrictEqual(AudioFrame.decodeBase64(AudioFrame.encodeBase64(pcm)), pcm)
    }))
  })

  it("table byte codec matches Buffer on arbitrary byte lengths (all padding cases)", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const b64 = codec.encodeBytesTable(bytes)
      assert.strictEqual(b64, Buffer.from(bytes).toString("base64"))
      const back = new Uint8Array(codec.decodedLength(b64))
      assert.strictEqual(codec.decodeBytesTableInto(b64, back), bytes.length)
      assert.deepStrictEqual(back, bytes)
    }))
  })

  it("encodes a view at an odd byte offset and decodes into aligned memory", () => {
    const bytes = new Uint8Array(11)
    for (let i = 0; i < bytes.length; i++) bytes[i] = i * 17
    // samples taken at byte offset 2 of a buffer (views must respect byteOffset)
    const view = new Int16Array(bytes.buffer, 2, 4)
    const b64 = AudioFrame.encodeBase64(view)
    assert.strictEqual(b64, Buffer.from(bytes.subarray(2, 10)).toString("base64"))
    const decoded = AudioFrame.decodeBase64(b64)
    assert.strictEqual(decoded.byteOffset, 0)
    assert.deepStrictEqual(decoded, Int16Array.from(view))
  })

  it("drops a trailing odd byte, accepts missing padding and the url alphabet", () => {
    const odd = Buffer.from([1, 2, 3]).toString("base64") // 3 bytes -> one sample
    assert.deepStrictEqual(Array.from(AudioFrame.decodeBase64(odd)), [0x0201])
    assert.deepStrictEqual(Array.from(codec.decodePcmTable(odd)), [0x0201])
    assert.deepStrictEqual(Array.from(codec.decodePcmTable("AQL__wB")), [0x0201, -1])
    assert.strictEqual(AudioFrame.decodeBase64("").length, 0)
    assert.strictEqual(codec.decodePcmTable("").length, 0)
  })

  it("fromBase64 defaults to 24 kHz mono and trims to whole frames", () => {
    const b64 = AudioFrame.encodeBase64(Int16Array.from([1, 2, 3]))
    const frame = AudioFrame.fromBase64(b64)
    assert.strictEqual(frame.sampleRate, 24000)
    assert.strictEqual(frame.channels, 1)
    assert.deepStrictEqual(Array.from(frame.data), [1, 2, 3])
    assert.deepStrictEqual(Array.from(AudioFrame.fromBase64(b64, 16000, 2).data), [1, 2])
  })

  it("swapBytes reverses each sample's bytes (the big-endian host path)", () => {
    assert.deepStrictEqual(Array.from(codec.swapBytes(Int16Array.from([0x0102, -2]))), [0x0201, -257])
  })
})

describe("slab decoding of received audio (Node)", () => {
  const Buf = codec.nodeBuffer!

  it("decodes as the portable codec does, and frames held together never share samples", () => {
    assert.isDefined(codec.nodeBuffer, "these tests run on Node")
    fc.assert(
      fc.property(fc.array(arbPcm, { minLength: 1, maxLength: 40 }), (frames) => {
        const wire = frames.map((pcm) => AudioFrame.encodeBase64(pcm))
        const held = wire.map((b64) => codec.decodePcmBuffer(Buf, b64, codec.allocSamples))
        held.forEach((pcm, i) => {
          assert.deepStrictEqual(Array.from(pcm), Array.from(codec.decodePcmTable(wire[i]!)))
          assert.strictEqual(pcm.byteOffset % 8, 0, "8-byte aligned")
        })
        // Writing into one frame leaves every other frame as it was (no overlap in the slab).
        for (const pcm of held) pcm.fill(7)
        held.forEach((pcm, i) => assert.isTrue(pcm.every((x) => x === 7), `frame ${i} was overwritten`))
      }),
      { numRuns: 200 }
    )
  })

  it("100 ms frames share a slab; a frame too big for one gets memory of its own", () => {
    const small = AudioFrame.encodeBase64(new Int16Array(2400).fill(3))
    // Decode until a frame opens a fresh slab (at most a slab's worth): the next one follows it there.
    let a = codec.decodePcmBuffer(Buf, small, codec.allocSamples)
    for (let i = 0; i < 16 && a.byteOffset !== 0; i++) a = codec.decodePcmBuffer(Buf, small, codec.allocSamples)
    assert.strictEqual(a.byteOffset, 0)
    assert.strictEqual(a.buffer.byteLength, 64 * 1024)
    const b = codec.decodePcmBuffer(Buf, small, codec.allocSamples)
    assert.strictEqual(a.buffer, b.buffer, "one slab")
    assert.strictEqual(b.byteOffset, a.byteOffset + a.byteLength)
    const big = codec.decodePcmBuffer(Buf, AudioFrame.encodeBase64(new Int16Array(24000).fill(5)), codec.allocSamples)
    assert.strictEqual(big.byteOffset, 0)
    assert.strictEqual(big.buffer.byteLength, 48000)
    assert.isTrue(big.every((x) => x === 5))
  })
})
