/** The session's flow-control settings for its connection: write high/low-water marks and the liveness timeouts. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Connection from "../../Connection.js"
import type * as RS from "../../RealtimeSession.js"

/** Default idle timeout while a response is active. */
export const DEFAULT_ACTIVE_IDLE_TIMEOUT = Duration.seconds(15)
/** Default idle timeout while no response is active. */
export const DEFAULT_IDLE_TIMEOUT = Duration.seconds(60)

/** The connection settings the session options ask for; `responseActive` is read at every liveness check. */
export const connectionOptions = (
  options: RS.SessionOptions,
  responseActive: () => boolean
): Pick<Connection.ConnectionConfig, "highWaterMark" | "lowWaterMark" | "idleTimeout" | "framesOnly" | "minIdleTimeout"> => {
  const liveness = options.liveness
  if (liveness === false) {
    return { highWaterMark: options.writeBuffer?.highWaterMark, lowWaterMark: options.writeBuffer?.lowWaterMark }
  }
  const active = Duration.decode(liveness?.activeTimeout ?? DEFAULT_ACTIVE_IDLE_TIMEOUT)
  const idle = Duration.decode(liveness?.idleTimeout ?? DEFAULT_IDLE_TIMEOUT)
  return {
    highWaterMark: options.writeBuffer?.highWaterMark,
    lowWaterMark: options.writeBuffer?.lowWaterMark,
    idleTimeout: Effect.sync(() => (responseActive() ? active : idle)),
    minIdleTimeout: Duration.min(active, idle),
    // A response in progress streams events: pongs alone mean the server stalled.
    framesOnly: Effect.sync(responseActive)
  }
}
