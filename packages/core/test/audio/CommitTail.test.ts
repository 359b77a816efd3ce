// commitAudio through a whole session (MockTransport): the appends before the commit carry every
// sample of a 2:1 stream, the half-band filter's delay included.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as MockTransport from "@realtime-fx/test-kit/MockTransport"
import * as AudioFrame from "../../src/AudioFrame.js"
import * as Resampler from "../../src/Resampler.js"
import * as Xai from "../../src/Xai.js"
import { open, settle } from "../session/harness.js"

const layer = Layer.mergeAll(
  MockTransport.layer({ greeting: () => [{ type: "session.created", event_id: "ev_s", session: { id: "sess_1" } }] }),
  Xai.layer({ apiKey: Redacted.make("xai-test-key") }).pipe(Layer.orDie),
  Resampler.layer
)

describe("commitAudio flushes the resampler", () => {
  it.scoped("48 kHz stereo in 10 ms frames: the appends before the commit hold exactly round(in / 2) samples", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      // 1.37 s of 48 kHz stereo (65,760 sample frames), then a commit
      const frames = 137
      for (let i = 0; i < frames; i++) {
        const data = new Int16Array(960)
        for (let j = 0; j < 960; j += 2) data[j] = data[j + 1] = Math.round(5000 * Math.sin((i * 480 + j / 2) * 0.05))
        yield* session.pushAudio(AudioFrame.unsafeMake(data, 48000, 2))
      }
      yield* session.commitAudio
      yield* server.nextClientEventOfType("input_audio_buffer.commit")
      yield* settle
      const events = yield* server.clientEvents
      const commitAt = events.findIndex((f) => f.type === "input_audio_buffer.commit")
      assert.isAtLeast(commitAt, 0)
      const appended = events.slice(0, commitAt).filter((f) => f.type === "input_audio_buffer.append")
        .reduce((n, f) => n + AudioFrame.decodeBase64(f.event["audio"] as string).length, 0)
      assert.strictEqual(appended, Math.round((frames * 480) / 2))
      // nothing is left over for after the commit
      assert.isFalse(events.slice(commitAt).some((f) => f.type === "input_audio_buffer.append"))
    }).pipe(Effect.provide(layer)))
})
