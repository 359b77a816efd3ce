/**
 * Machinery of the browser transport: one browser `WebSocket` driven through @effect/platform's Socket.
 *
 * @since 0.2.0
 */
import * as Socket from "@effect/platform/Socket"
import type { AuthenticationError } from "@realtime-fx/core/Errors"
import { ConnectionError } from "@realtime-fx/core/Errors"
import { makeInbox, type TransportConnection, type TransportRequest } from "@realtime-fx/core/Transport"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Rules from "./request.js"

/** @internal */
export interface OpenOptions {
  readonly openTimeout: Duration.DurationInput
  /** `send` waits while the socket holds more than this many unsent bytes. */
  readonly sendLowWaterMark: number
  /** How often a waiting `send` looks at `bufferedAmount` again (the browser has no drain event). */
  readonly drainPollInterval: Duration.DurationInput
}

const OPEN = 1
const CONNECTING = 0

const decoder = new TextDecoder()

/** What the Socket API does not surface: the close event's code and reason, and how the socket ended. */
interface State {
  ws: globalThis.WebSocket | undefined
  ended: boolean
  closeCode: number | undefined
  closeReason: string | undefined
  invalidRequest: string | undefined
}

const acquire = (
  request: Rules.BrowserRequest,
  state: State,
  construct: (url: string, protocols?: string | Array<string>) => globalThis.WebSocket
) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        const ws = construct(request.url, [...request.protocols])
        ws.binaryType = "arraybuffer"
        state.ws = ws
        ws.addEventListener("close", (event) => {
          state.ended = true
          state.closeCode = event.code
          state.closeReason = event.reason
        })
        return ws
      },
      catch: (cause) => {
        // The message may quote the subprotocol (a secret): keep only the error's kind.
        state.invalidRequest = cause instanceof Error ? cause.name : "error"
        return new Socket.SocketGenericError({ reason: "Open", cause })
      }
    }),
    (ws) =>
      Effect.sync(() => {
        state.ended = true
        if (ws.readyState === OPEN || ws.readyState === CONNECTING) {
          try {
            ws.close(1000)
          } catch {
            // already closing
          }
        }
      })
  )

const closedError = new ConnectionError({ message: "WebSocket connection is closed", retryable: true })

/**
 * Opens one connection in the current Scope; succeeds once the socket is open. A request that needs
 * headers dies with a `ConfigurationError` (the `Transport` contract has no typed place for it).
 *
 * @internal
 */
export const open = (
  request: TransportRequest,
  options: OpenOptions
): Effect.Effect<TransportConnection, ConnectionError | AuthenticationError, Scope.Scope | Socket.WebSocketConstructor> =>
  Effect.gen(function*() {
    const checked = Rules.checkRequest(request)
    if (Either.isLeft(checked)) return yield* Effect.die(checked.left)
    const construct = yield* Socket.WebSocketConstructor
    const state: State = {
      ws: undefined,
      ended: false,
      closeCode: undefined,
      closeReason: undefined,
      invalidRequest: undefined
    }
    const received = yield* makeInbox
    const opened = yield* Deferred.make<void>()
    const failedToOpen = yield* Deferred.make<never, ConnectionError | AuthenticationError>()

    const socket = yield* Socket.fromWebSocket(acquire(checked.right, state, construct), {
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
          const closeCode = state.closeCode ?? (error?.reason === "Close" ? error.code : undefined)
          if (!(yield* Deferred.isDone(opened))) {
            yield* Deferred.fail(
              failedToOpen,
              Rules.openFailure({
                closeCode,
                closeReason: state.closeReason,
                timedOut: error !== undefined && error.reason === "OpenTimeout",
                invalidRequest: state.invalidRequest,
                offeredProtocol: checked.right.protocols.length > 0
              })
            )
            return yield* received.fail(closedError)
          }
          if (Exit.isSuccess(exit) || Exit.isInterrupted(exit)) return yield* received.end
          const lost = Rules.lostFailure(
            closeCode,
            state.closeReason ?? (error?.reason === "Close" ? error.closeReason : undefined)
          )
          return yield* lost === undefined ? received.end : received.fail(lost)
        })
      ),
      Effect.forkScoped
    )
    // Runs before the fiber above is interrupted, so a `send` racing the scope's end fails at once.
    yield* Effect.addFinalizer(() => Effect.sync(() => void (state.ended = true)))

    yield* Effect.raceFirst(Deferred.await(opened), Deferred.await(failedToOpen))

    const isOpen = () => !state.ended && state.ws !== undefined && state.ws.readyState === OPEN
    // The browser buffers without limit and tells nobody when its buffer drains: once it holds more
    // than the low-water mark, `send` waits, looking again every poll interval, until it is back
    // under the mark (a peer that stops reading then holds the writer; the write timeout can fire).
    const drained: Effect.Effect<void, ConnectionError> = Effect.suspend(() =>
      isOpen() ? Effect.succeed(state.ws!.bufferedAmount > options.sendLowWaterMark) : Effect.fail(closedError)
    ).pipe(
      Effect.repeat({ schedule: Schedule.spaced(options.drainPollInterval), while: (waiting) => waiting }),
      Effect.asVoid
    )

    const send = (text: string): Effect.Effect<void, ConnectionError> =>
      Effect.suspend(() => {
        if (!isOpen()) return Effect.fail(closedError)
        try {
          state.ws!.send(text)
        } catch {
          return Effect.fail(closedError)
        }
        return state.ws!.bufferedAmount <= options.sendLowWaterMark ? Effect.void : drained
      })

    const close = (code?: number, reason?: string): Effect.Effect<void> =>
      Effect.sync(() => {
        if (state.ended) return
        state.ended = true
        const ws = state.ws
        if (ws === undefined) return
        try {
          ws.close(Rules.closeCodeFor(code), Rules.closeReasonFor(reason))
        } catch {
          ws.close()
        }
      })

    return {
      send,
      messages: received.messages,
      listen: received.listen,
      close,
      bufferedAmount: () => state.ws?.bufferedAmount ?? 0
    } satisfies TransportConnection
  })

/** @internal */
export const defaultPollInterval = Duration.millis(5)
