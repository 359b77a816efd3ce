import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as AudioFrame from "../../src/AudioFrame.js"
import { layer, open, settle } from "./harness.js"

// Regression tests for defects found in review; each comment names the rule and the defect it guards against (fixed).

const invalidFrames: ReadonlyArray<readonly [string, AudioFrame.AudioFrame]> = [
  ["rate 0", { data: new Int16Array(480), sampleRate: 0, channels: 1 }],
  ["rate NaN", { data: new Int16Array(480), sampleRate: Number.NaN, channels: 1 }],
  ["rate 10 MHz", { data: new Int16Array(480), sampleRate: 10_000_000, channels: 1 }],
  ["rate 4 kHz (below MIN_SAMPLE_RATE)", { data: new Int16Array(480), sampleRate: 4000, channels: 1 }],
  ["0 channels", { data: new Int16Array(480), sampleRate: 24000, channels: 0 }],
  ["1.5 channels", { data: new Int16Array(480), sampleRate: 24000, channels: 1.5 }],
  ["3 samples of stereo", { data: new Int16Array(3), sampleRate: 24000, channels: 2 }],
  ["4801 samples of 48 kHz stereo", { data: new Int16Array(4801), sampleRate: 48000, channels: 2 }]
]

describe("pushAudio validation", () => {
  // Rule (AudioFrame.AudioFrameError; DESIGN "Errors are tagged"): a frame that cannot be audio
  // (rate not an integer in 8,000..192,000, channels not an integer in 1..64, data length not a
  // multiple of the channel count) is rejected with a typed failure and nothing of it is sent.
  // Was: AudioFrame is a plain interface, and session.ts pushAudio (internal/session.ts:985)
  // hands the frame to AudioInput.push without AudioFrame.validate. So rate 0/NaN/10 MHz DIE in
  // Resampler.checkRates (a defect, not an error), 0 channels dies in mixToMono
  // (new Int16Array(Infinity)), and ragged lengths / fractional channels / 4 kHz are silently
  // accepted: mixToMono truncates and reads past the end (NaN -> 0) and garbage is appended.
  it.scoped("pushAudio rejects invalid frames with a typed failure and sends nothing for them", () =>
    Effect.gen(function*() {
      const { server, session } = yield* open()
      const outcomes: Array<string> = []
      for (const [name, frame] of invalidFrames) {
        const exit = yield* Effect.exit(session.pushAudio(frame))
        if (Exit.isSuccess(exit)) outcomes.push(`${name}: accepted`)
        else if (Cause.isDie(exit.cause)) outcomes.push(`${name}: died (${Cause.pretty(exit.cause).split("\n")[0]})`)
      }
      yield* settle
      const appends = (yield* server.clientEvents).filter((f) => f.type === "input_audio_buffer.append")
      assert.deepStrictEqual(outcomes, [], "every invalid frame fails with a typed error")
      assert.strictEqual(appends.length, 0)
    }).pipe(Effect.provide(layer())))
})
