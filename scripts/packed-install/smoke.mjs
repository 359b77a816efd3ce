// Run by scripts/packed-install.sh inside a fresh app that installed the packed tarballs: uses the
// installed packages as a user would and fails (exit code 1) when anything does not work.
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { createRequire } from "node:module"
import { Protocol, RealtimeModel, RealtimeSession, Resampler, Xai } from "@realtime-fx/core"
import { NodeTransport, Wav } from "@realtime-fx/node"
import { FakeServer } from "@realtime-fx/test-kit"
import { BrowserTransport } from "@realtime-fx/browser"

const require = createRequire(import.meta.url)
const check = (condition, message) => {
  if (!condition) throw new Error(message)
}

// "./package.json" is exported, and the User-Agent carries its version.
const core = require("@realtime-fx/core/package.json")
check(RealtimeModel.userAgent === `realtime-fx/${core.version}`, `User-Agent ${RealtimeModel.userAgent} vs ${core.version}`)
check(require("@realtime-fx/node/package.json").name === "@realtime-fx/node", "node's package.json export")

// An encoded client event.
const encoded = JSON.parse(Protocol.encodeClientEvent({ type: "input_audio_buffer.clear" }))
check(encoded.type === "input_audio_buffer.clear", `encoded ${JSON.stringify(encoded)}`)

const program = Effect.gen(function*() {
  // A WAV round trip.
  const frame = { data: Int16Array.from([0, 1000, -1000, 32767]), sampleRate: 24000, channels: 1 }
  const decoded = yield* Wav.fromBytes(Wav.toBytes(frame))
  check(Array.from(decoded.data).join() === Array.from(frame.data).join(), "WAV round trip")

  // A reply from the loopback fake server, through the Node transport.
  const fake = yield* FakeServer.make({ pacing: "fast", reply: { audioMs: 200, text: "Packed and installed." } })
  const resampler = Resampler.layer ?? Resampler.Resampler.layer
  const layer = Layer.mergeAll(Xai.layer({ apiKey: Redacted.make("smoke"), baseUrl: fake.url }), NodeTransport.layer, resampler)
  const text = yield* Effect.gen(function*() {
    const session = yield* RealtimeSession.make()
    const reply = yield* session.generateReply({ instructions: "Say something." })
    let text = ""
    yield* Stream.runForEach(reply.messages, (message) =>
      Stream.runForEach(message.text, (delta) => Effect.sync(() => (text += delta.text))))
    return text
  }).pipe(Effect.scoped, Effect.provide(layer))
  check(text === "Packed and installed.", `reply text ${JSON.stringify(text)}`)

  // The browser package loads next to the others; its up-front check refuses an API key (a browser
  // cannot send the Authorization header) and accepts a client secret.
  const browserCheck = (options) => BrowserTransport.checkModel.pipe(Effect.provide(Xai.layer(options)), Effect.either)
  const withKey = yield* browserCheck({ apiKey: Redacted.make("smoke") })
  check(withKey._tag === "Left" && withKey.left._tag === "ConfigurationError", `browser check with an API key: ${String(withKey)}`)
  const withSecret = yield* browserCheck({ clientSecret: Redacted.make("smoke-secret") })
  check(withSecret._tag === "Right", `browser check with a client secret: ${String(withSecret)}`)
})

await Effect.runPromise(program.pipe(Effect.scoped, Effect.timeout("20 seconds")))
console.log(`smoke: ok (${RealtimeModel.userAgent}, effect ${require("effect/package.json").version})`)
