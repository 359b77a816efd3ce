/**
 * The supervised connection: opens the transport, retries with a Schedule, keeps the Outbox of
 * client events across reconnects, replays session state after each reconnect, and recycles the
 * connection after `maxSessionDuration`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Mailbox from "effect/Mailbox"
import type * as MetricLabel from "effect/MetricLabel"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import {
  AuthenticationError,
  ConnectionError,
  type FatalError,
  ProtocolError,
  ServerError,
  SessionClosedError
} from "./Errors.js"
import * as Redact from "./internal/redact.js"
import { bytesInMetric, bytesOutMetric } from "./Metrics.js"
import * as Protocol from "./Protocol.js"
import { Transport, type TransportConnection, type TransportRequest } from "./Transport.js"

/**
 * Retry and timeout settings (the seed's `connOptions`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  readonly maxRetry: number
  readonly retryInterval: Duration.Duration
  readonly timeout: Duration.Duration
}

/**
 * What the supervisor needs from the session that owns it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionConfig {
  /** The request for the next attempt (evaluated on every attempt). */
  readonly request: Effect.Effect<TransportRequest>
  readonly retry: RetryOptions
  /** Close and reconnect (with replay) after this long, once the session is idle. */
  readonly maxSessionDuration?: Duration.Duration | undefined
  /** Events sent first on every connection, before the Outbox (session.update, tools, chat context). */
  readonly replay: Effect.Effect<ReadonlyArray<Protocol.ClientEvent>>
  /** Completes when no generation is in progress (recycling waits for it). */
  readonly awaitIdle: Effect.Effect<void>
  /** Server errors that mean "this session expired": reconnect with replay at once. */
  readonly isRecycleError?: (error: { readonly type?: string | undefined; readonly code?: string | undefined }) => boolean
  /** Tags of the byte counters (`Metrics.bytesInMetric`, `bytesOutMetric`): the session's provider and model. */
  readonly metricTags?: ReadonlyArray<MetricLabel.MetricLabel> | undefined
  /** Removes the session's secrets from server text before it goes into an error. */
  readonly scrub?: ((text: string) => string) | undefined
  /** Server error codes that end the session (default `fatalErrorCodes`). */
  readonly fatalErrorCodes?: ReadonlySet<string> | undefined
  /**
   * Write backpressure: once the bytes queued (Outbox, unfinished writes, the transport's buffer)
   * exceed this, `send` waits until they fall to `lowWaterMark` (default 1 MiB). `unsafeSend` never waits.
   */
  readonly highWaterMark?: number | undefined
  /** Where waiting senders resume (default 256 KiB, at most `highWaterMark`). */
  readonly lowWaterMark?: number | undefined
  /**
   * Liveness: how long the peer may send nothing at all (no frame, no pong) before the connection
   * counts as lost (a retryable `ConnectionError`, so the reconnect rules apply). Read on every check,
   * so it can depend on the session (shorter while a response is active). The connection pings a
   * quiet peer meanwhile. Absent: no liveness check.
   */
  readonly idleTimeout?: Effect.Effect<Duration.Duration> | undefined
  /**
   * Read with the idle timeout: while true, only frames count as traffic (a peer that answers pings
   * but sends no event, like a server stalled mid-reply, is silent). Default false: pongs count too.
   */
  readonly framesOnly?: Effect.Effect<boolean> | undefined
  /**
   * The shortest timeout `idleTimeout` can switch to. The watchdog then sleeps at most a quarter of
   * it (at most 5 s), so a switch to a shorter timeout is seen before that timeout could pass. Absent,
   * it sleeps at most a quarter of the current timeout and at most a second.
   *
   * @since 0.2.0
   */
  readonly minIdleTimeout?: Duration.DurationInput | undefined
  /**
   * Where the events go. By default they fill the connection's own mailbox, read through `events`;
   * a consumer that already owns a queue (the session) passes it here and saves a hop per frame.
   */
  readonly sink?: ConnectionSink | undefined
}

/**
 * A consumer's own queue for connection events (see `ConnectionConfig.sink`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionSink {
  readonly offerAll: (events: ReadonlyArray<ConnectionEvent>) => Effect.Effect<unknown>
  /**
   * Takes one event synchronously; used for frames pushed by a transport's receive callback
   * (`TransportConnection.listen`). Absent: the connection reads frames from the transport's
   * `messages` and hands them over in batches through `offerAll`.
   *
   * @since 0.2.0
   */
  readonly unsafeOffer?: ((event: ConnectionEvent) => void) | undefined
  /**
   * With `unsafeOffer`: takes a pushed frame's server event without its `Message` wrapper (no
   * allocation per frame). Absent: it goes through `unsafeOffer` as a `Message` event.
   *
   * @since 0.2.0
   */
  readonly unsafeMessage?: ((event: Protocol.DecodedServerEvent) => void) | undefined
  /** The connection gave up: no event follows. */
  readonly fail: (error: FatalError) => Effect.Effect<unknown>
}

/**
 * What the supervisor reports, in order, on its single event stream.
 *
 * @since 0.1.0
 * @category models
 */
export type ConnectionEvent =
  | {
    readonly _tag: "Connected"
    /** 1 for the first connection, then 2, 3, ... */
    readonly connection: number
    readonly reconnected: boolean
  }
  | { readonly _tag: "Message"; readonly event: Protocol.DecodedServerEvent }
  | { readonly _tag: "Malformed"; readonly error: ProtocolError }
  | {
    readonly _tag: "Disconnected"
    /**
     * Why the connection ended (undefined when it was recycled on purpose). A fatal error (a fatal
     * server code, a refused key, retries exhausted) is followed by the end of the events.
     */
    readonly error: FatalError | undefined
  }

/**
 * The supervised connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface Connection {
  /**
   * Queues a client event in the Outbox. It leaves the Outbox only once written to an open
   * connection, so it is sent exactly once, in order, whatever happens to connections meanwhile.
   * Above the high-water mark it first waits (backpressure) until what is queued has drained to the
   * low-water mark. Fails with the fatal error once the connection has given up.
   */
  readonly send: (event: Protocol.ClientEvent) => Effect.Effect<void, FatalError | ProtocolError>
  /**
   * The same as `send`, synchronously (for a caller that is itself running synchronous code, like the
   * session's dispatcher): returns the error instead of failing, `undefined` once queued. It never
   * waits and never drops: it is meant for small control events.
   */
  readonly unsafeSend: (event: Protocol.ClientEvent) => FatalError | ProtocolError | undefined
  /**
   * `unsafeSend` of an `input_audio_buffer.append` carrying `pcm` (24 kHz mono PCM16), its text built
   * straight from the samples (`Protocol.encodeAppendPcm`, no Schema pass): `pcm` may be reused once
   * this returns. `undefined` once queued, the connection's end error once it has given up.
   *
   * @since 0.2.0
   */
  readonly unsafeSendAudio: (pcm: Int16Array) => FatalError | undefined
  /**
   * Completes once the bytes queued are at or below the high-water mark: at once when they are (or
   * once the connection has given up), else when they have drained to the low-water mark. `send` is
   * `awaitRoom` then `unsafeSend`; a caller that queues first (`unsafeSend`) and waits after keeps
   * its order with other senders, and the mark is overshot by the events queued that way.
   *
   * @since 0.2.0
   */
  readonly awaitRoom: Effect.Effect<void>
  /**
   * Every connection event, for one consumer; fails with the fatal error that ended it. Empty when
   * the config names a `sink`.
   */
  readonly events: Stream.Stream<ConnectionEvent, FatalError>
  /**
   * Asks for a recycle now: close and reconnect with replay once idle (a connection still writing
   * its replay is recycled once that is done). While no connection is open (connecting, in
   * backoff) there is nothing to recycle: the next connection is a fresh one.
   */
  readonly recycle: Effect.Effect<void>
  /** Connection attempts so far. */
  readonly attempts: Effect.Effect<number>
  /**
   * Bytes queued and not yet written: the Outbox, unfinished writes and the transport's buffer.
   *
   * @since 0.2.0
   */
  readonly buffered: Effect.Effect<number>
}

/**
 * Default high-water mark of the write backlog (1 MiB).
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultHighWaterMark = 1024 * 1024

/**
 * Default low-water mark of the write backlog (256 KiB).
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultLowWaterMark = 256 * 1024

/**
 * Server error codes that retrying cannot fix.
 *
 * @since 0.1.0
 * @category constants
 */
export const fatalErrorCodes: ReadonlySet<string> = new Set([
  "insufficient_quota",
  "invalid_api_key",
  "account_deactivated",
  "billing_hard_limit_reached"
])

/**
 * The waits before each retry: 0.1 s first, then `retryInterval`, `maxRetry` in all.
 *
 * @since 0.1.0
 * @category constructors
 */
export const retryDelays = (options: RetryOptions): ReadonlyArray<Duration.Duration> =>
  Array.from({ length: Math.max(0, options.maxRetry) }, (_, i) => i === 0 ? Duration.millis(100) : options.retryInterval)

const scheduleOf = (delays: ReadonlyArray<Duration.Duration>) =>
  delays.length === 0 ? Schedule.stop : Schedule.fromDelays(delays[0]!, ...delays.slice(1))

const identity = (text: string) => text
const identityEffect = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect
const ignore = () => {}

/** The host of a URL (no path or query: those may carry secrets), for span attributes. */
const hostOf = (url: string): string => {
  try {
    return new URL(url).host
  } catch {
    return "invalid-url"
  }
}

/** Encodes a client event without throwing: a value the schema refuses is a `ProtocolError`. */
const encode = Protocol.encodeClientEventEither

/**
 * The error that ends a session when one of its fibers dies: `SessionClosedError` with the defect
 * described (capped).
 *
 * @since 0.2.0
 * @category errors
 */
export const defectError = (where: string, cause: Cause.Cause<unknown>): SessionClosedError =>
  new SessionClosedError({
    message: `${where} failed unexpectedly: the session is closed`,
    defect: Cause.pretty(cause).slice(0, 2000)
  })

type Outcome =
  | { readonly _tag: "Dropped"; readonly error: ConnectionError }
  | { readonly _tag: "Recycle" }
  | { readonly _tag: "Fatal"; readonly error: FatalError }

/** Marks a connection that ended without an outcome of its own (interrupted): later frames are ignored. */
const ended: Outcome = { _tag: "Recycle" }

/** An open connection's outcome: undefined until the first participant decides it. */
interface Live {
  outcome: Outcome | undefined
  readonly decide: (outcome: Outcome) => void
}

/** The write timeout for one frame: a write that cannot complete means the socket is gone. */
const writeTimeout = (options: RetryOptions) => options.timeout

/**
 * Starts the supervisor in the current Scope. Closing the Scope stops it at once (connecting,
 * open or in backoff): the transport scope closes and the event stream ends.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: ConnectionConfig): Effect.Effect<Connection, never, Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Transport
    const metricTags = config.metricTags ?? []
    // Encoded client events: a frame that cannot be encoded is refused to its sender, never queued.
    // `queued` is open while the Outbox holds any; the writer waits on it and takes nothing while
    // interruptible, so an interrupted writer never drops an event it took.
    let outbox: Array<string> = []
    const queued = yield* Effect.makeLatch(false)
    let shutDown = false
    // Events taken from the Outbox whose write did not finish: written first on the next connection.
    let unsent: ReadonlyArray<string> = []
    /** Everything queued, in order (what a failed write left first), leaving the Outbox empty. */
    const takeQueued = (): Array<string> => {
      const batch = unsent.length === 0 ? outbox : [...unsent, ...outbox]
      unsent = []
      outbox = []
      queued.unsafeClose()
      return batch
    }
    // The connection's own mailbox, only when no sink takes the events.
    const mailbox = config.sink === undefined ? yield* Mailbox.make<ConnectionEvent, FatalError>() : undefined
    const sink: ConnectionSink = config.sink ?? {
      offerAll: (events) => mailbox!.offerAll(events),
      unsafeOffer: (event) => void mailbox!.unsafeOffer(event),
      fail: (error) => mailbox!.fail(error)
    }
    let gaveUp: FatalError | undefined
    const attempts = yield* Ref.make(0)
    // Set while a connection is live: `recycle` starts its wait for idle. A recycle asked while the
    // connection is open but still priming is held in `recycleAsked` until it is live.
    let onRecycleAsked: (() => void) | undefined
    let recycleAsked = false
    const forkHere = yield* FiberSet.makeRuntime<never, void, never>()
    const delays = retryDelays(config.retry)

    // Backpressure. `queuedBytes` counts the Outbox and the unfinished writes (text length: the
    // frames are JSON, ASCII but for user text); the open transport adds its own buffer.
    const highWater = Math.max(1, config.highWaterMark ?? defaultHighWaterMark)
    const lowWater = Math.min(config.lowWaterMark ?? defaultLowWaterMark, highWater)
    let queuedBytes = 0
    let current: TransportConnection | undefined
    let blocked = false
    // Made on the first wait for room (most connections never wait).
    let drained: Effect.Latch | undefined
    const inFlight = () => queuedBytes + (current?.bufferedAmount?.() ?? 0)
    /** Lets waiting senders go once the backlog is down to the low-water mark (or nothing can drain it). */
    const release = (force = false) => {
      if (blocked && (force || gaveUp !== undefined || inFlight() <= lowWater)) {
        blocked = false
        drained?.unsafeOpen()
      }
    }
    const awaitRoom: Effect.Effect<void> = Effect.suspend(() => {
      if (gaveUp !== undefined || (!blocked && inFlight() <= highWater)) return Effect.void
      if (!blocked) {
        blocked = true
        drained ??= Effect.unsafeMakeLatch(false)
        drained.unsafeClose()
      }
      return Effect.zipRight(drained!.await, awaitRoom)
    })
    // When the reader last saw a frame (the liveness check adds the transport's pongs).
    const clock = yield* Effect.clock
    let lastFrameAt = clock.unsafeCurrentTimeMillis()

    /**
     * Writes events in order under one write timeout. With `keep`, what a failed or interrupted
     * batch did not finish goes back to be written first on the next connection: the caller runs
     * it uninterruptibly and passes `restore`, so only the writes are interruptible and the saving
     * of what is left is in place before the first of them. The batch is the caller's to give: each
     * text is let go once written (a long batch would otherwise keep every frame it wrote alive, on
     * the heap, until its last one is written).
     */
    const writeBatch = (
      conn: TransportConnection,
      batch: Array<string>,
      keep: boolean,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = identityEffect
    ) => {
      let written = 0
      // The frame being written counts as the transport's (its buffer) until the write fails.
      let handedOver = 0
      return restore(Effect.gen(function*() {
        while (written < batch.length) {
          const text = batch[written]!
          if (keep) {
            handedOver = text.length
            queuedBytes -= handedOver
          }
          yield* conn.send(text)
          batch[written] = ""
          bytesOutMetric.unsafeUpdate(text.length, metricTags)
          handedOver = 0
          written++
          release()
        }
      }).pipe(
        Effect.timeoutFail({
          duration: writeTimeout(config.retry),
          onTimeout: () => new ConnectionError({ message: "write timed out", retryable: true, timedOut: true })
        })
      )).pipe(
        Effect.onExit((exit) =>
          keep && Exit.isFailure(exit)
            ? Effect.sync(() => {
              queuedBytes += handedOver
              handedOver = 0
              unsent = [...batch.slice(written), ...unsent]
              if (unsent.length > 0) queued.unsafeOpen()
            })
            : Effect.void
        )
      )
    }

    /** Opens one connection in its own scope, bounded by the connect timeout. */
    const openOnce = Effect.gen(function*() {
      const attempt = yield* Ref.updateAndGet(attempts, (n) => n + 1)
      const scope = yield* Scope.make()
      const request = yield* config.request
      yield* Effect.annotateCurrentSpan({ "url.host": hostOf(request.url), "realtime.connect.attempt": attempt })
      const conn = yield* transport.open(request).pipe(
        Scope.extend(scope),
        Effect.timeoutFail({
          duration: config.retry.timeout,
          onTimeout: () =>
            new ConnectionError({
              message: `connection attempt timed out after ${Duration.format(config.retry.timeout)}`,
              retryable: true,
              timedOut: true
            })
        }),
        Effect.onExit((exit) => Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void),
        Effect.tapBoth({
          onFailure: (error) => Effect.annotateCurrentSpan("realtime.connect.outcome", error._tag),
          onSuccess: () => Effect.annotateCurrentSpan("realtime.connect.outcome", "open")
        })
      )
      return { conn, scope } as const
    }).pipe(Effect.withSpan("realtime.connect"))

    const connect = (afterDrop: boolean) => {
      const retried = (ds: ReadonlyArray<Duration.Duration>) =>
        openOnce.pipe(
          Effect.retry({
            schedule: scheduleOf(ds),
            while: (error) => error._tag === "ConnectionError" && error.retryable
          })
        )
      return afterDrop && delays.length > 0
        ? Effect.sleep(delays[0]!).pipe(Effect.zipRight(retried(delays.slice(1))))
        : afterDrop
        ? Effect.fail(new ConnectionError({ message: "connection lost and no retries allowed", retryable: false }))
        : retried(delays)
    }

    const classify = (
      event: Protocol.DecodedServerEvent
    ): Outcome | undefined => {
      if (Protocol.isUnknownServerEvent(event) || event.type !== "error") return undefined
      const detail = event.error
      if (detail.code !== undefined && detail.code !== null && (config.fatalErrorCodes ?? fatalErrorCodes).has(detail.code)) {
        // Server text: this session's secrets scrubbed out first, then capped.
        const text = (fallback: string) => Redact.capString((config.scrub ?? identity)(detail.message ?? fallback), 1000)
        const error = detail.code === "invalid_api_key"
          ? new AuthenticationError({ message: text("invalid API key") })
          : new ServerError({
            message: text(detail.code),
            code: Redact.capString(detail.code),
            errorType: detail.type != null ? Redact.capString(detail.type) : undefined,
            fatal: true
          })
        return { _tag: "Fatal", error }
      }
      if (config.isRecycleError?.({ type: detail.type ?? undefined, code: detail.code ?? undefined })) {
        return { _tag: "Recycle" }
      }
      return undefined
    }

    /**
     * Decodes one frame and hands it on (a server event to `message`, a malformed frame to `other`);
     * an outcome when it ends the connection (a fatal or recycling error).
     */
    const ingest = (
      text: string,
      other: (event: ConnectionEvent) => void,
      message: (event: Protocol.DecodedServerEvent) => void
    ): Outcome | undefined => {
      const decoded = Protocol.decodeServerFrame(text)
      if (decoded instanceof ProtocolError) {
        other({ _tag: "Malformed", error: decoded })
        return undefined
      }
      message(decoded)
      return classify(decoded)
    }

    const closedByServer = (): Outcome => ({
      _tag: "Dropped",
      error: new ConnectionError({ message: "the server closed the connection", retryable: true, code: 1000 })
    })

    /** How the transport's end becomes an outcome: a normal close or the error it ended with. */
    const endOutcome = (exit: Exit.Exit<void, ConnectionError>): Outcome => {
      if (Exit.isSuccess(exit)) return closedByServer()
      const error = Cause.failureOption(exit.cause)
      return {
        _tag: "Dropped",
        error: error._tag === "Some"
          ? error.value
          : new ConnectionError({ message: "the transport ended unexpectedly", retryable: true })
      }
    }

    /**
     * Frames decoded and handed on in the transport's receive callback: no fiber between the socket
     * and the session, and none waiting for the end either (`onEnd`). A frame that decides the outcome
     * (a fatal or recycling error, a fault) ends the connection at once: a close handshake the peer
     * may never answer is not waited for (the scope closes the transport). Nothing is handed on once
     * the outcome is decided.
     */
    const listenTo = (
      listen: NonNullable<TransportConnection["listen"]>,
      offer: (event: ConnectionEvent) => void,
      live: Live
    ): void => {
      // A server event goes on without a `Message` wrapper when the sink takes it so.
      const message = sink.unsafeMessage ?? ((event: Protocol.DecodedServerEvent) => offer({ _tag: "Message", event }))
      listen((text) => {
        if (live.outcome !== undefined) return
        lastFrameAt = clock.unsafeCurrentTimeMillis()
        let stop: Outcome | undefined
        try {
          bytesInMetric.unsafeUpdate(text.length, metricTags)
          stop = ingest(text, offer, message)
        } catch (defect) {
          stop = { _tag: "Fatal", error: defectError("the connection reader", Cause.die(defect)) }
        }
        if (stop !== undefined) live.decide(stop)
      }, (exit) => live.decide(endOutcome(exit)))
    }

    /** Takes frames in batches from `messages`; decodes a whole batch and hands it on in one offer. */
    const pullReader = (conn: TransportConnection): Effect.Effect<Outcome> =>
      Effect.gen(function*() {
        // Stops after a fatal or recycling error: the rest of its batch is not handed on.
        while (true) {
          const taken = yield* Effect.either(conn.messages.takeAll)
          if (Either.isLeft(taken)) return { _tag: "Dropped", error: taken.left } as const
          const [chunk, done] = taken.right
          lastFrameAt = clock.unsafeCurrentTimeMillis()
          const events: Array<ConnectionEvent> = []
          const other = (event: ConnectionEvent) => void events.push(event)
          const message = (event: Protocol.DecodedServerEvent) => void events.push({ _tag: "Message", event })
          let outcome: Outcome | undefined
          let bytes = 0
          for (const text of chunk) {
            bytes += text.length
            outcome = ingest(text, other, message)
            if (outcome !== undefined) break
          }
          bytesInMetric.unsafeUpdate(bytes, metricTags)
          if (events.length > 0) yield* sink.offerAll(events)
          if (outcome !== undefined) return outcome
          if (done) return closedByServer()
        }
      })

    /** The first fatal error among frames no one will read (nothing is handed on). */
    const fatalAmong = (frames: Iterable<string>): Outcome | undefined => {
      for (const text of frames) {
        const outcome = ingest(text, ignore, ignore)
        if (outcome?._tag === "Fatal") return outcome
      }
      return undefined
    }

    /** Writes the queued events, in order, everything queued at a time. */
    const writeQueued = (conn: TransportConnection) =>
      Effect.uninterruptibleMask((restore) => Effect.suspend(() => writeBatch(conn, takeQueued(), true, restore)))

    /** Writes the Outbox for as long as the connection lives: waits (taking nothing), then writes. */
    const writer = (conn: TransportConnection): Effect.Effect<Outcome> =>
      Effect.zipRight(queued.await, writeQueued(conn)).pipe(
        Effect.forever,
        Effect.catchAll((error) => Effect.succeed<Outcome>({ _tag: "Dropped", error }))
      )

    /**
     * Liveness: a peer silent (no frame, no pong) for the idle timeout is lost. Frames are timed by
     * the reader; the transport's pong counter is sampled at every check. A peer quiet for a quarter
     * of the timeout (at most 5 s) is pinged, at that pace. The watchdog sleeps until the next thing
     * that can happen: the silence deadline, the next ping, the pong of a ping in flight (looked for
     * every quarter of the timeout, at most every second), and at most a quarter of `minIdleTimeout`
     * (so a switch to a shorter timeout is seen in time; without it, at most a second). A connection
     * with traffic and a `minIdleTimeout` wakes it about once a ping interval.
     */
    const watchdog = (conn: TransportConnection, idleTimeout: Effect.Effect<Duration.Duration>): Effect.Effect<Outcome> =>
      Effect.gen(function*() {
        let pongs = conn.activity?.() ?? 0
        let lastPongAt = yield* Clock.currentTimeMillis
        let lastPingAt = lastPongAt
        let awaitingPong = false
        const longestSleep = config.minIdleTimeout === undefined
          ? undefined
          : Math.max(1, Math.min(Duration.toMillis(Duration.decode(config.minIdleTimeout)) / 4, 5000))
        while (true) {
          const idle = yield* idleTimeout
          // A pong only proves the socket: `framesOnly` (a response in progress) wants events.
          const idleMs = Duration.toMillis(idle)
          const checkEvery = Math.max(1, Math.min(idleMs / 4, 1000))
          const pingAfter = Math.max(1, Math.min(idleMs / 4, 5000))
          const now = yield* Clock.currentTimeMillis
          const seen = conn.activity?.() ?? 0
          if (seen !== pongs) {
            pongs = seen
            lastPongAt = now
            awaitingPong = false
          }
          const framesOnly = config.framesOnly === undefined ? false : yield* config.framesOnly
          const silent = now - (framesOnly ? lastFrameAt : Math.max(lastPongAt, lastFrameAt))
          if (silent >= idleMs) {
            return {
              _tag: "Dropped",
              error: new ConnectionError({
                message: `no traffic from the server for ${Duration.format(idle)}`,
                retryable: true,
                timedOut: true
              })
            } as const
          }
          // A frame since the last ping proves the peer as well as its pong would.
          if (lastFrameAt >= lastPingAt) awaitingPong = false
          let wait = Math.min(idleMs - silent, pingAfter, longestSleep ?? checkEvery)
          if (conn.ping !== undefined) {
            if (silent >= pingAfter && now - lastPingAt >= pingAfter) {
              lastPingAt = now
              // Looked for soon only where pongs can be seen at all.
              awaitingPong = conn.activity !== undefined
              yield* conn.ping
            }
            wait = Math.min(wait, Math.max(lastPingAt + pingAfter - now, pingAfter - silent))
            if (awaitingPong) wait = Math.min(wait, checkEvery)
          }
          yield* Effect.sleep(Duration.millis(Math.max(1, wait)))
        }
      })

    /** Recycling once the session is idle. */
    const recycleWhenIdle: Effect.Effect<Outcome> = Effect.as(config.awaitIdle, { _tag: "Recycle" })

    /** Replay, then what the last connection could not write, then the Outbox as it is now. */
    const prime = (conn: TransportConnection) =>
      Effect.gen(function*() {
        const replayed: Array<string> = []
        for (const event of yield* config.replay) {
          const encoded = encode(event)
          if (Either.isRight(encoded)) replayed.push(encoded.right)
          else yield* sink.offerAll([{ _tag: "Malformed", error: encoded.left }])
        }
        yield* writeBatch(conn, replayed, false)
        yield* writeQueued(conn)
      })

    const runOnce = (conn: TransportConnection, connection: number): Effect.Effect<Outcome> =>
      Effect.gen(function*() {
        current = conn
        // The first connection's session.update, or a reconnect's replay, as one span.
        const primed = yield* Effect.either(prime(conn).pipe(
          Effect.withSpan(connection > 1 ? "realtime.reconnect" : "realtime.session.update", {
            attributes: { "realtime.connection": connection }
          })
        ))
        if (Either.isLeft(primed)) {
          // The write failed because the server closed: a fatal error it sent first is the reason.
          const held = yield* Effect.either(conn.messages.clear)
          const fatal = Either.isRight(held) ? fatalAmong(held.right) : undefined
          return fatal ?? { _tag: "Dropped", error: primed.left } as const
        }
        yield* sink.offerAll([{ _tag: "Connected", connection, reconnected: connection > 1 }])
        return yield* live(conn)
      }).pipe(Effect.ensuring(Effect.sync(() => {
        current = undefined
        recycleAsked = false
      })))

    /**
     * The open connection until something decides its outcome: a frame (pushed, or pulled by a reader
     * fiber when the transport cannot push), the transport's end, the writer, the watchdog, a
     * recycle. The first outcome wins. The supervisor's fiber waits on it alone; the writer, and the
     * watchdog and a recycle while there is one, are the only other fibers; all stop with it.
     */
    const live = (conn: TransportConnection): Effect.Effect<Outcome> =>
      Effect.suspend(() => {
        const decided = Deferred.unsafeMake<Outcome>(FiberId.none)
        const fibers: Array<Fiber.RuntimeFiber<void>> = []
        const state: Live = {
          outcome: undefined,
          decide: (outcome) => {
            if (state.outcome !== undefined) return
            state.outcome = outcome
            Deferred.unsafeDone(decided, Exit.succeed(outcome))
          }
        }
        /** A participant: it decides when it returns; one that dies becomes a fatal outcome. */
        const participant = (where: string, effect: Effect.Effect<Outcome>): Effect.Effect<void> =>
          Effect.flatMap(guard(where, effect), (outcome) => Effect.sync(() => state.decide(outcome)))
        const askRecycle = () => {
          onRecycleAsked = undefined
          recycleAsked = false
          fibers.push(forkHere(participant("the connection recycler", recycleWhenIdle)))
        }
        return Effect.gen(function*() {
          if (conn.listen !== undefined && sink.unsafeOffer !== undefined) listenTo(conn.listen, sink.unsafeOffer, state)
          else fibers.push(yield* Effect.fork(participant("the connection reader", pullReader(conn))))
          fibers.push(yield* Effect.fork(participant("the connection writer", writer(conn))))
          if (config.idleTimeout !== undefined) {
            fibers.push(yield* Effect.fork(participant("the connection watchdog", watchdog(conn, config.idleTimeout))))
          }
          if (config.maxSessionDuration !== undefined) {
            const after = Effect.zipRight(Effect.sleep(config.maxSessionDuration), recycleWhenIdle)
            fibers.push(yield* Effect.fork(participant("the connection recycler", after)))
          }
          if (recycleAsked) askRecycle()
          else onRecycleAsked = askRecycle
          return yield* Deferred.await(decided)
        }).pipe(Effect.ensuring(Effect.suspend(() => {
          onRecycleAsked = undefined
          // Frames after the end are not this connection's any more.
          state.outcome ??= ended
          return Fiber.interruptAll(fibers)
        })))
      })

    /** A participant that dies becomes a fatal outcome: the connection must never wait on a dead fiber. */
    const guard = (where: string, effect: Effect.Effect<Outcome>): Effect.Effect<Outcome> =>
      Effect.catchAllDefect(effect, (defect) =>
        Effect.succeed<Outcome>({ _tag: "Fatal", error: defectError(where, Cause.die(defect)) })
      )

    /** The retries are over: a last attempt's retryable error becomes final (nothing will retry it). */
    const exhausted = (error: FatalError): FatalError =>
      error._tag === "ConnectionError" && error.retryable
        ? new ConnectionError({ ...error, message: `gave up after ${delays.length} retries: ${error.message}`, retryable: false })
        : error

    const giveUp = (error: FatalError) =>
      Effect.suspend(() => {
        gaveUp = error
        release()
        return sink.fail(error)
      })

    const supervise = Effect.gen(function*() {
      let connection = 0
      let afterDrop = false
      while (true) {
        const opened = yield* Effect.either(connect(afterDrop))
        if (Either.isLeft(opened)) return yield* giveUp(exhausted(opened.left))
        const { conn, scope } = opened.right
        connection++
        const outcome = yield* runOnce(conn, connection).pipe(Effect.ensuring(Scope.close(scope, Exit.void)))
        switch (outcome._tag) {
          case "Fatal":
            yield* sink.offerAll([{ _tag: "Disconnected", error: outcome.error }])
            return yield* giveUp(outcome.error)
          case "Recycle":
            afterDrop = false
            yield* sink.offerAll([{ _tag: "Disconnected", error: undefined }])
            break
          case "Dropped":
            afterDrop = true
            yield* sink.offerAll([{ _tag: "Disconnected", error: outcome.error }])
            break
        }
      }
    })

    // A defect anywhere in the supervisor ends the connection with a typed error, never silently.
    yield* Effect.forkScoped(supervise.pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.void : giveUp(defectError("the connection supervisor", cause))
      )
    ))
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        mailbox === undefined ? Effect.void : mailbox.end,
        Effect.sync(() => {
          shutDown = true
          outbox = []
          unsent = []
        })
      ).pipe(Effect.ensuring(Effect.sync(() => release(true))))
    )

    /** Puts encoded text on the Outbox (after the scope closed nothing would write it: dropped). */
    const enqueue = (text: string): undefined => {
      if (shutDown) return undefined
      outbox.push(text)
      queued.unsafeOpen()
      queuedBytes += text.length
      return undefined
    }

    const unsafeSend = (event: Protocol.ClientEvent): FatalError | ProtocolError | undefined => {
      if (gaveUp !== undefined) return gaveUp
      const encoded = encode(event)
      return Either.isLeft(encoded) ? encoded.left : enqueue(encoded.right)
    }

    const unsafeSendAudio = (pcm: Int16Array): FatalError | undefined =>
      gaveUp !== undefined ? gaveUp : enqueue(Protocol.encodeAppendPcm(pcm))

    return {
      send: (event) =>
        Effect.zipRight(
          awaitRoom,
          Effect.suspend(() => {
            const error = unsafeSend(event)
            return error === undefined ? Effect.void : Effect.fail(error)
          })
        ),
      unsafeSend,
      unsafeSendAudio,
      awaitRoom,
      events: mailbox === undefined ? Stream.empty : Mailbox.toStream(mailbox),
      recycle: Effect.sync(() => {
        if (onRecycleAsked !== undefined) onRecycleAsked()
        else if (current !== undefined) recycleAsked = true
      }),
      attempts: Ref.get(attempts),
      buffered: Effect.sync(inFlight)
    } satisfies Connection
  })
