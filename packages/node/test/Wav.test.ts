import { assert, describe, it } from "@effect/vitest"
import * as AudioFrame from "@realtime-fx/core/AudioFrame"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import wavefile from "wavefile"
import * as Wav from "../src/Wav.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "realtime-fx-wav-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const asset = fileURLToPath(new URL("./fixtures/weather-question.wav", import.meta.url))

const ramp = (n: number, channels: number) =>
  AudioFrame.unsafeMake(Int16Array.from({ length: n * channels }, (_, i) => (i * 97) % 65536 - 32768), 22050, channels)

describe("Wav", () => {
  it.scoped("write then read round trips PCM16 stereo exactly", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "a.wav")
      const frame = ramp(1000, 2)
      yield* Wav.write(path, frame)
      const back = yield* Wav.read(path)
      assert.strictEqual(back.sampleRate, 22050)
      assert.strictEqual(back.channels, 2)
      assert.deepStrictEqual(back.data, frame.data)
    }))

  it.scoped("write concatenates frames; mismatched frames and an empty list fail with WavError", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "b.wav")
      const a = AudioFrame.unsafeMake(Int16Array.from([1, 2, 3]), 24000, 1)
      const b = AudioFrame.unsafeMake(Int16Array.from([4, 5]), 24000, 1)
      yield* Wav.write(path, [a, b])
      assert.deepStrictEqual(Array.from((yield* Wav.read(path)).data), [1, 2, 3, 4, 5])
      const c = AudioFrame.unsafeMake(Int16Array.from([4, 5]), 16000, 1)
      const mismatch = yield* Effect.flip(Wav.write(path, [a, c]))
      assert.strictEqual(mismatch.reason, "InvalidAudio")
      const empty = yield* Effect.flip(Wav.write(path, []))
      assert.strictEqual(empty.path, path)
    }))

  it.scoped("reads float WAV files as PCM16", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "f.wav")
      const wav = new wavefile.WaveFile()
      wav.fromScratch(1, 48000, "32f", Float32Array.from([0.5, -0.5, 1, -1, 0]))
      Fs.writeFileSync(path, wav.toBuffer())
      const frame = yield* Wav.read(path)
      assert.strictEqual(frame.sampleRate, 48000)
      assert.deepStrictEqual(Array.from(frame.data), [16384, -16384, 32767, -32768, 0])
    }))

  it.scoped("a missing file and a non-WAV file give WavError naming the path", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const missing = yield* Effect.flip(Wav.read(Path.join(dir, "nope.wav")))
      assert.strictEqual(missing._tag, "WavError")
      assert.strictEqual(missing.reason, "NotFound")
      assert.include(missing.message, "nope.wav")
      const text = Path.join(dir, "text.wav")
      Fs.writeFileSync(text, "this is not audio at all, just some text")
      const notWav = yield* Effect.flip(Wav.read(text))
      assert.strictEqual(notWav.reason, "NotWav")
      assert.strictEqual(notWav.path, text)
    }))

  it("toBytes starts with a RIFF/WAVE header", () => {
    const bytes = Wav.toBytes(ramp(10, 1))
    assert.strictEqual(new TextDecoder().decode(bytes.subarray(0, 4)), "RIFF")
    assert.strictEqual(new TextDecoder().decode(bytes.subarray(8, 12)), "WAVE")
    assert.strictEqual(bytes.length, 44 + 20)
  })

  it.effect("the demo asset is 16 kHz mono speech ending in silence", () =>
    Effect.gen(function*() {
      const frame = yield* Wav.read(asset)
      assert.strictEqual(frame.sampleRate, 16000)
      assert.strictEqual(frame.channels, 1)
      assert.isAbove(AudioFrame.durationMs(frame), 2000)
      const tail = frame.data.subarray(frame.data.length - 16000 * 0.7)
      assert.isTrue(tail.every((x) => x === 0))
      assert.isTrue(frame.data.subarray(0, 16000 * 2).some((x) => Math.abs(x) > 1000))
    }))

  it.scoped("source cuts frameMs frames (views, last one short) and fast pacing emits them all", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "s.wav")
      const frame = AudioFrame.unsafeMake(Int16Array.from({ length: 2 * 1000 }, (_, i) => i), 16000, 2)
      yield* Wav.write(path, frame)
      const frames = Chunk.toReadonlyArray(yield* Stream.runCollect(Wav.source(path, { frameMs: 20, pacing: "fast" })))
      // 20 ms at 16 kHz = 320 samples per channel; 1000 = 3 * 320 + 40
      assert.deepStrictEqual(frames.map((f) => AudioFrame.samplesPerChannel(f)), [320, 320, 320, 40])
      assert.isTrue(frames.every((f) => f.sampleRate === 16000 && f.channels === 2))
      const joined = frames.flatMap((f) => Array.from(f.data))
      assert.deepStrictEqual(joined, Array.from(frame.data))
    }))

  it.scoped("realtime pacing emits frame i at i * frameMs under TestClock", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "p.wav")
      yield* Wav.write(path, AudioFrame.unsafeMake(new Int16Array(1600), 16000, 1)) // 100 ms
      const seen: Array<number> = []
      const fiber = yield* Wav.source(path, { frameMs: 10 }).pipe(
        Stream.runForEach(() => Effect.sync(() => seen.push(seen.length))),
        Effect.fork
      )
      // the file read is real I/O: wait until the first frame is out before moving the clock
      while (seen.length === 0) yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
      assert.strictEqual(seen.length, 1)
      yield* TestClock.adjust("25 millis")
      assert.strictEqual(seen.length, 3)
      yield* TestClock.adjust("60 millis")
      assert.strictEqual(seen.length, 9)
      yield* TestClock.adjust("10 millis")
      yield* Fiber.join(fiber)
      assert.strictEqual(seen.length, 10)
    }))

  it.scoped("sink writes a stream of 24 kHz frames as one file; an empty stream writes an empty file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = Path.join(dir, "out.wav")
      const frames = [1, 2, 3].map((k) => AudioFrame.unsafeMake(new Int16Array(240).fill(k), 24000, 1))
      yield* Stream.run(Stream.fromIterable(frames), Wav.sink(path))
      const back = yield* Wav.read(path)
      assert.strictEqual(back.sampleRate, 24000)
      assert.strictEqual(back.data.length, 720)
      assert.strictEqual(back.data[500], 3)
      const emptyPath = Path.join(dir, "empty.wav")
      yield* Stream.run(Stream.empty, Wav.sink(emptyPath))
      const empty = yield* Wav.read(emptyPath)
      assert.strictEqual(empty.data.length, 0)
      assert.strictEqual(empty.sampleRate, 24000)
      const wrong = AudioFrame.unsafeMake(new Int16Array(160), 16000, 1)
      const error = yield* Effect.flip(Stream.run(Stream.make(wrong), Wav.sink(path)))
      assert.strictEqual(error.reason, "InvalidAudio")
    }))
})
