/**
 * The browser `Transport`: WebSocket connections through the browser's `WebSocket` and
 * @effect/platform's Socket, authenticated by subprotocol only (client secrets).
 *
 * @since 0.2.0
 */
import * as BrowserSocket from "@effect/platform-browser/BrowserSocket"
import type * as Socket from "@effect/platform/Socket"
import type { ConfigurationError } from "@realtime-fx/core/Errors"
import { RealtimeModel } from "@realtime-fx/core/RealtimeModel"
import { Transport, type TransportRequest, type TransportService } from "@realtime-fx/core/Transport"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Rules from "./internal/request.js"
import * as internal from "./internal/socket.js"

/**
 * Options of the browser transport.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** How long an open may wait for the WebSocket handshake (default 10 seconds). */
  readonly openTimeout?: Duration.DurationInput | undefined
  /**
   * Once the socket holds more than this many unsent bytes (`bufferedAmount`), `send` waits until it
   * is back under it (default 64 KiB).
   */
  readonly sendLowWaterMark?: number | undefined
}

/**
 * Builds the transport service over the `WebSocket` constructor in context (the browser's own with
 * `layer`). `open` succeeds once the socket is open. A browser cannot send headers: a request with
 * one (an `Authorization` from an `apiKey`) dies with a `ConfigurationError` before any connection
 * (the `User-Agent` the providers add is dropped; the browser sends its own). A handshake the server
 * refuses shows in a browser as close 1006 before open, with no HTTP status: it fails with a
 * retryable `ConnectionError` whose message names the likely causes (an expired client secret, an
 * unreachable server, a subprotocol not echoed). Connections report `bufferedAmount` and offer push
 * delivery (`listen`, for an engine that uses it); a browser exposes no WebSocket ping or pong, so
 * they offer neither `ping` nor `activity`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<TransportService, never, Socket.WebSocketConstructor> =>
  Effect.map(Effect.context<Socket.WebSocketConstructor>(), (context) => {
    const openOptions: internal.OpenOptions = {
      openTimeout: options.openTimeout ?? "10 seconds",
      sendLowWaterMark: options.sendLowWaterMark ?? 64 * 1024,
      drainPollInterval: internal.defaultPollInterval
    }
    return Transport.of({
      open: (request) => internal.open(request, openOptions).pipe(Effect.provide(context))
    })
  })

/**
 * The transport over the `WebSocket` constructor in context: a test can provide another one
 * (`Socket.WebSocketConstructor`, e.g. the `ws` package's in Node).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConstructor = (options: Options = {}): Layer.Layer<Transport, never, Socket.WebSocketConstructor> =>
  Layer.effect(Transport, make(options))

/**
 * The transport with the given options, over the browser's `WebSocket`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWith = (options: Options): Layer.Layer<Transport> =>
  layerConstructor(options).pipe(Layer.provide(BrowserSocket.layerWebSocketConstructor))

/**
 * The transport with default options (10 second open timeout), over the browser's `WebSocket`.
 *
 * @example
 * ```ts
 * import * as BrowserTransport from "@realtime-fx/browser/BrowserTransport"
 * import * as RealtimeSession from "@realtime-fx/core/RealtimeSession"
 * import { Resampler } from "@realtime-fx/core/Resampler"
 * import * as Xai from "@realtime-fx/core/Xai"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as Redacted from "effect/Redacted"
 *
 * // The client secret comes from your server (Xai.createClientSecret); the API key never reaches the page.
 * const connect = (clientSecret: string) =>
 *   Effect.gen(function*() {
 *     const session = yield* RealtimeSession.make()
 *     yield* session.updateInstructions("Answer in one sentence.")
 *     return session
 *   }).pipe(
 *     Effect.provide(Layer.mergeAll(
 *       Xai.layer({ clientSecret: Redacted.make(clientSecret) }),
 *       BrowserTransport.layer,
 *       Resampler.layerLinear
 *     ))
 *   )
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<Transport> = layerWith({})

/**
 * Checks up front that a request can be made from a browser (no headers besides `User-Agent`):
 * fails with the `ConfigurationError` that `open` would die with.
 *
 * @since 0.2.0
 * @category validation
 */
export const checkRequest = (request: TransportRequest): Effect.Effect<void, ConfigurationError> =>
  Either.match(Rules.checkRequest(request), { onLeft: Effect.fail, onRight: () => Effect.void })

/**
 * Checks up front that the `RealtimeModel` in context can connect from a browser: a provider built
 * with an `apiKey` fails with a `ConfigurationError` (use a `clientSecret`).
 *
 * @since 0.2.0
 * @category validation
 */
export const checkModel: Effect.Effect<void, ConfigurationError, RealtimeModel> = Effect.flatMap(
  RealtimeModel,
  (model) => checkRequest(model.request())
)
