/**
 * A minimal `ws` client for exercising the fake server in tests: parsed events in order, bounded
 * waits, the close code.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import WebSocket from "ws"

type Json = Record<string, unknown>

/** How long a test client waits for any one frame. */
export const WAIT = Duration.seconds(5)

/** A connected test client. */
export interface TestClient {
  readonly ws: WebSocket
  readonly send: (event: object | string) => Effect.Effect<void>
  /** The next frame as text. */
  readonly nextRaw: Effect.Effect<string, Error>
  /** The next frame parsed as JSON. */
  readonly next: Effect.Effect<Json, Error>
  /** Events up to and including the first one of `type`. */
  readonly until: (type: string) => Effect.Effect<Array<Json>, Error>
  /** Frames received and not yet taken. */
  readonly pending: Effect.Effect<Array<string>>
  /** Resolves with the close code and reason. */
  readonly closed: Effect.Effect<{ readonly code: number; readonly reason: string }, Error>
}

/** The handshake failed: `status` is the HTTP status when the server answered. */
export class HandshakeError extends Error {
  constructor(readonly status: number | undefined, message: string) {
    super(message)
  }
}

/** Connects a test client in the current Scope (closed with it). */
export const connect = (
  url: string,
  options: { readonly headers?: Record<string, string>; readonly protocols?: Array<string>; readonly handshakeTimeout?: number } = {}
): Effect.Effect<TestClient, HandshakeError, Scope.Scope> =>
  Effect.gen(function* () {
    const queue = yield* Queue.unbounded<string>()
    const closed = yield* Deferred.make<{ code: number; reason: string }>()
    const ws = yield* Effect.acquireRelease(
      Effect.async<WebSocket, HandshakeError>((resume) => {
        const ws = new WebSocket(url, options.protocols ?? [], {
          headers: options.headers ?? {},
          ...(options.handshakeTimeout !== undefined ? { handshakeTimeout: options.handshakeTimeout } : {})
        })
        let opened = false
        ws.on("message", (data) => Queue.unsafeOffer(queue, data.toString()))
        ws.on("close", (code, reason) => Deferred.unsafeDone(closed, Exit.succeed({ code, reason: reason.toString() })))
        ws.on("unexpected-response", (_req, res) => {
          resume(Effect.fail(new HandshakeError(res.statusCode, `Unexpected server response: ${res.statusCode}`)))
          res.resume()
          ws.terminate()
        })
        ws.on("error", (e) => {
          if (!opened) resume(Effect.fail(new HandshakeError(undefined, e.message)))
        })
        ws.on("open", () => {
          opened = true
          resume(Effect.succeed(ws))
        })
      }),
      (ws) => Effect.sync(() => ws.terminate())
    )
    const nextRaw = Queue.take(queue).pipe(
      Effect.timeoutFail({ duration: WAIT, onTimeout: () => new Error("no frame within 5 s") })
    )
    const next = Effect.flatMap(nextRaw, (text) => Effect.try(() => JSON.parse(text) as Json))
    const until = (type: string) =>
      Effect.gen(function* () {
        const out: Array<Json> = []
        for (;;) {
          const e = yield* next
          out.push(e)
          if (e.type === type) return out
        }
      })
    return {
      ws,
      send: (event) => Effect.sync(() => ws.send(typeof event === "string" ? event : JSON.stringify(event))),
      nextRaw,
      next,
      until,
      pending: Queue.takeAll(queue).pipe(Effect.map((c) => Array.from(c))),
      closed: Deferred.await(closed).pipe(Effect.timeoutFail({ duration: WAIT, onTimeout: () => new Error("not closed within 5 s") }))
    } satisfies TestClient
  })
