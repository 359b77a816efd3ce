/**
 * Pure guards for what a session publishes: MCP credentials removed from client and server events,
 * server-controlled strings capped, known secret values scrubbed from text.
 *
 * @since 0.2.0
 */
import type { ClientEvent } from "../protocol/ClientEvents.js"
import type { DecodedServerEvent } from "../protocol/Codec.js"
import type { SessionConfig } from "../protocol/Session.js"
import type * as Tool from "../Tool.js"

/**
 * What a removed secret is replaced with (the same marker `Tool.mcp` prints).
 *
 * @since 0.2.0
 * @category constants
 */
export const redactedMarker = "<redacted>"

/**
 * Secrets shorter than this (after trimming) are not scrubbed: replacing every occurrence of a
 * short string would mangle ordinary text.
 *
 * @since 0.2.0
 * @category constants
 */
export const minSecretLength = 8

/**
 * The default cap of `capString`, in UTF-16 code units.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultCap = 256

// ---------------------------------------------------------------------------------------------
// MCP credentials in events
// ---------------------------------------------------------------------------------------------

type Loose = Readonly<Record<string, unknown>>

const isRecord = (value: unknown): value is Loose =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** `headers` with every value replaced by the marker, or the same value when already so (or absent). */
const redactHeaders = (headers: unknown): unknown => {
  if (headers === undefined || headers === null) return headers
  if (!isRecord(headers)) return redactedMarker
  const keys = Object.keys(headers)
  if (keys.every((key) => headers[key] === redactedMarker)) return headers
  // Object.fromEntries defines own data properties: a `__proto__` key stays an ordinary key.
  return Object.fromEntries(keys.map((key) => [key, redactedMarker]))
}

/**
 * A tool with its `authorization` and every `headers` value replaced by the marker. Any tool type is
 * checked (not only `mcp`): a server may echo connectors under other types. Same object when there
 * is nothing to redact.
 */
const redactTool = (tool: unknown): unknown => {
  if (!isRecord(tool)) return tool
  const authorization = tool["authorization"]
  const redactAuthorization = authorization !== undefined && authorization !== null && authorization !== redactedMarker
  const headers = redactHeaders(tool["headers"])
  if (!redactAuthorization && headers === tool["headers"]) return tool
  return {
    ...tool,
    ...(redactAuthorization ? { authorization: redactedMarker } : {}),
    ...(headers !== tool["headers"] ? { headers } : {})
  }
}

/** The array with every tool redacted, or the same array when no tool changed. */
const redactTools = (tools: unknown): unknown => {
  if (!Array.isArray(tools)) return tools
  let out: Array<unknown> | undefined
  for (let i = 0; i < tools.length; i++) {
    const redacted = redactTool(tools[i])
    if (redacted !== tools[i]) {
      out ??= tools.slice()
      out[i] = redacted
    }
  }
  return out ?? tools
}

/** An object whose `tools` field is redacted; the same object when nothing changed. */
const withRedactedTools = <A>(holder: A): A => {
  if (!isRecord(holder)) return holder
  const tools = holder["tools"]
  const redacted = redactTools(tools)
  return redacted === tools ? holder : ({ ...holder, tools: redacted } as A)
}

/** An object whose `field` (a session or response object) has its tools redacted. */
const withRedactedField = <A>(holder: A, field: string): A => {
  if (!isRecord(holder)) return holder
  const inner = holder[field]
  const redacted = withRedactedTools(inner)
  return redacted === inner ? holder : ({ ...holder, [field]: redacted } as A)
}

/**
 * A session configuration with its tools' MCP `authorization` and `headers` values replaced by
 * `redactedMarker`; the same object when there is nothing to redact.
 *
 * @since 0.2.0
 * @category redaction
 */
export const redactSessionConfig = (session: SessionConfig): SessionConfig => withRedactedTools(session)

/**
 * A client event as it may be published or logged: the tools of `session.update`,
 * `transcription_session.update` and `response.create` have their MCP `authorization` and
 * `headers` values replaced by `redactedMarker`. Everything else is unchanged, and the event
 * itself is returned (no allocation) when there is nothing to redact. Never send the result.
 *
 * @since 0.2.0
 * @category redaction
 */
export const redactClientEvent = (event: ClientEvent): ClientEvent => {
  switch (event.type) {
    case "session.update":
    case "transcription_session.update":
      return withRedactedField(event, "session")
    case "response.create":
      return withRedactedField(event, "response")
    default:
      return event
  }
}

/**
 * A server event as it may be published or logged: the session echoed by `session.created`,
 * `session.updated` and their `transcription_session` twins has its tools' MCP `authorization` and
 * `headers` values replaced by `redactedMarker`; so has an unmodelled event's raw `session` or
 * `response` object. Everything else is unchanged, and the event itself is returned (no
 * allocation) when there is nothing to redact.
 *
 * @since 0.2.0
 * @category redaction
 */
export const redactServerEvent = (event: DecodedServerEvent): DecodedServerEvent => {
  if ((event as { readonly _tag?: unknown })._tag === "UnknownServerEvent") {
    const unknown = event as Extract<DecodedServerEvent, { readonly _tag: "UnknownServerEvent" }>
    const raw = withRedactedField(withRedactedField(unknown.raw, "session"), "response")
    return raw === unknown.raw ? event : { ...unknown, raw }
  }
  const known = event as Exclude<DecodedServerEvent, { readonly _tag: "UnknownServerEvent" }>
  switch (known.type) {
    case "session.created":
    case "session.updated":
    case "transcription_session.created":
    case "transcription_session.updated":
      return withRedactedField(known, "session")
    default:
      return event
  }
}

// ---------------------------------------------------------------------------------------------
// long strings
// ---------------------------------------------------------------------------------------------

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff

/**
 * A server- or user-controlled string made safe to put in a log line, an error message or an event:
 * returned as is when at most `max` characters (UTF-16 code units, default 256) long; otherwise its
 * first `max` characters (one fewer when the cut would split a surrogate pair) followed by
 * `…(N characters cut)`. The result is at most `max + 40` characters long.
 *
 * @since 0.2.0
 * @category capping
 */
export const capString = (s: string, max: number = defaultCap): string => {
  const limit = Number.isFinite(max) ? Math.max(0, Math.floor(max)) : defaultCap
  if (s.length <= limit) return s
  const end = limit > 0 && isHighSurrogate(s.charCodeAt(limit - 1)) ? limit - 1 : limit
  return `${s.slice(0, end)}…(${s.length - end} characters cut)`
}

// ---------------------------------------------------------------------------------------------
// secret values in text
// ---------------------------------------------------------------------------------------------

/** The secrets worth scrubbing: trimmed, at least `minSecretLength` long, longest first, distinct. */
const usable = (secrets: ReadonlyArray<string>): ReadonlyArray<string> =>
  [...new Set(secrets.map((secret) => secret.trim()).filter((secret) => secret.length >= minSecretLength))]
    .sort((a, b) => b.length - a.length)

/**
 * One pass: every character covered by an occurrence of any secret (overlapping occurrences
 * included, so that no fragment of one survives next to another) is replaced, one marker per run.
 */
const scrubOnce = (text: string, secrets: ReadonlyArray<string>): string => {
  const spans: Array<readonly [number, number]> = []
  for (const secret of secrets) {
    for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
      spans.push([at, at + secret.length])
    }
  }
  if (spans.length === 0) return text
  spans.sort((a, b) => a[0] - b[0])
  let out = ""
  let written = 0
  let runStart = spans[0]![0]
  let runEnd = spans[0]![1]
  for (const [start, end] of spans) {
    if (start > runEnd) {
      out += text.slice(written, runStart) + redactedMarker
      written = runEnd
      runStart = start
    }
    if (end > runEnd) runEnd = end
  }
  return out + text.slice(written, runStart) + redactedMarker + text.slice(runEnd)
}

const contains = (text: string, secrets: ReadonlyArray<string>): boolean =>
  secrets.some((secret) => text.includes(secret))

/** The scrubber for prepared secrets (see `scrubSecrets`). */
const scrubPrepared = (text: string, secrets: ReadonlyArray<string>): string => {
  if (secrets.length === 0) return text
  let out = text
  // A survivor can only be a secret made of a marker's edge and its neighbours (so containing `<`
  // or `>`): a few passes settle that, and if they do not, nothing of the text is given back.
  for (let pass = 0; pass < 3; pass++) {
    out = scrubOnce(out, secrets)
    if (!contains(out, secrets)) return out
  }
  return ""
}

/**
 * Builds a scrubber for a fixed set of secrets (prepared once): see `scrubSecrets`.
 *
 * @since 0.2.0
 * @category scrubbing
 */
export const makeScrubber = (secrets: ReadonlyArray<string>): (text: string) => string => {
  const prepared = usable(secrets)
  return prepared.length === 0 ? (text) => text : (text) => scrubPrepared(text, prepared)
}

/**
 * Replaces every occurrence of each secret in `text` with `redactedMarker` (adjacent or
 * overlapping occurrences become one marker). Secrets are trimmed; blank ones and ones shorter
 * than `minSecretLength` are ignored. The result contains none of the (used) secrets.
 *
 * @since 0.2.0
 * @category scrubbing
 */
export const scrubSecrets = (text: string, secrets: ReadonlyArray<string>): string =>
  scrubPrepared(text, usable(secrets))

/** `Bearer abc` gives `abc` too: a server may quote the token without its scheme. */
const withoutScheme = (value: string): ReadonlyArray<string> => {
  const match = /^[A-Za-z][A-Za-z0-9_-]*\s+(\S.*)$/.exec(value.trim())
  return match !== null ? [value, match[1]!] : [value]
}

/**
 * The secret values carried by tools: every MCP tool's `authorization` (also without its
 * `Bearer ` scheme) and header values, for `makeScrubber` / `scrubSecrets`.
 *
 * @since 0.2.0
 * @category scrubbing
 */
export const toolSecrets = (tools: ReadonlyArray<Tool.Tool>): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const tool of tools) {
    if (tool._tag !== "ServerTool" || tool.definition.type !== "mcp") continue
    const { authorization, headers } = tool.definition
    if (authorization !== undefined) out.push(...withoutScheme(authorization))
    if (headers != null) for (const value of Object.values(headers)) out.push(...withoutScheme(value))
  }
  return out
}
