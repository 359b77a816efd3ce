// realtime-fx as a bench client: RealtimeSession over NodeTransport, xAI dialect, the default
// Resampler layer (module-level `Resampler.layer`) or the linear fallback.
import { AudioFrame, RealtimeSession, Resampler, Transport, Xai } from "@realtime-fx/core"
import { NodeTransport } from "@realtime-fx/node"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * NodeTransport with a hook on every received text frame, without editing library code: the
 * transport's push delivery (`listen`) gets a handler that calls the hook first. Used by W2 only, to
 * see the server's `input_audio_buffer.committed`.
 */
const hookedTransport = (onMessage) =>
  Layer.effect(
    Transport.Transport,
    Effect.map(NodeTransport.make(), (t) => ({
      open: (request) =>
        Effect.map(t.open(request), (conn) => ({
          ...conn,
          listen: (handler, onEnd) =>
            conn.listen((text) => {
              onMessage(text)
              handler(text)
            }, onEnd)
        }))
    }))
  )

let runtime
let hook = () => {}

/** The shared runtime of this process: one provider, transport and resampler layer for every session. */
const runtimeFor = (url, job) => {
  runtime ??= ManagedRuntime.make(
    Layer.mergeAll(
      Xai.layer({ apiKey: Redacted.make("bench"), baseUrl: url, turnDetection: null }),
      job.workload === "w2" ? hookedTransport((m) => hook(m)) : NodeTransport.layer,
      job.resampler === "linear" ? Resampler.layerLinear : Resampler.layer
    )
  )
  return runtime
}

/** Opens a session and waits until it is connected (connection setup is never timed). */
const openSession = Effect.gen(function*() {
  const session = yield* RealtimeSession.make()
  // The subscription ends once connected (scoped here, not to the session: nothing piles up unread).
  yield* Effect.scoped(Effect.flatMap(
    session.subscribeEvents,
    (events) => events.pipe(Stream.takeUntil((e) => e._tag === "Connected"), Stream.runDrain)
  ))
  return session
})

/**
 * One reply: every decoded PCM frame is held until the response is done; the bytes. The audio is
 * read from the message's Stream, or with `consumer: "runAudio"` handed to a callback.
 */
const replyOnce = (session, job) =>
  Effect.scoped(
    Effect.gen(function*() {
      const held = []
      let bytes = 0
      let text = 0
      const hold = (frame) => {
        held.push(frame.data)
        bytes += frame.data.byteLength
      }
      const gen = yield* session.generateReply()
      yield* gen.messages.pipe(
        Stream.runForEach((message) =>
          Effect.zip(
            job.consumer === "runAudio"
              ? message.runAudio(hold)
              : Stream.runForEach(message.audio, (frame) => Effect.sync(() => hold(frame))),
            Stream.runForEach(message.text, (d) => Effect.sync(() => void (text += d.text.length))),
            { concurrent: true }
          )
        )
      )
      yield* gen.done
      return bytes
    })
  )

/** Opens one realtime-fx session. */
export const open = async (url, job) => {
  const rt = runtimeFor(url, job)
  const scope = await rt.runPromise(Scope.make())
  const session = await rt.runPromise(Scope.extend(openSession, scope))
  return {
    reply: () => rt.runPromise(replyOnce(session, job)),
    /** W2: the frames as AudioFrames (built before the clock). */
    prepareOutbound: (frames) => frames.map((data) => AudioFrame.unsafeMake(data, 48000, 2)),
    outbound: (frames) => {
      const acked = new Promise((resolve) => {
        hook = (m) => {
          if (m.includes("\"input_audio_buffer.committed\"")) resolve()
        }
      })
      return rt.runPromise(
        Effect.gen(function*() {
          for (const frame of frames) yield* session.pushAudio(frame)
          yield* session.commitAudio
          yield* Effect.promise(() => acked)
        })
      )
    },
    /** W3: one reply whose audio is drained in a fiber of the session's scope (Stream or `runAudio`); `onBytes(n)` per frame. */
    stream: (onBytes) =>
      rt.runPromise(
        Effect.gen(function*() {
          const gen = yield* session.generateReply()
          yield* Effect.forkScoped(
            (job.consumer === "runAudio"
              ? Stream.runForEach(gen.messages, (m) => m.runAudio((f) => onBytes(f.data.byteLength)))
              : gen.messages.pipe(
                Stream.flatMap((m) => m.audio),
                Stream.runForEach((f) => Effect.sync(() => onBytes(f.data.byteLength)))
              )).pipe(Effect.ignore)
          )
        }).pipe(Scope.extend(scope))
      ),
    close: () => rt.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Builds the shared layer before any session (so W3's RSS baseline includes it). */
export const prepare = (url, job) => runtimeFor(url, job).runtime()
