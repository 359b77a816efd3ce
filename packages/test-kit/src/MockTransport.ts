/**
 * An in-memory `Transport` and the scripted server behind it, for tests that run under `TestClock`.
 *
 * @since 0.1.0
 */
import { AuthenticationError, ConnectionError } from "@realtime-fx/core/Errors"
import {
  type Inbox,
  makeInbox,
  Transport,
  type TransportConnection,
  type TransportRequest,
  type TransportService
} from "@realtime-fx/core/Transport"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"

/**
 * A frame the client sent, as the scripted server received it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientFrame {
  /** 1 for the first connection, 2 after a reconnect, ... */
  readonly connection: number
  /** The event's `type` (empty when the frame is not a JSON object with a string `type`). */
  readonly type: string
  /** `JSON.parse` of the text (empty when the text is not a JSON object). */
  readonly event: Record<string, unknown>
  readonly text: string
}

/**
 * The scripted server: inspects what the client did and drives what it sees.
 *
 * @since 0.1.0
 * @category models
 */
export interface MockServerService {
  /** Open attempts so far (failed, hung and successful ones). */
  readonly attempts: Effect.Effect<number>
  /** Every request seen, in order. */
  readonly requests: Effect.Effect<ReadonlyArray<TransportRequest>>
  /** Waits until a connection is open; its number. */
  readonly awaitConnection: Effect.Effect<number>
  readonly isConnected: Effect.Effect<boolean>
  /** Every frame received so far, from every connection. */
  readonly clientEvents: Effect.Effect<ReadonlyArray<ClientFrame>>
  /** The next unread frame (a cursor over `clientEvents`); waits for one. */
  readonly nextClientEvent: Effect.Effect<ClientFrame>
  /** The next unread frame of this type; the cursor moves past the frames skipped. */
  readonly nextClientEventOfType: (type: string) => Effect.Effect<ClientFrame>
  /** Sends a frame to the open connection (objects are JSON-encoded); waits for a connection. */
  readonly send: (event: object | string) => Effect.Effect<void>
  /** Server-side close of the current connection (1000 by default); nothing when none is open. */
  readonly close: (code?: number, reason?: string) => Effect.Effect<void>
  /** Abrupt loss of the current connection (code 1006). */
  readonly drop: Effect.Effect<void>
  /** The next `n` attempts fail: a retryable `ConnectionError`, or with status 401/403 an `AuthenticationError`. */
  readonly failNextAttempts: (n: number, options?: { readonly status?: number }) => Effect.Effect<void>
  /** The next attempt never answers (until interrupted). */
  readonly hangNextAttempt: Effect.Effect<void>
  /** The next `n` client sends fail (retryable) and drop the connection (1006); their frames are not received. */
  readonly failNextSends: (n: number) => Effect.Effect<void>
  /**
   * The server stops reading: client sends wait (their bytes count as the transport's
   * `bufferedAmount`) until `resumeReading` or the connection ends.
   *
   * @since 0.2.0
   */
  readonly stopReading: Effect.Effect<void>
  /**
   * The server reads again: waiting sends complete, in order.
   *
   * @since 0.2.0
   */
  readonly resumeReading: Effect.Effect<void>
  /**
   * Whether the server answers the client's pings (default true: every ping counts as a pong at
   * once). `false` models a silent peer or a half-open TCP connection.
   *
   * @since 0.2.0
   */
  readonly answerPings: (answer: boolean) => Effect.Effect<void>
  /**
   * Pings the client sent so far.
   *
   * @since 0.2.0
   */
  readonly pings: Effect.Effect<number>
}

/**
 * The scripted server's tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class MockServer extends Context.Tag("@realtime-fx/test-kit/MockServer")<MockServer, MockServerService>() {}

/**
 * Options of the mock.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Frames the server sends right after each open (e.g. `session.created`). */
  readonly greeting?: ((connection: number) => ReadonlyArray<object>) | undefined
  /**
   * Deliver the server's frames through `listen` (push, synchronously in the server's `send`, as
   * NodeTransport does) instead of the `messages` mailbox. Default false.
   *
   * @since 0.2.0
   */
  readonly push?: boolean | undefined
}

type Outcome =
  | { readonly _tag: "Fail"; readonly status: number | undefined }
  | { readonly _tag: "Hang" }

interface MockConnection {
  readonly id: number
  readonly inbox: Inbox
  /** Opens when the connection ends (releases sends held by a server that stopped reading). */
  readonly ended: Effect.Latch
  closed: boolean
}

const parseFrame = (connection: number, text: string): ClientFrame => {
  let event: Record<string, unknown> = {}
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      event = parsed as Record<string, unknown>
    }
  } catch {
    // not JSON: recorded with an empty event
  }
  return { connection, type: typeof event.type === "string" ? event.type : "", event, text }
}

const closeError = (code: number, reason: string | undefined): ConnectionError =>
  new ConnectionError({
    message: `Connection closed with code ${code}${reason ? `: ${reason}` : ""}`,
    retryable: true,
    code,
    ...(reason !== undefined ? { reason } : {})
  })

const closedError = new ConnectionError({ message: "Connection is closed", retryable: true })

/**
 * Builds a mock transport and its scripted server.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<{ readonly transport: TransportService; readonly server: MockServerService }> =>
  Effect.gen(function*() {
    const attempts = yield* Ref.make(0)
    const requests = yield* Ref.make<ReadonlyArray<TransportRequest>>([])
    const outcomes = yield* Ref.make<ReadonlyArray<Outcome>>([])
    const failingSends = yield* Ref.make(0)
    const connectionCount = yield* Ref.make(0)
    const frames = yield* Ref.make<ReadonlyArray<ClientFrame>>([])
    const unread = yield* Queue.unbounded<ClientFrame>()
    const openConnection = yield* Ref.make<MockConnection | undefined>(undefined)
    // Completed with the open connection; replaced by a pending one when that connection ends.
    const current = yield* Ref.make(yield* Deferred.make<MockConnection>())
    const reading = yield* Effect.makeLatch(true)
    let pings = 0
    let answeringPings = true

    const currentConnection: Effect.Effect<MockConnection | undefined> = Ref.get(openConnection)

    // Marks the connection closed and ends its message stream as the interface describes.
    const endConnection = (conn: MockConnection, code: number, reason?: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (conn.closed) return Effect.void
        conn.closed = true
        conn.ended.unsafeOpen()
        return Effect.gen(function*() {
          if ((yield* Ref.get(openConnection)) === conn) {
            yield* Ref.set(openConnection, undefined)
            yield* Ref.set(current, yield* Deferred.make<MockConnection>())
          }
          yield* code === 1000 ? conn.inbox.end : conn.inbox.fail(closeError(code, reason))
        })
      })

    const publish = (conn: MockConnection): Effect.Effect<void> =>
      Effect.gen(function*() {
        const previous = yield* Ref.get(openConnection)
        // A previous connection still open (the client opened another without closing it) is dropped.
        if (previous !== undefined) yield* endConnection(previous, 1006, "replaced by a new connection")
        yield* Ref.set(openConnection, conn)
        const ready = yield* Deferred.make<MockConnection>()
        yield* Deferred.succeed(ready, conn)
        const waiting = yield* Ref.getAndSet(current, ready)
        yield* Deferred.succeed(waiting, conn)
      })

    const open = (request: TransportRequest) =>
      Effect.gen(function*() {
        yield* Ref.update(attempts, (n) => n + 1)
        yield* Ref.update(requests, (all) => [...all, request])
        const outcome = yield* Ref.modify(outcomes, (all) => [all[0], all.slice(1)] as const)
        if (outcome?._tag === "Hang") return yield* Effect.never
        if (outcome?._tag === "Fail") {
          const status = outcome.status
          return yield* status === 401 || status === 403
            ? Effect.fail(new AuthenticationError({ message: `Upgrade refused with HTTP ${status}`, status }))
            : Effect.fail(
              new ConnectionError({
                message: status === undefined ? "Connection failed" : `Upgrade refused with HTTP ${status}`,
                retryable: true
              })
            )
        }
        const id = yield* Ref.updateAndGet(connectionCount, (n) => n + 1)
        const conn: MockConnection = {
          id,
          inbox: yield* makeInbox,
          ended: yield* Effect.makeLatch(false),
          closed: false
        }
        yield* Effect.addFinalizer(() => endConnection(conn, 1000))
        for (const event of options.greeting?.(id) ?? []) conn.inbox.offer(JSON.stringify(event))
        yield* publish(conn)

        let pending = 0
        let pongs = 0
        // A server that stopped reading holds the send until it reads again or the connection ends.
        const send = (text: string): Effect.Effect<void, ConnectionError> =>
          Effect.gen(function*() {
            if (conn.closed) return yield* Effect.fail(closedError)
            pending += text.length
            yield* Effect.raceFirst(reading.await, conn.ended.await).pipe(
              Effect.ensuring(Effect.sync(() => {
                pending -= text.length
              }))
            )
            if (conn.closed) return yield* Effect.fail(closedError)
            const failing = yield* Ref.modify(failingSends, (n) => n > 0 ? [true, n - 1] as const : [false, 0] as const)
            if (failing) {
              yield* endConnection(conn, 1006, "send failed")
              return yield* Effect.fail(new ConnectionError({ message: "Send failed", retryable: true, code: 1006 }))
            }
            const frame = parseFrame(conn.id, text)
            yield* Ref.update(frames, (all) => [...all, frame])
            yield* Queue.offer(unread, frame)
          })

        return {
          send,
          messages: conn.inbox.messages,
          listen: options.push === true ? conn.inbox.listen : undefined,
          close: (code?: number, reason?: string) => endConnection(conn, code ?? 1000, reason),
          bufferedAmount: () => pending,
          ping: Effect.sync(() => {
            pings++
            if (answeringPings && !conn.closed) pongs++
          }),
          activity: () => pongs
        } satisfies TransportConnection
      })

    const awaitConn: Effect.Effect<MockConnection> = Ref.get(current).pipe(
      Effect.flatMap(Deferred.await),
      Effect.flatMap((conn) => conn.closed ? Effect.yieldNow().pipe(Effect.zipRight(awaitConn)) : Effect.succeed(conn))
    )

    const serverSend = (event: object | string): Effect.Effect<void> => {
      const text = typeof event === "string" ? event : JSON.stringify(event)
      const loop: Effect.Effect<void> = Effect.flatMap(awaitConn, (conn) => conn.inbox.offer(text) ? Effect.void : loop)
      return loop
    }

    const nextOfType = (type: string): Effect.Effect<ClientFrame> =>
      Effect.flatMap(Queue.take(unread), (frame) => frame.type === type ? Effect.succeed(frame) : nextOfType(type))

    const closeCurrent = (code: number, reason?: string): Effect.Effect<void> =>
      Effect.flatMap(currentConnection, (conn) => conn === undefined ? Effect.void : endConnection(conn, code, reason))

    const server: MockServerService = {
      attempts: Ref.get(attempts),
      requests: Ref.get(requests),
      awaitConnection: Effect.map(awaitConn, (conn) => conn.id),
      isConnected: Effect.map(currentConnection, (conn) => conn !== undefined),
      clientEvents: Ref.get(frames),
      nextClientEvent: Queue.take(unread),
      nextClientEventOfType: nextOfType,
      send: serverSend,
      close: (code, reason) => closeCurrent(code ?? 1000, reason),
      drop: closeCurrent(1006, "abnormal closure"),
      failNextAttempts: (n, opts) =>
        Ref.update(outcomes, (all) => [
          ...all,
          ...Array.from({ length: n }, (): Outcome => ({ _tag: "Fail", status: opts?.status }))
        ]),
      hangNextAttempt: Ref.update(outcomes, (all): ReadonlyArray<Outcome> => [...all, { _tag: "Hang" }]),
      failNextSends: (n) => Ref.update(failingSends, (m) => m + n),
      stopReading: reading.close,
      resumeReading: reading.open,
      answerPings: (answer) =>
        Effect.sync(() => {
          answeringPings = answer
        }),
      pings: Effect.sync(() => pings)
    }
    return { transport: Transport.of({ open }), server }
  })

/**
 * The mock transport and its scripted server as a Layer.
 *
 * @example
 * ```ts
 * import * as MockTransport from "@realtime-fx/test-kit/MockTransport"
 * import { MockServer } from "@realtime-fx/test-kit/MockTransport"
 * import * as RealtimeSession from "@realtime-fx/core/RealtimeSession"
 * import { Resampler } from "@realtime-fx/core/Resampler"
 * import * as Xai from "@realtime-fx/core/Xai"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as Redacted from "effect/Redacted"
 *
 * // A session against a scripted server: no socket; the test plays the server's part.
 * const TestLive = Layer.mergeAll(
 *   MockTransport.layer(),
 *   Xai.layer({ apiKey: Redacted.make("xai-test") }),
 *   Resampler.layerLinear
 * )
 *
 * const test = Effect.gen(function*() {
 *   const session = yield* RealtimeSession.make()
 *   const server = yield* MockServer
 *   yield* server.awaitConnection
 *   const update = yield* server.nextClientEventOfType("session.update")
 *   yield* session.updateInstructions("Be brief.")
 *   return update.event
 * }).pipe(Effect.scoped, Effect.provide(TestLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Transport | MockServer> =>
  Layer.effectContext(
    Effect.map(make(options), ({ server, transport }) =>
      Context.make(Transport, transport).pipe(Context.add(MockServer, server)))
  )
