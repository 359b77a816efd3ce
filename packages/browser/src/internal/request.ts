/**
 * Pure rules of the browser transport: which requests a browser WebSocket can make, how a connection's
 * end maps to the core's typed errors, and which close codes and reasons a page may send.
 *
 * @since 0.2.0
 */
import { AuthenticationError, ConfigurationError, ConnectionError } from "@realtime-fx/core/Errors"
import type { TransportRequest } from "@realtime-fx/core/Transport"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"

/**
 * Headers a page cannot set and the browser sends on its own: dropped without complaint (the
 * providers add a `User-Agent` to every request).
 *
 * @internal
 */
export const browserOwnedHeaders: ReadonlySet<string> = new Set(["user-agent"])

/**
 * What the browser WebSocket is opened with: the URL and the subprotocols (revealed only here).
 *
 * @internal
 */
export interface BrowserRequest {
  readonly url: string
  readonly protocols: ReadonlyArray<string>
}

/**
 * Checks that a request needs no headers (a browser WebSocket cannot send any): a header such as
 * `Authorization` (an `apiKey`) is refused with a `ConfigurationError` naming only the header, so
 * that no API key is ever used from a page. Browser-owned headers (`User-Agent`) are dropped.
 *
 * @internal
 */
export const checkRequest = (request: TransportRequest): Either.Either<BrowserRequest, ConfigurationError> => {
  const refused = Object.keys(request.headers).filter((name) => !browserOwnedHeaders.has(name.toLowerCase()))
  if (refused.length > 0) {
    const auth = refused.some((name) => name.toLowerCase() === "authorization")
    return Either.left(
      new ConfigurationError({
        message: `the browser transport cannot send HTTP headers (${refused.join(", ")})${
          auth
            ? ": an API key must never reach a page; mint a client secret on your server " +
              "(Xai.createClientSecret) and pass it as `clientSecret`"
            : ""
        }`
      })
    )
  }
  return Either.right({
    url: request.url,
    protocols: request.protocols.map((p) => (Redacted.isRedacted(p) ? Redacted.value(p) : p))
  })
}

/**
 * What the transport saw of a socket that ended before it opened.
 *
 * @internal
 */
export interface OpenEnd {
  /** The close event's code, when one came (a refused handshake shows as 1006). */
  readonly closeCode: number | undefined
  readonly closeReason: string | undefined
  /** The open timed out. */
  readonly timedOut: boolean
  /** The browser refused to construct the WebSocket (bad URL or subprotocol): retrying cannot help. */
  readonly invalidRequest: string | undefined
  /** The request offered a subprotocol (a client secret). */
  readonly offeredProtocol: boolean
}

/**
 * Maps a socket that ended before it opened to the error `open` fails with. A browser hides the
 * handshake's HTTP status: a refused upgrade shows as close 1006 before open, so the message names
 * the likely causes. A close with an application code 4001/4003 (or 1008 with an auth reason) is
 * taken as a refused credential.
 *
 * @internal
 */
export const openFailure = (end: OpenEnd): ConnectionError | AuthenticationError => {
  if (end.invalidRequest !== undefined) {
    return new ConnectionError({
      message: `invalid WebSocket request (the browser refused its URL or subprotocol): ${end.invalidRequest}`,
      retryable: false
    })
  }
  if (end.timedOut) return new ConnectionError({ message: "WebSocket open timed out", retryable: true, timedOut: true })
  const code = end.closeCode
  if (code === 4001 || code === 4003 || (code === 1008 && /auth|secret|key/i.test(end.closeReason ?? ""))) {
    return new AuthenticationError({
      message: `the server refused the credentials (close ${code}${end.closeReason ? `: ${end.closeReason}` : ""})`
    })
  }
  if (code === undefined || code === 1006) {
    return new ConnectionError({
      message: "WebSocket handshake failed (closed with 1006 before it opened; a browser does not show the HTTP " +
        `status): the server is unreachable or refused the upgrade${
          end.offeredProtocol
            ? " (an invalid or expired client secret is refused with 401; mint a new one), or it did not " +
              "echo the offered subprotocol"
            : ""
        }`,
      retryable: true,
      code: 1006
    })
  }
  return new ConnectionError({
    message: `WebSocket closed before it opened (code ${code})`,
    retryable: true,
    code,
    ...(end.closeReason ? { reason: end.closeReason } : {})
  })
}

/**
 * Maps the end of an open connection (a close event, or an error without one) to the error the
 * `messages` mailbox fails with; `undefined` for a normal close (1000).
 *
 * @internal
 */
export const lostFailure = (closeCode: number | undefined, closeReason: string | undefined): ConnectionError | undefined => {
  if (closeCode === 1000) return undefined
  if (closeCode === undefined) {
    return new ConnectionError({ message: "WebSocket connection lost (error event)", retryable: true, code: 1006 })
  }
  return new ConnectionError({
    message: `WebSocket closed with code ${closeCode}${closeReason ? `: ${closeReason}` : ""}`,
    retryable: true,
    code: closeCode,
    ...(closeReason ? { reason: closeReason } : {})
  })
}

/**
 * A close code a page may send: 1000 or the application range 3000-4999 (the browser throws on any
 * other); anything else becomes 1000.
 *
 * @internal
 */
export const closeCodeFor = (code: number | undefined): number =>
  code !== undefined && Number.isInteger(code) && (code === 1000 || (code >= 3000 && code <= 4999)) ? code : 1000

const encoder = new TextEncoder()

/**
 * A close reason cut to 123 UTF-8 bytes (the browser throws on a longer one), never inside a
 * character.
 *
 * @internal
 */
export const closeReasonFor = (reason: string | undefined): string | undefined => {
  if (reason === undefined) return undefined
  const chars = Array.from(reason).slice(0, 123)
  while (encoder.encode(chars.join("")).length > 123) chars.pop()
  return chars.join("")
}
