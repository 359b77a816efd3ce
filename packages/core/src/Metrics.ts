/**
 * Connection metrics (Effect `Metric`s), tagged with `provider` and `model` like the response
 * metrics in `Generation` (`ttftMetric`, `responsesMetric`, `outputTokensMetric`).
 *
 * @since 0.2.0
 */
import type { FatalError } from "./Errors.js"
import * as Metric from "effect/Metric"

/**
 * Connections opened (first ones and reconnections).
 *
 * @since 0.2.0
 * @category metrics
 */
export const connectsMetric = Metric.counter("realtime_fx_connects_total", { description: "Connections opened" })

/**
 * Reconnections (every connection after a session's first).
 *
 * @since 0.2.0
 * @category metrics
 */
export const reconnectsMetric = Metric.counter("realtime_fx_reconnects_total", { description: "Reconnections" })

/**
 * Connections that ended, tagged with `reason` (see `dropReason`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const dropsMetric = Metric.counter("realtime_fx_drops_total", { description: "Connections ended, by reason" })

/**
 * Bytes of text frames received from the server.
 *
 * @since 0.2.0
 * @category metrics
 */
export const bytesInMetric = Metric.counter("realtime_fx_bytes_in_total", { description: "Bytes received" })

/**
 * Bytes of text frames written to the server.
 *
 * @since 0.2.0
 * @category metrics
 */
export const bytesOutMetric = Metric.counter("realtime_fx_bytes_out_total", { description: "Bytes sent" })

/**
 * The `reason` tag of a dropped connection: `recycled` (planned), the close code (`close_1006`), or
 * the error's kind (`authentication`, `server_<code>`, `timeout` for a `ConnectionError` with
 * `timedOut`, `closed`, `network`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const dropReason = (error: FatalError | undefined): string => {
  if (error === undefined) return "recycled"
  switch (error._tag) {
    case "AuthenticationError":
      return "authentication"
    case "SessionClosedError":
      return "closed"
    case "ServerError":
      return `server_${(error.code ?? "error").slice(0, 40)}`
    case "ConnectionError":
      return error.code !== undefined ? `close_${error.code}` : error.timedOut === true ? "timeout" : "network"
  }
}
