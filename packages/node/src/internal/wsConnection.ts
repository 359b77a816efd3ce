/**
 * Machinery of the Node transport: one `ws` connection, its events mapped straight onto the
 * connection's inbox (no fiber and no event object per frame).
 *
 * @since 0.1.0
 */
import { AuthenticationError, ConnectionError } from "@realtime-fx/core/Errors"
import { makeInbox, type TransportConnection, type TransportRequest } from "@realtime-fx/core/Transport"
import type * as Duration from "effect/Duration"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
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

/** How a socket ended: a close (its frame, or 1006 for a drop), an error event, or its scope's end. */
type WsEnd =
  | { readonly _tag: "Close"; readonly code: number; readonly reason: string }
  | { readonly _tag: "Error"; readonly error: unknown }
  | { readonly _tag: "Released" }

/** The mutable facts about one `ws` instance, written by its event listeners. */
interface WsState {
  /** The HTTP status of a refused upgrade. */
  status: number | undefined
  /** Closed, closing or going away: a send fails at once. */
  ended: boolean
  /** The socket's end has been told to the open and the inbox (once). */
  finished: boolean
  opened: boolean
  /** Pongs and pings received (signs of life that are not messages). */
  activity: number
}

/** Maps an end before the socket opened to the error `open` reports. */
const openFailure = (end: WsEnd, status: number | undefined): ConnectionError | AuthenticationError => {
  if (end._tag === "Released") return new ConnectionError({ message: "WebSocket ended before it opened", retryable: true })
  if (status === 401 || status === 403) {
    return new AuthenticationError({ message: `WebSocket upgrade refused with HTTP ${status}`, status })
  }
  if (status !== undefined) {
    return new ConnectionError({ message: `WebSocket upgrade refused with HTTP ${status}`, retryable: true })
  }
  return end._tag === "Close"
    ? new ConnectionError({
      message: `WebSocket closed before it opened (code ${end.code})`,
      retryable: true,
      code: end.code,
      ...(end.reason ? { reason: end.reason } : {})
    })
    : new ConnectionError({
      message: `WebSocket could not be opened: ${errorMessage(end.error)}`,
      retryable: true
    })
}

/** Maps an end after the socket opened (other than a 1000 close or the release) to the error `messages` fails with. */
const lostFailure = (end: Exclude<WsEnd, { readonly _tag: "Released" }>): ConnectionError =>
  end._tag === "Close"
    ? new ConnectionError({
      message: `WebSocket closed with code ${end.code}${end.reason ? `: ${end.reason}` : ""}`,
      retryable: true,
      code: end.code,
      ...(end.reason ? { reason: end.reason } : {})
    })
    : new ConnectionError({
      message: `WebSocket connection lost: ${errorMessage(end.error)}`,
      retryable: true
    })

const invalidRequest = (cause: unknown) =>
  new ConnectionError({
    // The cause may quote a header value (a secret): name only its kind.
    message: `invalid WebSocket request (its URL, a header or a subprotocol was refused)${
      cause instanceof Error ? `: ${cause.name}` : ""
    }`,
    retryable: false
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
    const state: WsState = { status: undefined, ended: false, finished: false, opened: false, activity: 0 }
    const received = yield* makeInbox
    const opened = Deferred.unsafeMake<void, ConnectionError | AuthenticationError>(FiberId.none)

    // The first end wins (ws follows an error with a close): before the open it fails the open,
    // after it a 1000 close or the scope's end ends the frames and anything else fails them.
    const finish = (end: WsEnd): void => {
      state.ended = true
      if (state.finished) return
      state.finished = true
      if (!state.opened) {
        Deferred.unsafeDone(opened, Effect.fail(openFailure(end, state.status)))
        Effect.runSync(received.fail(closedError))
      } else if (end._tag === "Released" || (end._tag === "Close" && end.code === 1000)) Effect.runSync(received.end)
      else Effect.runSync(received.fail(lostFailure(end)))
    }

    const create = Effect.try({
      try: () => {
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(request.headers)) headers[name] = reveal(value)
        const ws = new WebSocket(request.url, request.protocols.map(reveal), { headers })
        ws.on("open", () => {
          state.opened = true
          Deferred.unsafeDone(opened, Effect.void)
        })
        ws.on("message", (data, isBinary) => {
          const bytes = data as Buffer
          received.offer(isBinary ? decoder.decode(bytes) : bytes.toString())
        })
        // A permanent listener: `ws` throws on an 'error' event nobody listens to.
        ws.on("error", (error) => finish({ _tag: "Error", error }))
        ws.on("close", (code, reason) => finish({ _tag: "Close", code, reason: reason.toString() }))
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
        return ws
      },
      catch: invalidRequest
    })

    // Released with the scope: the frames end (a socket that never opened fails them), then the
    // socket is closed with 1000, or its handshake aborted.
    const release = (ws: WebSocket) =>
      Effect.sync(() => {
        finish({ _tag: "Released" })
        if (ws.readyState === WebSocket.OPEN) {
          ws.close(1000)
          // A peer that never answers the close frame would keep the TCP socket for ws's 30 s.
          setTimeout(() => {
            if (ws.readyState !== WebSocket.CLOSED) ws.terminate()
          }, 2000).unref()
        } else if (ws.readyState === WebSocket.CONNECTING) ws.terminate()
      })

    const ws = yield* Effect.acquireRelease(create, release)
    yield* Deferred.await(opened).pipe(
      Effect.timeoutFail({
        duration: options.openTimeout,
        onTimeout: () => new ConnectionError({ message: "WebSocket open timed out", retryable: true, timedOut: true })
      }),
      // A failed or interrupted open lets the socket go at once, not only when the caller's scope ends.
      Effect.onError(() => Effect.sync(() => ws.terminate()))
    )

    // Once the peer's close frame arrived ws is CLOSING and drops what it is given without a word:
    // only an OPEN socket takes a frame, so a send either reaches it or fails. ws buffers without
    // limit: once it holds more than the low-water mark, the send waits until its frame reached the
    // socket (a peer that stops reading then holds the writer, and the write timeout can fire).
    //
    // The write's callback lives until the frame reached the socket, so it is made in `write`, where
    // it does not see the text: made beside `text`, it would keep every frame of a burst alive on
    // the heap until the event loop's next turn (ws has copied the text into its own buffer by then,
    // unless it holds it in its queue for compression).
    const send = (text: string): Effect.Effect<void, ConnectionError> => Effect.suspend(() => write(text))
    const write = (text: string): Effect.Effect<void, ConnectionError> => {
      if (state.ended || ws.readyState !== WebSocket.OPEN) return Effect.fail(closedError)
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
    }

    const ping: Effect.Effect<void> = Effect.sync(() => {
      if (state.ended || ws.readyState !== WebSocket.OPEN) return
      try {
        ws.ping()
      } catch {
        // A socket going away: its 'error' or 'close' event reports it.
      }
    })

    const close = (code?: number, reason?: string): Effect.Effect<void> =>
      Effect.sync(() => {
        if (state.ended) return
        state.ended = true
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
      bufferedAmount: () => ws.bufferedAmount,
      ping,
      activity: () => state.activity
    } satisfies TransportConnection
  })
