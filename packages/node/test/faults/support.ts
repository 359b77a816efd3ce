// Shared pieces of the fault suite: a raw loopback ws server with its sockets at hand (to stop
// reading, stop answering pings, or cut a frame in half), the session's layers over the Node
// transport, and a leak check (tracked fibers, active handles).
import type { AddressInfo } from "node:net"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { WebSocketServer, type WebSocket } from "ws"
import { type RealtimeModel, Resampler, type Transport, Xai } from "@realtime-fx/core"
import { NodeTransport } from "@realtime-fx/node"

/** A raw ws server on 127.0.0.1 whose connections are handed to `onConnection`. */
export const rawServer = (
  onConnection: (ws: WebSocket) => void,
  options: { readonly autoPong?: boolean } = {}
) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly handshakes: () => number; readonly sockets: Set<WebSocket>; readonly wss: WebSocketServer }>(
      (resume) => {
        let handshakes = 0
        const sockets = new Set<WebSocket>()
        const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, autoPong: options.autoPong ?? true })
        wss.on("connection", (ws) => {
          handshakes++
          sockets.add(ws)
          ws.on("close", () => sockets.delete(ws))
          ws.on("error", () => {})
          onConnection(ws)
        })
        wss.on("listening", () => {
          const port = (wss.address() as AddressInfo).port
          resume(Effect.succeed({ url: `ws://127.0.0.1:${port}/v1/realtime`, handshakes: () => handshakes, sockets, wss }))
        })
      }
    ),
    ({ sockets, wss }) =>
      Effect.async<void>((resume) => {
        for (const ws of sockets) ws.terminate()
        wss.close(() => resume(Effect.void))
      })
  )

/** What a raw server says first (the session does not wait for it, but a real server sends it). */
export const greet = (ws: WebSocket) => {
  ws.send(JSON.stringify({ type: "session.created", event_id: "ev_0", session: { id: "sess_raw" } }))
}

/** Stops reading from a server-side socket: the client's writes pile up in the kernel, then in the client. */
export const stopReading = (ws: WebSocket) => {
  ;(ws as unknown as { _socket: { pause: () => void } })._socket.pause()
}

/** The session's environment over the Node transport against `url`. */
export const layers = (
  url: string,
  options: Omit<Xai.Options, "apiKey" | "baseUrl"> = {}
): Layer.Layer<RealtimeModel.RealtimeModel | Transport.Transport | Resampler.Resampler> =>
  Layer.mergeAll(
    Xai.layer({ apiKey: Redacted.make("fault-suite-key"), baseUrl: url, turnDetection: null, ...options }).pipe(Layer.orDie),
    NodeTransport.layer,
    Resampler.Resampler.layerLinear
  )

/** Active handles and requests by kind (timers, sockets, ...), for a before/after comparison. */
export const activeResources = (): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}

/** The kinds whose count grew from `before` to now (waits up to 6 s for sockets and timers to go). */
export const leakedResources = (before: Record<string, number>) =>
  Effect.gen(function*() {
    let grown: Record<string, number> = {}
    for (let i = 0; i < 120; i++) {
      const now = activeResources()
      grown = {}
      for (const [kind, n] of Object.entries(now)) if (n > (before[kind] ?? 0)) grown[kind] = n - (before[kind] ?? 0)
      if (Object.keys(grown).length === 0) return grown
      yield* Effect.sleep("50 millis")
    }
    return grown
  })

/** Polls `check` every 10 ms until true, failing after `within`. */
export const until = (check: Effect.Effect<boolean> | (() => boolean), within: `${number} seconds` = "5 seconds") =>
  Effect.gen(function*() {
    const test = typeof check === "function" ? Effect.sync(check) : check
    while (!(yield* test)) yield* Effect.sleep("10 millis")
  }).pipe(Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`condition not met within ${within}`) }))
