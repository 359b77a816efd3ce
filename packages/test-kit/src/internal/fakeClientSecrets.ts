/**
 * The fake server's plain HTTP side: `POST .../realtime/client_secrets` mints client secrets (as
 * xAI's endpoint does) that its WebSocket then accepts as the `xai-client-secret.<value>` subprotocol;
 * every other request gets 426.
 */
import type * as Http from "node:http"
import type { ServerContext } from "./fakeConnection.js"

const json = (res: Http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { "Content-Type": "application/json" })
  res.end(JSON.stringify(body))
}

/** The seconds a secret lives, from `{"expires_after":{"seconds":N}}` (default 600, 1 to 3600). */
const secondsOf = (body: string): number | undefined => {
  if (body.trim() === "") return 600
  try {
    const parsed = JSON.parse(body) as { expires_after?: { seconds?: unknown } }
    const seconds = parsed.expires_after?.seconds ?? 600
    return typeof seconds === "number" && Number.isInteger(seconds) && seconds >= 1 && seconds <= 3600 ? seconds : undefined
  } catch {
    return undefined
  }
}

/** Serves one plain HTTP request. */
export const serveHttp = (ctx: ServerContext, req: Http.IncomingMessage, res: Http.ServerResponse): void => {
  const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname
  if (!path.endsWith("/realtime/client_secrets")) {
    return json(res, 426, { error: { message: "fake realtime server: connect with a WebSocket" } })
  }
  if (req.method !== "POST") return json(res, 405, { error: { message: "use POST" } })
  const token = ctx.options.requireAuth
  if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
    return json(res, 401, { error: { message: "Incorrect API key provided." } })
  }
  let body = ""
  req.setEncoding("utf8")
  req.on("data", (chunk: string) => {
    body += chunk
  })
  req.on("end", () => {
    const seconds = secondsOf(body)
    if (seconds === undefined) return json(res, 400, { error: { message: "expires_after.seconds must be an integer from 1 to 3600" } })
    const value = `fake-secret-${ctx.nextId("cs")}`
    ctx.clientSecrets.add(value)
    json(res, 200, { value, expires_at: Math.floor(Date.now() / 1000) + seconds })
  })
}
