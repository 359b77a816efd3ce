// realtime-fx as a benchmark client: RealtimeSession over NodeTransport against the fake server.
import { AudioFrame, RealtimeSession, Resampler, Transport, Xai } from "@realtime-fx/core"
import { NodeTransport } from "@realtime-fx/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"

/**
 * The NodeTransport with a hook on every received text frame (`onMessage(text)`), installed without
 * editing library code: a Transport layer wrapping NodeTransport.
 */
const hookedTransport = (onMessage) =>
  Layer.effect(
    Transport.Transport,
    Effect.map(NodeTransport.make(), (t) => ({
      open: (request) =>
        Effect.gen(function*() {
          const conn = yield* t.open(request)
          // Forward every frame into a second mailbox, calling the hook on the way.
          const messages = yield* Mailbox.make()
          yield* Effect.forkScoped(
            Effect.gen(function*() {
              while (true) {
                const [chunk, done] = yield* conn.messages.takeAll
                for (const m of chunk) onMessage(m)
                yield* messages.offerAll(chunk)
                if (done) return yield* messages.end
              }
            }).pipe(Effect.catchAll((error) => messages.fail(error)))
          )
          return { ...conn, messages }
        })
    }))
  )

/** The layers a session needs: xAI against `url`, NodeTransport (optionally hooked), libsamplerate. */
export const layer = (url, { onMessage, resampler = "libsamplerate" } = {}) =>
  Layer.mergeAll(
    Xai.layer({ apiKey: Redacted.make("bench"), baseUrl: url, turnDetection: null }),
    onMessage ? hookedTransport(onMessage) : NodeTransport.layer,
    resampler === "linear" ? Layer.succeed(Resampler.Resampler, Resampler.linearService) : Resampler.Resampler.layer
  )

/** Opens a session and waits until it is connected (so connection setup is never timed). */
export const openSession = Effect.gen(function*() {
  const session = yield* RealtimeSession.make()
  const events = yield* session.subscribeEvents
  yield* events.pipe(Stream.takeUntil((e) => e._tag === "Connected"), Stream.runDrain)
  return session
})

/**
 * Asks for one reply and holds every decoded PCM frame until the response is done; `onAudio(frame)`
 * is the consumer hook. An Effect of { ms, bytes, chunks }.
 */
export const replyOnce = (session, { onAudio } = {}) =>
  Effect.scoped(
    Effect.gen(function*() {
      const held = []
      let bytes = 0
      let text = 0
      const t0 = performance.now()
      const gen = yield* session.generateReply()
      yield* gen.messages.pipe(
        Stream.runForEach((message) =>
          Effect.zip(
            Stream.runForEach(message.audio, (frame) =>
              Effect.sync(() => {
                held.push(frame.data)
                bytes += frame.data.byteLength
                if (onAudio) onAudio(frame)
              })
            ),
            Stream.runForEach(message.text, (d) => Effect.sync(() => void (text += d.text.length))),
            { concurrent: true }
          )
        )
      )
      yield* gen.done
      return { ms: performance.now() - t0, bytes, chunks: held.length, textLength: text }
    })
  )

/** W1/W4: one reply on a fresh session. A Promise of { ms, bytes, chunks }. */
export const inbound = (url, { onAudio, onMessage } = {}) =>
  Effect.runPromise(
    Effect.scoped(Effect.flatMap(openSession, (session) => replyOnce(session, { onAudio }))).pipe(
      Effect.provide(layer(url, { onMessage }))
    )
  )

/**
 * W2: pushes `frames` (Int16Array, 48 kHz stereo, 10 ms) with `pushAudio`, commits, and waits for
 * the server's `input_audio_buffer.committed` (seen by the hooked transport). `resampler`:
 * "libsamplerate" (the default `Resampler.layer`) or "linear" (`Resampler.linearService`). { ms }.
 */
export const outbound = (url, frames, { resampler } = {}) => {
  let acked
  const ack = new Promise((resolve) => (acked = resolve))
  const onMessage = (m) => {
    if (m.includes("\"input_audio_buffer.committed\"")) acked()
  }
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const session = yield* openSession
        const t0 = performance.now()
        for (const data of frames) yield* session.pushAudio(AudioFrame.unsafeMake(data, 48000, 2))
        yield* session.commitAudio
        yield* Effect.promise(() => ack)
        return { ms: performance.now() - t0 }
      })
    ).pipe(Effect.provide(layer(url, { onMessage, resampler })))
  )
}
