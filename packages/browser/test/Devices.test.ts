import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import * as AudioFrame from "@realtime-fx/core/AudioFrame"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Microphone from "../src/Microphone.js"
import * as Speaker from "../src/Speaker.js"

// The microphone and the speaker against stand-ins for the Web Audio API: the worklet processors are
// the real ones (their sources evaluated here), rendered by hand, so the main-thread logic (typed
// errors, interrupt, drain, counts) is tested without a browser. The real browser runs in
// `npm run test:browser`.

type Listener = ((event: { data: unknown }) => void) | null

/** A MessagePort pair: messages are delivered asynchronously, as in a browser. */
const portPair = () => {
  const a = { onmessage: null as Listener, postMessage: (data: unknown) => void queueMicrotask(() => b.onmessage?.({ data })) }
  const b = { onmessage: null as Listener, postMessage: (data: unknown) => void queueMicrotask(() => a.onmessage?.({ data })) }
  return [a, b] as const
}

interface Processor {
  process(inputs: Array<Array<Float32Array>>, outputs: Array<Array<Float32Array>>): boolean
}

/** A fake Web Audio world: contexts, worklet nodes backed by the real processor sources, media. */
const makeAudioWorld = (options: { state?: AudioContextState; resumes?: boolean; sampleRate?: number } = {}) => {
  const processors: Array<Processor> = []
  const registry = new Map<string, new(options: unknown) => Processor>()
  let pendingPort: ReturnType<typeof portPair>[1] | undefined
  class AudioWorkletProcessor {
    port = pendingPort!
  }
  const contexts: Array<{ closed: boolean }> = []
  class FakeAudioContext {
    state: AudioContextState = options.state ?? "running"
    sampleRate: number
    closed = false
    destination = {}
    audioWorklet = {
      addModule: async (url: string) => {
        const source = await (await fetch(url)).text()
        new Function("AudioWorkletProcessor", "registerProcessor", source)(
          AudioWorkletProcessor,
          (name: string, ctor: new(o: unknown) => Processor) => registry.set(name, ctor)
        )
      }
    }
    constructor(init: { sampleRate?: number } = {}) {
      this.sampleRate = init.sampleRate ?? options.sampleRate ?? 48000
      contexts.push(this)
    }
    resume() {
      if (options.resumes === false) return new Promise<void>(() => {})
      this.state = "running"
      return Promise.resolve()
    }
    close() {
      this.closed = true
      return Promise.resolve()
    }
    createMediaStreamSource() {
      return { connect: () => {}, disconnect: () => {} }
    }
  }
  class FakeAudioWorkletNode {
    port: ReturnType<typeof portPair>[0]
    constructor(_context: unknown, name: string, init: { processorOptions: unknown }) {
      const [main, worklet] = portPair()
      pendingPort = worklet
      processors.push(new (registry.get(name)!)(init))
      this.port = main
    }
    connect() {}
    disconnect() {}
  }
  vi.stubGlobal("AudioContext", FakeAudioContext)
  vi.stubGlobal("AudioWorkletNode", FakeAudioWorkletNode)
  return { processors, contexts }
}

const stubMedia = (getUserMedia: () => Promise<unknown>) =>
  vi.stubGlobal("navigator", { mediaDevices: { getUserMedia } })

const domError = (name: string) => Object.assign(new Error(name), { name })

/** Lets queued port messages and promise callbacks run. */
const settle = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 5)))

afterEach(() => {
  vi.unstubAllGlobals()
})

describe("Microphone.source", () => {
  it.effect("permission denied and no device are typed errors", () =>
    Effect.gen(function*() {
      makeAudioWorld()
      stubMedia(() => Promise.reject(domError("NotAllowedError")))
      const denied = yield* Effect.flip(Stream.runDrain(Microphone.source()))
      assert.strictEqual(denied.reason, "PermissionDenied")
      stubMedia(() => Promise.reject(domError("NotFoundError")))
      const none = yield* Effect.flip(Stream.runDrain(Microphone.source()))
      assert.strictEqual(none.reason, "NoDevice")
    }))

  it.live("a context that stays suspended is a typed error, and the track is stopped", () =>
    Effect.gen(function*() {
      const world = makeAudioWorld({ state: "suspended", resumes: false })
      let stopped = 0
      stubMedia(() => Promise.resolve({ getTracks: () => [{ stop: () => void stopped++ }] }))
      const error = yield* Effect.flip(Stream.runDrain(Microphone.source({ resumeTimeout: "20 millis" })))
      assert.strictEqual(error.reason, "Suspended")
      assert.strictEqual(stopped, 1, "the microphone track was released")
      assert.isTrue(world.contexts.every((c) => c.closed), "its own context was closed")
    }))

  it.live("emits mono PCM16 frames of frameMs at the context's rate", () =>
    Effect.gen(function*() {
      const world = makeAudioWorld({ sampleRate: 48000 })
      stubMedia(() => Promise.resolve({ getTracks: () => [{ stop: () => {} }] }))
      const fiber = yield* Microphone.source({ frameMs: 10 }).pipe(Stream.take(3), Stream.runCollect, Effect.fork)
      while (world.processors.length === 0) yield* settle
      const input = [[new Float32Array(128).fill(0.5)]]
      for (let i = 0; i < 12; i++) world.processors[0]!.process(input, [])
      const frames = Array.from(yield* Fiber.join(fiber))
      assert.strictEqual(frames.length, 3)
      for (const frame of frames) {
        assert.strictEqual(frame.sampleRate, 48000)
        assert.strictEqual(frame.channels, 1)
        assert.strictEqual(AudioFrame.durationMs(frame), 10)
        assert.strictEqual(frame.data[0], 16384)
      }
    }))

  it.effect("refuses frame lengths outside 10-20 ms", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Stream.runDrain(Microphone.source({ frameMs: 50 })))
      assert.strictEqual(error.reason, "Unsupported")
    }))
})

describe("Speaker.sink", () => {
  const frame = (ms: number, value = 8192) => AudioFrame.unsafeMake(new Int16Array(24 * ms).fill(value), 24000, 1)
  const render = (processor: Processor, blocks: number) => {
    const out = [[new Float32Array(128)]]
    for (let i = 0; i < blocks; i++) processor.process([], out)
    return out[0]![0]!
  }

  it.live("plays a stream out and reports the ms played", () =>
    Effect.gen(function*() {
      const world = makeAudioWorld()
      const speaker = yield* Speaker.sink({ jitterMs: 20 })
      const playing = yield* Effect.fork(speaker.play(Stream.make(frame(100), frame(100))))
      yield* settle
      // 200 ms at 24 kHz = 4800 frames = 37.5 render quanta.
      for (let i = 0; i < 40; i++) {
        render(world.processors[0]!, 1)
        yield* settle
      }
      assert.strictEqual(yield* Fiber.join(playing), 200)
      assert.strictEqual((yield* speaker.progress).playedMs, 200)
    }).pipe(Effect.scoped))

  it.live("interrupt stops at once, answers with the worklet's count, and drops the stream's later frames", () =>
    Effect.gen(function*() {
      const world = makeAudioWorld()
      const speaker = yield* Speaker.sink({ jitterMs: 20 })
      yield* speaker.write(frame(1000))
      yield* settle
      const processor = world.processors[0]!
      render(processor, 75) // 9600 frames = 400 ms
      const played = yield* speaker.interrupt
      assert.strictEqual(played, 400)
      assert.strictEqual(render(processor, 1)[0], 0, "silence at once")
      yield* speaker.write(frame(100))
      yield* settle
      assert.strictEqual(render(processor, 1)[0], 0, "a late frame of the interrupted stream is dropped")
      yield* speaker.reset
      yield* speaker.write(frame(100))
      yield* settle
      assert.strictEqual(render(processor, 1)[0], 0.25, "a new stream plays")
    }).pipe(Effect.scoped))

  it.live("interrupting play stops at once and hands the ms played to onInterrupt", () =>
    Effect.gen(function*() {
      const world = makeAudioWorld()
      const speaker = yield* Speaker.sink({ jitterMs: 20 })
      let reported: number | undefined
      const playing = yield* Effect.fork(speaker.play(Stream.concat(Stream.make(frame(1000)), Stream.never), {
        onInterrupt: (ms) => Effect.sync(() => void (reported = ms))
      }))
      yield* settle
      render(world.processors[0]!, 150) // 19200 frames = 800 ms
      yield* Fiber.interrupt(playing)
      assert.strictEqual(reported, 800)
      assert.strictEqual(render(world.processors[0]!, 1)[0], 0)
    }).pipe(Effect.scoped))

  it.effect("refuses audio at another rate than its own", () =>
    Effect.gen(function*() {
      makeAudioWorld()
      const speaker = yield* Speaker.sink()
      const error = yield* Effect.flip(speaker.write(AudioFrame.unsafeMake(new Int16Array(480), 48000, 1)))
      assert.strictEqual(error.reason, "SampleRate")
    }).pipe(Effect.scoped))

  it.live("closing the scope stops playback at once and closes its own context", () =>
    Effect.gen(function*() {
      const world = makeAudioWorld()
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const speaker = yield* Speaker.sink({ jitterMs: 20 })
        yield* speaker.write(frame(1000))
        yield* settle
        assert.strictEqual(render(world.processors[0]!, 1)[0], 0.25, "playing")
      })))
      assert.isTrue(Exit.isSuccess(exit))
      yield* settle
      assert.strictEqual(render(world.processors[0]!, 1)[0], 0, "stopped when the scope closed")
      assert.isTrue(world.contexts[0]!.closed)
    }))
})
