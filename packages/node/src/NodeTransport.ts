/**
 * The Node.js `Transport`: WebSocket connections through `ws` (custom headers).
 *
 * @since 0.1.0
 */
import { Transport, type TransportService } from "@realtime-fx/core/Transport"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internal from "./internal/wsConnection.js"

/**
 * Options of the Node transport.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How long an open may wait for the WebSocket handshake (default 10 seconds). */
  readonly openTimeout?: Duration.DurationInput | undefined
  /**
   * Once the socket holds more than this many unsent bytes, `send` waits for its frame to reach the
   * network (default 64 KiB): a peer that stops reading holds the writer instead of growing memory.
   *
   * @since 0.2.0
   */
  readonly sendLowWaterMark?: number | undefined
}

/**
 * Builds the transport service. `open` succeeds once the socket is open; an upgrade refused with
 * HTTP 401/403 fails with `AuthenticationError`, any other failure with a retryable `ConnectionError`.
 * Connections report ws's `bufferedAmount`, send WebSocket pings when asked and count pongs, for the
 * connection's backpressure and liveness checks.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<TransportService> =>
  Effect.sync(() => {
    const openOptions: internal.OpenOptions = {
      openTimeout: options.openTimeout ?? "10 seconds",
      sendLowWaterMark: options.sendLowWaterMark ?? 64 * 1024
    }
    return Transport.of({ open: (request) => internal.open(request, openOptions) })
  })

/**
 * The transport with the given options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Options): Layer.Layer<Transport> => Layer.effect(Transport, make(options))

/**
 * The transport with default options (10 second open timeout).
 *
 * @example
 * ```ts
 * import * as NodeTransport from "@realtime-fx/node/NodeTransport"
 * import * as RealtimeSession from "@realtime-fx/core/RealtimeSession"
 * import { Resampler } from "@realtime-fx/core/Resampler"
 * import * as Xai from "@realtime-fx/core/Xai"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 *
 * // XAI_API_KEY from the environment, WebSockets through `ws`, the production resampler.
 * const MainLive = Layer.mergeAll(Xai.layerConfig(), NodeTransport.layer, Resampler.layer)
 *
 * const program = Effect.gen(function*() {
 *   const session = yield* RealtimeSession.make()
 *   yield* session.updateInstructions("Answer in one sentence.")
 *   return yield* session.chatContext
 * }).pipe(Effect.scoped, Effect.provide(MainLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Transport> = layerWith({})
