/**
 * Pure building of realtime WebSocket URLs from a base URL and query parameters.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { capString } from "./redact.js"

/** @internal */
export interface UrlParams {
  /** Set as `model` only when the URL carries no `model` parameter yet. */
  readonly model?: string | undefined
  /** Set (replacing any existing value of the same key), in this order. Undefined values are skipped. */
  readonly set?: ReadonlyArray<readonly [string, string | undefined]> | undefined
}

const realtimeSuffixPaths: ReadonlySet<string> = new Set(["", "/v1", "/openai", "/openai/v1"])

const schemes: Readonly<Record<string, string>> = {
  "http:": "ws:",
  "https:": "wss:",
  "ws:": "ws:",
  "wss:": "wss:"
}

const decodeKey = (raw: string): string => {
  const key = raw.split("=", 1)[0]!
  try {
    return decodeURIComponent(key.replace(/\+/g, " "))
  } catch {
    return key
  }
}

const encodePair = (key: string, value: string): string => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`

/**
 * Splits a raw query (without `?`) into its `&`-separated segments, dropping empty ones.
 *
 * @internal
 */
const segments = (rawQuery: string): Array<string> => rawQuery.split("&").filter((segment) => segment.length > 0)

/**
 * Adds or replaces query parameters on an already final URL, keeping the raw text of every other
 * parameter. Fails with a message when the URL cannot be parsed.
 *
 * @internal
 */
export const withQuery = (
  url: string,
  params: UrlParams
): Either.Either<string, string> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Either.left("the URL cannot be parsed")
  }
  const setEntries = (params.set ?? []).filter((entry): entry is readonly [string, string] => entry[1] !== undefined)
  const setKeys = new Set(setEntries.map(([key]) => key))
  const kept = segments(parsed.search.slice(1)).filter((segment) => !setKeys.has(decodeKey(segment)))
  const hasModel = kept.some((segment) => decodeKey(segment) === "model")
  const added: Array<string> = []
  if (params.model !== undefined && !hasModel && !setKeys.has("model")) {
    added.push(encodePair("model", params.model))
  }
  for (const [key, value] of setEntries) added.push(encodePair(key, value))
  const all = [...kept, ...added]
  // Spliced as text: assigning `search` makes some URL parsers re-normalize the path ("/a/." to
  // "/a"), which would make building a built URL change it again.
  const href = parsed.href
  const head = href.slice(0, href.length - parsed.search.length - parsed.hash.length)
  return Either.right(`${head}${all.length > 0 ? `?${all.join("&")}` : ""}${parsed.hash}`)
}

/** Parses a URL whose scheme maps to a WebSocket one (`http` -> `ws`, `https` -> `wss`). */
const parseWebSocketUrl = (url: string): Either.Either<{ readonly parsed: URL; readonly scheme: string }, string> => {
  let parsed: URL
  try {
    parsed = new URL(url.trim())
  } catch {
    return Either.left("the URL cannot be parsed")
  }
  const scheme = schemes[parsed.protocol]
  if (scheme === undefined) {
    return Either.left(
      `unsupported URL scheme ${JSON.stringify(capString(parsed.protocol, 32))} (expected http, https, ws or wss)`
    )
  }
  // The message never quotes the URL: it would show the credentials.
  return parsed.username !== "" || parsed.password !== ""
    ? Either.left("the URL carries credentials (user:password@); pass the credential as an option instead")
    : Either.right({ parsed, scheme })
}

/**
 * Checks a REST base URL (the client secret endpoint): `http` or `https`, without credentials.
 * Fails with a message that never quotes the URL.
 *
 * @internal
 */
export const checkHttpUrl = (url: string): Either.Either<string, string> =>
  Either.flatMap(parseWebSocketUrl(url), ({ parsed }) =>
    parsed.protocol === "http:" || parsed.protocol === "https:"
      ? Either.right(url.trim())
      : Either.left("expected an http or https URL"))

/**
 * Builds a realtime WebSocket URL from a base URL: `http(s)` becomes `ws(s)`; a path that is empty,
 * `/v1`, `/openai` or `/openai/v1` gets `/realtime` appended, any other path is used as given
 * (trailing slashes removed); any fragment is dropped; then the query parameters are applied
 * (`model` only when absent, `set` entries replacing same-named ones, other parameters kept verbatim).
 * Idempotent on its own output. Fails with a message for an unparsable URL or another scheme.
 *
 * @internal
 */
const buildOnce = (base: string, params: UrlParams): Either.Either<string, string> =>
  Either.flatMap(parseWebSocketUrl(base), ({ parsed, scheme }) => {
    parsed.protocol = scheme
    const path = parsed.pathname.replace(/\/+$/, "")
    parsed.pathname = realtimeSuffixPaths.has(path) ? `${path}/realtime` : path
    parsed.hash = ""
    return withQuery(parsed.toString(), params)
  })

/**
 * Builds the realtime URL (see `buildOnce`), repeated until it no longer changes: URL parsers
 * resolve dot segments differently on parse and on assignment, and building a built URL must give
 * it back unchanged.
 *
 * @internal
 */
export const build = (base: string, params: UrlParams = {}): Either.Either<string, string> => {
  let out = buildOnce(base, params)
  for (let i = 0; i < 4 && Either.isRight(out); i++) {
    const next = buildOnce(out.right, params)
    if (Either.isLeft(next) || next.right === out.right) break
    out = next
  }
  return out
}

/**
 * A caller's full URL override (for gateways): used as given, except that `http(s)` becomes
 * `ws(s)`; any other scheme, or a URL that cannot be parsed, is refused.
 *
 * @internal
 */
export const override = (url: string): Either.Either<string, string> =>
  Either.map(parseWebSocketUrl(url), ({ parsed, scheme }) => {
    const text = url.trim()
    return scheme === parsed.protocol ? text : `${scheme}${text.slice(parsed.protocol.length)}`
  })

/** `127.0.0.0/8` as the URL parser normalizes it (dotted decimal). */
const loopbackV4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

/** `::1` and the IPv4-mapped `::ffff:127.x.y.z`, as the URL parser normalizes them (bracketed, hex). */
const loopbackV6 = /^\[(?:::1|::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4})\]$/

/**
 * True for a loopback host name as `URL#hostname` gives it: `localhost`, `127.0.0.0/8`, `[::1]` and
 * IPv4-mapped `[::ffff:127.x.y.z]`. Subdomains of `localhost` are not trusted (a resolver may
 * send them anywhere).
 *
 * @internal
 */
export const isLoopbackHost = (hostname: string): boolean => {
  const host = hostname.toLowerCase().replace(/\.$/, "")
  return host === "localhost" || loopbackV4.test(host) || loopbackV6.test(host)
}

/**
 * True when a URL is cleartext (`ws:` or `http:`) to a host that is not loopback: a credential sent
 * there can be read on the network. An unparsable URL counts as cleartext to a remote host.
 *
 * @internal
 */
export const isCleartextRemote = (url: string): boolean => {
  let parsed: URL
  try {
    parsed = new URL(url.trim())
  } catch {
    return true
  }
  if (parsed.protocol === "wss:" || parsed.protocol === "https:") return false
  return !isLoopbackHost(parsed.hostname)
}
