// The README's usage example, run against the loopback fake server (only the model layer differs).
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { AudioFrame, RealtimeSession, Resampler, Xai } from "@realtime-fx/core"
import { FakeServer } from "@realtime-fx/test-kit"
import { NodeTransport, Wav } from "@realtime-fx/node"

const question = fileURLToPath(new URL("./fixtures/weather-question.wav", import.meta.url))

// --- the README example, verbatim from here ---------------------------------
const conversation = (input: string, output: string) =>
  Effect.gen(function*() {
    const session = yield* RealtimeSession.make()
    const generations = yield* session.subscribeGenerations

    // Send audio: any rate and channel count; the session resamples to 24 kHz mono.
    yield* Wav.source(input, { pacing: "fast" }).pipe(Stream.runForEach(session.pushAudio))

    // The server's voice-activity detection ends the turn and the model replies: read its
    // transcript and write its audio to a WAV file.
    const reply = yield* Stream.runHead(generations).pipe(Effect.flatMap(Effect.orDie))
    let transcript = ""
    yield* reply.messages.pipe(
      Stream.runForEach((message) =>
        Effect.all([
          Stream.runForEach(message.text, (delta) => Effect.sync(() => (transcript += delta.text))),
          Stream.run(message.audio, Wav.sink(output))
        ], { concurrency: "unbounded" })
      )
    )

    // Ask for another reply and cancel it: closing its scope sends response.cancel.
    yield* Effect.scoped(
      Effect.gen(function*() {
        const story = yield* session.generateReply({ instructions: "Tell a long story." })
        yield* story.messages.pipe(Stream.take(1), Stream.runDrain)
      })
    )
    return transcript
  })
// --- end of the README example ------------------------------------------------

describe("README example", () => {
  it.live("sends audio, reads a generation's audio and transcript, and cancels a reply by closing its scope", () =>
    Effect.gen(function*() {
      const fake = yield* FakeServer.make({ pacing: "realtime", reply: { audioMs: 1500, text: "It is sunny in Paris." } })
      const out = join(mkdtempSync(join(tmpdir(), "rfx-readme-")), "reply.wav")
      // The recording pauses after "Hello!": a longer silence keeps the question one turn.
      const model = Xai.layer({
        apiKey: Redacted.make("demo"),
        baseUrl: fake.url,
        turnDetection: { ...Xai.defaultTurnDetection, silence_duration_ms: 600 }
      })
      const transcript = yield* conversation(question, out).pipe(
        Effect.provide(Layer.mergeAll(model, NodeTransport.layer, Resampler.Resampler.layer)),
        Effect.scoped
      )
      assert.strictEqual(transcript, "It is sunny in Paris.")
      const written = yield* Wav.read(out)
      assert.strictEqual(written.sampleRate, 24000)
      assert.approximately(AudioFrame.durationMs(written), 1500, 100)
      // The second reply was cancelled on the server.
      const received = yield* fake.received
      const types = received.map((e) => e["type"])
      assert.isTrue(types.includes("response.create"))
      const cancel = Option.fromNullable(received.find((e) => e["type"] === "response.cancel"))
      assert.isTrue(Option.isSome(cancel))
    }).pipe(Effect.scoped, Effect.timeout("30 seconds")), 40_000)
})
