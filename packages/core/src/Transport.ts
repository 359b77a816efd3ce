/**
 * The `Transport` service: opens one message connection (a WebSocket or a test double) in a Scope.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { AuthenticationError, ConnectionError } from "./Errors.js"

/**
 * What to connect to. Values that carry secrets (API keys, client secrets) are `Redacted`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransportRequest {
  readonly url: string
  readonly headers: Readonly<Record<string, string | Redacted.Redacted<string>>>
  readonly protocols: ReadonlyArray<string | Redacted.Redacted<string>>
}

/**
 * One open connection. It is closed when the Scope it was opened in closes.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransportConnection {
  /**
   * Writes one text frame. Fails with a retryable `ConnectionError` if the connection is gone. A
   * transport that buffers writes completes only once its buffer is back under its own low-water
   * mark, so a peer that stops reading makes `send` wait (and the connection's write timeout fire).
   */
  readonly send: (text: string) => Effect.Effect<void, ConnectionError>
  /**
   * The received text frames, for a single consumer (`Mailbox.toStream` gives them as a Stream;
   * `takeAll` reads them in batches without stream machinery, as the connection supervisor does).
   * It ends when the connection ends: done after a normal close (code 1000), failed with a
   * `ConnectionError` carrying the close code and reason (or the network error) otherwise,
   * including an abrupt 1006 drop.
   */
  readonly messages: Mailbox.ReadonlyMailbox<string, ConnectionError>
  /**
   * Push delivery, for transports that can: from this call on, every text frame goes to `onFrame`,
   * called synchronously in the transport's receive callback (no fiber hand-off), instead of into
   * `messages`; the frames `messages` already holds are handed over first, in order. `onEnd` is
   * called once when the connection ends, with what `messages` ends with (at once if it has ended
   * already), so a listener needs no fiber waiting on `messages`. Absent: the frames are read from
   * `messages`. A wrapper that intercepts frames must wrap `listen` as well as `messages` (or leave
   * `listen` out) and pass `onEnd` on. Neither callback may throw: they run in the transport's
   * receive callback (the connection's own catch everything).
   *
   * @since 0.2.0
   */
  readonly listen?:
    | ((onFrame: (text: string) => void, onEnd: (exit: Exit.Exit<void, ConnectionError>) => void) => void)
    | undefined
  /** Closes the connection from this side (normal close 1000 unless told otherwise). */
  readonly close: (code?: number, reason?: string) => Effect.Effect<void>
  /**
   * Bytes handed to `send` that the transport still holds (not yet given to the network), e.g. the
   * WebSocket's `bufferedAmount`. Absent: the transport holds nothing once `send` completes. The
   * connection counts it against its high-water mark.
   *
   * @since 0.2.0
   */
  readonly bufferedAmount?: (() => number) | undefined
  /**
   * Asks the peer for a sign of life (a WebSocket ping). The answer is counted by `activity`.
   *
   * @since 0.2.0
   */
  readonly ping?: Effect.Effect<void> | undefined
  /**
   * A counter that grows with every inbound sign of life the `messages` mailbox does not show (a pong,
   * a ping, a non-text frame). With `messages`, the connection uses it to tell a live peer from a
   * silent one.
   *
   * @since 0.2.0
   */
  readonly activity?: (() => number) | undefined
}

/**
 * Opens connections. The open effect succeeds once the connection is open; an HTTP 401/403
 * handshake fails with `AuthenticationError`, other failures with a retryable `ConnectionError`
 * (with `timedOut: true` when the open ran out of time, so the drops metric tags it `timeout`).
 *
 * @since 0.1.0
 * @category models
 */
export interface TransportService {
  readonly open: (
    request: TransportRequest
  ) => Effect.Effect<TransportConnection, ConnectionError | AuthenticationError, Scope.Scope>
}

/**
 * The transport service tag. Swap its Layer to change transport (Node `ws`, browser, mock).
 *
 * @since 0.1.0
 * @category tags
 */
export class Transport extends Context.Tag("@realtime-fx/core/Transport")<Transport, TransportService>() {}

/**
 * A connection's received frames, for transports: `offer` puts a frame in `messages` until someone
 * calls `listen`, then hands it straight to the listener. `listen` first hands over the frames
 * `messages` holds, in order. A transport returns `messages` and `listen` as its connection's and
 * ends them through `end` or `fail` when the connection ends (which tell the listener too).
 *
 * @since 0.2.0
 * @category models
 */
export interface Inbox {
  readonly messages: Mailbox.ReadonlyMailbox<string, ConnectionError>
  /** One received frame; false when the inbox has ended and nobody listens. */
  readonly offer: (text: string) => boolean
  readonly listen: NonNullable<TransportConnection["listen"]>
  /** The connection closed normally: `messages` ends, the listener hears it. False if it had ended. */
  readonly end: Effect.Effect<boolean>
  /** The connection was lost or refused: `messages` fails with `error`, the listener hears it. */
  readonly fail: (error: ConnectionError) => Effect.Effect<boolean>
}

/**
 * Makes an `Inbox`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeInbox: Effect.Effect<Inbox> = Effect.map(Mailbox.make<string, ConnectionError>(), (messages) => {
  let onFrame: ((text: string) => void) | undefined
  let onEnd: ((exit: Exit.Exit<void, ConnectionError>) => void) | undefined
  let ended: Exit.Exit<void, ConnectionError> | undefined
  const done = (exit: Exit.Exit<void, ConnectionError>) =>
    Effect.sync(() => {
      if (ended !== undefined) return false
      ended = exit
      messages.unsafeDone(exit)
      const listener = onEnd
      // Told once: the listener (and what it holds) is let go.
      onFrame = undefined
      onEnd = undefined
      listener?.(exit)
      return true
    })
  return {
    messages,
    offer: (text) => {
      if (ended !== undefined) return false
      if (onFrame === undefined) return messages.unsafeOffer(text)
      onFrame(text)
      return true
    },
    listen: (frame, end) => {
      // Until messages stays empty: a frame offered while the held ones are handed over (a handler
      // that makes the transport receive synchronously) joins messages and goes out after them.
      while (true) {
        const held = Effect.runSyncExit(messages.clear)
        if (Exit.isFailure(held) || held.value.length === 0) break
        for (const text of held.value) frame(text)
      }
      if (ended !== undefined) return end(ended)
      onFrame = frame
      onEnd = end
    },
    end: done(Exit.void),
    fail: (error) => done(Exit.fail(error))
  }
})
