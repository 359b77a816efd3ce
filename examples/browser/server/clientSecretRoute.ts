/**
 * The client-secret route: a tiny Node HTTP handler that mints a short-lived xAI client secret with
 * the server's API key (`Xai.createClientSecret`) and gives the page only that secret. The API key
 * never leaves this process.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Xai from "@realtime-fx/core/Xai"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Http from "node:http"

/** Options of the route. */
export interface ClientSecretRouteOptions {
  /** The server's xAI API key. */
  readonly apiKey: Redacted.Redacted<string>
  /** Where to mint secrets (default xAI's `https://api.x.ai/v1`; the fake server's `httpUrl` in tests). */
  readonly baseUrl?: string | undefined
  /** The realtime URL the page should connect to (default: the provider's own). */
  readonly realtimeUrl?: string | undefined
  /** Seconds a secret lives (default 60: the page connects right away). */
  readonly expiresAfterSeconds?: number | undefined
}

/** What the page receives. */
export interface SessionGrant {
  readonly clientSecret: string
  readonly expiresAt: number
  readonly realtimeUrl: string | null
}

/**
 * The handler: `POST` answers `{ clientSecret, expiresAt, realtimeUrl }` (no-store); a failure to
 * mint answers 502 with the error's tag and message (which never carry the key).
 */
export const clientSecretRoute = (options: ClientSecretRouteOptions) =>
(req: Http.IncomingMessage, res: Http.ServerResponse): void => {
  if (req.method !== "POST") {
    res.writeHead(405, { Allow: "POST" }).end()
    return
  }
  const mint = Xai.createClientSecret({
    apiKey: options.apiKey,
    baseUrl: options.baseUrl,
    expiresAfterSeconds: options.expiresAfterSeconds ?? 60
  }).pipe(
    Effect.map((secret): SessionGrant => ({
      clientSecret: Redacted.value(secret.value),
      expiresAt: secret.expiresAt,
      realtimeUrl: options.realtimeUrl ?? null
    })),
    Effect.provide(NodeHttpClient.layerUndici)
  )
  Effect.runPromise(Effect.either(mint)).then((result) => {
    const [status, body] = result._tag === "Right"
      ? [200, result.right]
      : [502, { error: { tag: result.left._tag, message: result.left.message } }]
    res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end(JSON.stringify(body))
  }, () => res.writeHead(500).end())
}
