// W4 hook: timestamps every audio-delta frame at the moment its `ws` socket emits "message" (before
// any client code sees it), for every copy of `ws` in use (the workspace's and the peers'), without
// editing library code. Frames arrive in order, so the n-th decoded frame a consumer receives
// belongs to the n-th timestamp.
import { createRequire } from "node:module"
import { existsSync } from "node:fs"
import { peersDir } from "../peers.mjs"

const AUDIO = "\"response.output_audio.delta\""
const arrivals = []
let next = 0
let installed = false

const patch = (WebSocket) => {
  const emit = WebSocket.prototype.emit
  WebSocket.prototype.emit = function(event, data, ...rest) {
    if (event === "message" && data !== undefined && data.length > 1000) {
      const head = typeof data === "string" ? data.slice(0, 80) : data.subarray(0, 80).toString("latin1")
      if (head.includes(AUDIO)) arrivals.push(performance.now())
    }
    return emit.call(this, event, data, ...rest)
  }
}

/** Installs the hook once (workspace `ws` and, when installed, bench/.peers `ws`). */
export const install = () => {
  if (installed) return
  installed = true
  const require = createRequire(import.meta.url)
  const seen = new Set()
  const candidates = [require("ws")]
  if (existsSync(`${peersDir}node_modules/ws`)) candidates.push(createRequire(`${peersDir}package.json`)("ws"))
  for (const W of candidates) {
    if (!seen.has(W)) {
      seen.add(W)
      patch(W)
    }
  }
}

/** Starts a measurement: clears the arrival queue. */
export const reset = () => {
  arrivals.length = 0
  next = 0
}

/** The consumer saw the next audio frame now: its delay in ms since its socket arrival. */
export const consumed = () => performance.now() - arrivals[next++]
