/** The session's audio input: validate, resample, chunk and append; commit and clear with the 100 ms rule; the backpressure policy. */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as AudioFrame from "../../AudioFrame.js"
import * as AudioInput from "../../AudioInput.js"
import type { FatalError, ProtocolError } from "../../Errors.js"
import type * as Protocol from "../../Protocol.js"
import { samplesToMs } from "./state.js"

/** The audio methods of a session. */
export interface SessionAudio {
  readonly push: (frame: AudioFrame.AudioFrame) => Effect.Effect<void, FatalError | AudioFrame.AudioFrameError>
  readonly commit: Effect.Effect<void, FatalError>
  readonly clear: Effect.Effect<void, FatalError>
}

/** How the audio input reaches the connection: the session's own sends, with and without waiting. */
export interface Sender {
  /** Sends an event the session built itself, once there is room (an encoding failure is a defect there). */
  readonly send: (event: Protocol.ClientEvent) => Effect.Effect<void, FatalError>
  /**
   * Queues an event at once, in order with every other send, never waiting: `undefined` once queued
   * (and published as `send` does), the session's end error once it has ended, a `ProtocolError`
   * for an event that cannot be encoded (a defect for the session's own events).
   */
  readonly unsafeSend: (event: Protocol.ClientEvent) => FatalError | ProtocolError | undefined
  /**
   * `unsafeSend` of an append carrying `pcm` (published as `unsafeSend` does), encoded before it
   * returns (the chunk's memory may be reused after): `undefined` once queued, the session's end
   * error once it has ended.
   */
  readonly unsafeSendAudio: (pcm: Int16Array) => FatalError | undefined
  /**
   * Completes once the connection's backlog is at or below its high-water mark; fails with the
   * session's end error if the session ended meanwhile (what waited will not be sent).
   */
  readonly awaitRoom: Effect.Effect<void, FatalError>
  /** The session's end error once it has ended (a push then fails with it), else `undefined`. */
  readonly ended: () => FatalError | undefined
}

/** How the audio input meets a connection that cannot keep up. */
export interface Options {
  /**
   * `"wait"`: the caller waits while the connection's backlog is over its high-water mark.
   * `"dropOldest"`: the caller never waits; audio queues here (at most `maxQueuedMs`) and the oldest
   * appends are dropped beyond that, reported through `warn` at most once a second.
   */
  readonly policy: "wait" | "dropOldest"
  readonly warn: (message: string) => void
  readonly maxQueuedMs?: number | undefined
}

/** With `"dropOldest"`: how much audio may wait for the connection before the oldest is dropped. */
export const DEFAULT_MAX_QUEUED_MS = 2000

interface Queued {
  readonly event: Protocol.ClientEvent
  /** Audio milliseconds of an append (droppable); undefined for a commit or a clear. */
  readonly ms: number | undefined
}

/**
 * Makes the audio input over `sender`. It has its own small state (the resampler, the milliseconds
 * pushed since the last commit or clear): `pushAudio` may be called from any fiber.
 *
 * Order: every event is queued on the connection in the order of the calls that made it. A push
 * whose rate has its converter runs synchronously (convert, chunk, queue the appends with
 * `unsafeSendAudio`) and only then waits for room, so nothing can interleave with it. Everything that
 * waits for something first (a rate change building a converter, commit, clear) runs under a
 * semaphore, and while any of them holds or waits for it, pushes queue up behind it too.
 */
export const make = (
  sender: Sender,
  options: Options = { policy: "wait", warn: () => {} }
) =>
  Effect.gen(function*() {
    const input = yield* AudioInput.make
    const lock = yield* Effect.makeSemaphore(1)
    // Calls holding or waiting for `lock`: pushes take the synchronous path only when there are none.
    let locked = 0
    /**
     * Runs `effect` under the lock, counted in `locked` (raised and lowered uninterruptibly, so an
     * interruption cannot leave it raised). The fast path of `push` stays outside any mask: it is
     * the per-frame cost.
     */
    const serialised = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          locked++
          return Effect.ensuring(restore(lock.withPermits(1)(effect)), Effect.sync(() => locked--))
        })
      )
    const clock = yield* Effect.clock
    let pushedMs = 0

    // "dropOldest": events wait here for the pump, which alone waits for the connection.
    const dropOldest = options.policy === "dropOldest"
    const maxQueuedMs = options.maxQueuedMs ?? DEFAULT_MAX_QUEUED_MS
    const queue: Array<Queued> = []
    let queuedMs = 0
    let droppedMs = 0
    let lastWarning = Number.NEGATIVE_INFINITY
    // The pump's wake-up, and open while drops wait to be reported (a Warning held back by the
    // one-a-second rule): "dropOldest" only.
    const ready = dropOldest ? Effect.unsafeMakeLatch(false) : undefined
    const unreported = dropOldest ? Effect.unsafeMakeLatch(false) : undefined

    const reportDrops = () => {
      const now = clock.unsafeCurrentTimeMillis()
      if (droppedMs <= 0 || now - lastWarning < 1000) return
      lastWarning = now
      options.warn(
        `input audio: dropped the oldest ${Math.round(droppedMs)} ms (the connection is not keeping up; audioBackpressure "dropOldest")`
      )
      droppedMs = 0
    }

    /** The queue's position just past its last commit (0 when none is queued). */
    const afterLastCommit = () => {
      for (let i = queue.length - 1; i >= 0; i--) {
        if (queue[i]!.event.type === "input_audio_buffer.commit") return i + 1
      }
      return 0
    }

    const enqueue = (item: Queued) => {
      queue.push(item)
      if (item.ms !== undefined) queuedMs += item.ms
      while (queuedMs > maxQueuedMs) {
        // The oldest audio of the turn still open goes first; a committed turn's only when the open
        // one has none queued (then the 100 ms rule's count, which is the open turn's, is left alone).
        const open = afterLastCommit()
        let oldest = queue.findIndex((q, i) => i >= open && q.ms !== undefined)
        const ofOpenTurn = oldest >= 0
        if (!ofOpenTurn) oldest = queue.findIndex((q) => q.ms !== undefined)
        if (oldest < 0) break
        const [dropped] = queue.splice(oldest, 1)
        queuedMs -= dropped!.ms!
        droppedMs += dropped!.ms!
        unreported?.unsafeOpen()
        if (ofOpenTurn) pushedMs = Math.max(0, pushedMs - dropped!.ms!)
      }
      reportDrops()
      ready?.unsafeOpen()
    }

    if (ready !== undefined && unreported !== undefined) {
      const pump: Effect.Effect<void, FatalError> = Effect.gen(function*() {
        while (true) {
          yield* ready.await
          const item = queue.shift()
          if (item === undefined) {
            ready.unsafeClose()
            continue
          }
          if (item.ms !== undefined) queuedMs -= item.ms
          yield* sender.send(item.event)
          reportDrops()
        }
      })
      // Ends with the session (its scope) or once the connection has given up (the session is over).
      yield* Effect.forkScoped(Effect.ignore(pump))
      // Drops held back by the one-a-second rule are reported when the second is over.
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        yield* unreported.await
        const wait = lastWarning + 1000 - clock.unsafeCurrentTimeMillis()
        if (wait > 0) yield* Effect.sleep(wait)
        unreported.unsafeClose()
        reportDrops()
      })))
    }

    /**
     * Queues one event at once, in order with everything else (or hands it to the pump): `undefined`
     * once queued, else the failure to return (the session's end). The session's own events always
     * encode: one that does not is a defect, not the caller's error.
     */
    const queueEvent = (event: Protocol.ClientEvent, ms?: number): Effect.Effect<never, FatalError> | undefined => {
      if (dropOldest) {
        enqueue({ event, ms })
        return undefined
      }
      const error = sender.unsafeSend(event)
      if (error === undefined) return undefined
      return error._tag === "ProtocolError" ? Effect.die(error) : Effect.fail(error)
    }

    /**
     * Queues the append of one chunk at once (encoded before this returns: the chunk's memory may be
     * reused after): `undefined` once queued, else the failure.
     */
    const queueChunk = (chunk: Int16Array): Effect.Effect<never, FatalError> | undefined => {
      const ms = samplesToMs(chunk.length)
      pushedMs += ms
      if (dropOldest) return queueEvent({ type: "input_audio_buffer.append", audio: AudioFrame.encodeBase64(chunk) }, ms)
      const error = sender.unsafeSendAudio(chunk)
      return error === undefined ? undefined : Effect.fail(error)
    }

    /** Queues the appends of `chunks` at once, in order: `undefined` once queued, else the failure. */
    const queueAll = (chunks: ReadonlyArray<Int16Array>): Effect.Effect<never, FatalError> | undefined => {
      for (const chunk of chunks) {
        const failed = queueChunk(chunk)
        if (failed !== undefined) return failed
      }
      return undefined
    }

    // The fast path's chunk handler (one closure for every push): what it queued, and the first failure.
    let pushQueued = false
    let pushFailed: Effect.Effect<never, FatalError> | undefined
    const onChunk = (chunk: Int16Array): void => {
      if (pushFailed !== undefined) return
      pushQueued = true
      pushFailed = queueChunk(chunk)
    }

    /** What a caller waits for once its events are queued: room on the connection ("wait" only). */
    const room: Effect.Effect<void, FatalError> = dropOldest ? Effect.void : sender.awaitRoom

    /**
     * Takes audio out of the input (`take`), queues its appends and then whatever `after` queues, as
     * one step that an interruption cannot split (what the converter consumed is sent, a commit or a
     * clear goes with the audio it ends); only the wait for room that follows is interruptible.
     */
    const takeAndQueue = (
      take: Effect.Effect<ReadonlyArray<Int16Array>>,
      after: () => Protocol.ClientEvent | undefined = () => undefined
    ): Effect.Effect<void, FatalError> =>
      Effect.flatMap(
        Effect.uninterruptible(Effect.flatMap(take, (chunks) => {
          const failed = queueAll(chunks)
          if (failed !== undefined) return failed
          const event = after()
          const failedToo = event === undefined ? undefined : queueEvent(event)
          return failedToo ?? Effect.succeed(chunks.length > 0 || event !== undefined)
        })),
        // A call that queued nothing does not wait for room.
        (queued) => (queued ? room : Effect.void)
      )

    // The last rate and channel count that passed `AudioFrame.validate`.
    let checkedRate = Number.NaN
    let checkedChannels = Number.NaN

    const push = (frame: AudioFrame.AudioFrame) =>
      Effect.suspend((): Effect.Effect<void, FatalError | AudioFrame.AudioFrameError> => {
        const ended = sender.ended()
        if (ended !== undefined) return Effect.fail(ended)
        // A frame that cannot be audio is refused with a typed error before it touches the pipeline.
        // (The rate and channel checks depend on those values only: a pair already checked passes.)
        if (frame.sampleRate !== checkedRate || frame.channels !== checkedChannels || frame.data.length % frame.channels !== 0) {
          const valid = AudioFrame.validate(frame.data, frame.sampleRate, frame.channels)
          if (Either.isLeft(valid)) return Effect.fail(valid.left)
          checkedRate = frame.sampleRate
          checkedChannels = frame.channels
        }
        if (locked === 0) {
          // Synchronous from here to the queueing of the appends: nothing can interleave. Then the
          // wait for room, unless nothing was queued (most frames).
          pushQueued = false
          pushFailed = undefined
          if (input.unsafePushEach(frame, onChunk)) return pushFailed ?? (pushQueued ? room : Effect.void)
        }
        return serialised(takeAndQueue(input.push(frame)))
      })

    // The filter's tail, then the commit (if there is audio to commit), queued together.
    const commit = serialised(takeAndQueue(
      Effect.map(input.flush, (rest) => rest !== undefined && rest.length > 0 ? [rest] : []),
      () => {
        if (pushedMs <= 100) return undefined
        pushedMs = 0
        return { type: "input_audio_buffer.commit" }
      }
    ))

    // The local remainder and the server's buffer are cleared together.
    const clear = serialised(takeAndQueue(Effect.as(input.clear, []), () => {
      if (dropOldest) {
        // Audio of the open turn still waiting here would be cleared on the server anyway: it is
        // not sent. A committed turn's audio stays (its commit needs it).
        for (let i = queue.length - 1, open = afterLastCommit(); i >= open; i--) {
          const ms = queue[i]!.ms
          if (ms === undefined) continue
          queue.splice(i, 1)
          queuedMs -= ms
        }
      }
      pushedMs = 0
      return { type: "input_audio_buffer.clear" }
    }))

    return { push, commit, clear } satisfies SessionAudio
  })
