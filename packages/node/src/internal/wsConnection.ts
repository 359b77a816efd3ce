/**
 * Machinery of the Node transport: one `ws` connection driven through @effect/platform's Socket.
 *
 * @since 0.1.0
 */
import * as Socket from "@effect/platform/Socket"
import { AuthenticationError, ConnectionError } from "@realtime-fx/core/Errors"
import { makeInbox, type TransportConnection, type TransportRequest } from "@realtime-fx/core/Transport"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import WebSocket from "ws"

/** @internal */
export interface OpenOptions {
  readonly openTimeout: Duration.DurationInput
  /** `send` waits for its frame to reach the socket when ws holds more than this many bytes. */
  readonly sendLowWaterMark: number
}

const decoder = new TextDecoder()

const reveal = (value: string | Redacted.Redacted<string>): string =>
  Redacted.isRedacted(value) ? Redacted.value(value) : value

const errorMessage = (u: unknown): string =>
  u instanceof Error ? u.message : typeof u === "string" ? u : "unknown error"

/**
 * The mutable facts about one `ws` instance that the Socket API does not surface: the HTTP status of
 * a refused upgrade, the last error, and whether the connection has ended.
 */
interface WsState {
  status: number | undefined
  lastError: unknown
  ended: boolean
  ws: WebSocket | undefined
  /** The request itself was refused by `ws` (bad URL, header or subprotocol): retrying cannot help. */
  invalidRequest: boolean
  /** Pongs and pings received (signs of life that are not messages). */
  activity: number
}

const acquireWs = (request: TransportRequest, state: WsState) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(request.headers)) headers[name] = reveal(value)
        const protocols = request.protocols.map(reveal)
        const ws = new WebSocket(request.url, protocols, { headers })
        state.ws = ws
        // A permanent listener: `ws` throws on an 'error' event nobody listens to.
        ws.on("error", (error) => {
          state.lastError = error
        })
        ws.on("close", () => {
          state.ended = true
        })
        ws.on("pong", () => {
          state.activity++
        })
        ws.on("ping", () => {
          state.activity++
        })
        ws.on("unexpected-response", (_req, res) => {
          state.status = res.statusCode
          res.resume()
          ws.terminate()
        })
        return ws as unknown as globalThis.WebSocket
      },
      catch: (cause) => {
        state.invalidRequest = true
        return new Socket.SocketGenericError({ reason: "Open", cause })
      }
    }),
    (ws) =>
      Effect.sync(() => {
        state.ended = true
        const raw = ws as unknown as WebSocket
        if (raw.readyState === WebSocket.OPEN) {
          raw.close(1000)
          // A peer that never answers the close frame would keep the TCP socket for ws's 30 s.
          setTimeout(() => {
            if (raw.readyState !== WebSocket.CLOSED) raw.terminate()
          }, 2000).unref()
        } else if (raw.readyState === WebSocket.CONNECTING) raw.terminate()
      })
  )

/** Maps an end of the run loop before the socket opened to the error `open` reports. */
const openFailure = (
  error: Socket.SocketError,
  state: WsState
): ConnectionError | AuthenticationError => {
  const status = state.status
  if (status === 401 || status === 403) {
    return new AuthenticationError({
      message: `WebSocket upgrade refused with HTTP ${status}`,
      status
    })
  }
  if (status !== undefined) {
    return new ConnectionError({ message: `WebSocket upgrade refused with HTTP ${status}`, retryable: true })
  }
  if (state.invalidRequest) {
    return new ConnectionError({
      // The cause may quote a header value (a secret): name only its kind.
      message: `invalid WebSocket request (its URL, a header or a subprotocol was refused)${
        error.cause instanceof Error ? `: ${error.cause.name}` : ""
      }`,
      retryable: false
    })
  }
  switch (error.reason) {
    case "OpenTimeout":
      return new ConnectionError({ message: "WebSocket open timed out", retryable: true, timedOut: true })
    case "Close":
      return new ConnectionError({
        message: `WebSocket closed before it opened (code ${error.code})`,
        retryable: true,
        code: error.code,
        ...(error.closeReason ? { reason: error.closeReason } : {})
      })
    default:
      return new ConnectionError({
        message: `WebSocket could not be opened: ${errorMessage(state.lastError ?? error.cause)}`,
        retryable: true
      })
  }
}

/** Maps an end of the run loop after the socket opened to the error `messages` fails with. */
const lostFailure = (error: Socket.SocketError, state: WsState): ConnectionError =>
  error.reason === "Close"
    ? new ConnectionError({
      message: `WebSocket closed with code ${error.code}${error.closeReason ? `: ${error.closeReason}` : ""}`,
      retryable: true,
      code: error.code,
      ...(error.closeReason ? { reason: error.closeReason } : {})
    })
    : new ConnectionError({
      message: `WebSocket connection lost: ${errorMessage(state.lastError ?? error.cause)}`,
      retryable: true
    })

/** A code a client may send: 1000 or the application range 3000-4999 (anything else becomes 1000). */
const closeCodeFor = (code: number | undefined): number =>
  code !== undefined && Number.isInteger(code) && (code === 1000 || (code >= 3000 && code <= 4999)) ? code : 1000

/** A close reason fits in 123 UTF-8 bytes (the rest of a 125-byte control frame is the code). */
const closeReasonFor = (reason: string | undefined): string | undefined => {
  if (reason === undefined) return undefined
  let out = reason
  while (Buffer.byteLength(out, "utf8") > 123) out = out.slice(0, -1)
  return out
}

const closedError = new ConnectionError({ message: "WebSocket connection is closed", retryable: true })

/**
 * Opens one connection in the current Scope; succeeds once the socket is open.
 *
 * @internal
 */
export const open = (
  request: TransportRequest,
  options: OpenOptions
): Effect.Effect<TransportConnection, ConnectionError | AuthenticationError, Scope.Scope> =>
  Effect.gen(function*() {
    const state: WsState = {
      status: undefined,
      lastError: undefined,
      ended: false,
      ws: undefined,
      invalidRequest: false,
      activity: 0
    }
    const received = yield* makeInbox
    const opened = yield* Deferred.make<void>()
    const failedToOpen = yield* Deferred.make<never, ConnectionError | AuthenticationError>()

    const socket = yield* Socket.fromWebSocket(acquireWs(request, state), {
      closeCodeIsError: (code) => code !== 1000,
      openTimeout: options.openTimeout
    })

    const onData = (data: string | Uint8Array): void => {
      received.offer(typeof data === "string" ? data : decoder.decode(data))
    }

    yield* socket.runRaw(onData, { onOpen: Deferred.succeed(opened, undefined) }).pipe(
      Effect.onExit((exit) =>
        Effect.gen(function*() {
          state.ended = true
          const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
          if (!(yield* Deferred.isDone(opened))) {
            yield* Deferred.fail(
              failedToOpen,
              error === undefined
                ? new ConnectionError({ message: "WebSocket ended before it opened", retryable: true })
                : openFailure(error, state)
            )
            return yield* received.fail(closedError)
          }
          if (error !== undefined) return yield* received.fail(lostFailure(error, state))
          if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) {
            return yield* received.fail(
              new ConnectionError({ message: `WebSocket run loop died: ${Cause.pretty(exit.cause)}`, retryable: true })
            )
          }
          return yield* received.end
        })
      ),
      Effect.forkScoped
    )
    // Runs before the fiber above is interrupted (finalizers run in reverse order), so a `send`
    // racing the scope's end fails at once instead of waiting for a socket that is going away.
    yield* Effect.addFinalizer(() => Effect.sync(() => void (state.ended = true)))

    yield* Effect.raceFirst(Deferred.await(opened), Deferred.await(failedToOpen))

    // Once the peer's close frame arrived ws is CLOSING and drops what it is given without a word:
    // only an OPEN socket takes a frame, so a send either reaches it or fails. ws buffers without
    // limit: once it holds more than the low-water mark, the send waits until its frame reached the
    // socket (a peer that stops reading then holds the writer, and the write timeout can fire).
    const send = (text: string): Effect.Effect<void, ConnectionError> =>
      Effect.suspend(() => {
        const ws = state.ws
        if (state.ended || ws === undefined || ws.readyState !== WebSocket.OPEN) return Effect.fail(closedError)
        let result: Exit.Exit<void, ConnectionError> | undefined
        let resume: ((effect: Effect.Effect<void, ConnectionError>) => void) | undefined
        try {
          ws.send(text, (error) => {
            result = error === undefined || error === null ? Exit.void : Exit.fail(closedError)
            resume?.(result)
          })
        } catch {
          return Effect.fail(closedError)
        }
        if (result !== undefined || ws.bufferedAmount <= options.sendLowWaterMark) return result ?? Effect.void
        return Effect.async<void, ConnectionError>((cb) => {
          if (result !== undefined) return cb(result)
          resume = cb
        })
      })

    const ping: Effect.Effect<void> = Effect.sync(() => {
      const ws = state.ws
      if (state.ended || ws === undefined || ws.readyState !== WebSocket.OPEN) return
      try {
        ws.ping()
      } catch {
        // A socket going away: the run loop reports it.
      }
    })

    const close = (code?: number, reason?: string): Effect.Effect<void> =>
      Effect.sync(() => {
        if (state.ended) return
        state.ended = true
        const ws = state.ws
        if (ws === undefined) return
        try {
          ws.close(closeCodeFor(code), closeReasonFor(reason))
        } catch {
          ws.terminate()
        }
      })

    return {
      send,
      messages: received.messages,
      listen: received.listen,
      close,
      bufferedAmount: () => state.ws?.bufferedAmount ?? 0,
      ping,
      activity: () => state.activity
    } satisfies TransportConnection
  })
