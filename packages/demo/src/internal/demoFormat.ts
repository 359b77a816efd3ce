/**
 * Text formatting for the demo: elapsed-time stamps, error lines and the metrics table (pure).
 *
 * @internal
 */
import type * as Generation from "@realtime-fx/core/Generation"

/** `[  1.23s]`: elapsed time since the start of the run. */
export const stamp = (elapsedMs: number): string => `[${(Math.max(0, elapsedMs) / 1000).toFixed(2).padStart(6)}s]`

/** A label padded so that event lines line up. */
export const label = (name: string): string => name.padEnd(16)

const hasMessage = (u: unknown): u is { readonly message: string } =>
  typeof u === "object" && u !== null && typeof (u as { readonly message?: unknown }).message === "string"

const tagOf = (u: unknown): string | undefined =>
  typeof u === "object" && u !== null && typeof (u as { readonly _tag?: unknown })._tag === "string"
    ? (u as { readonly _tag: string })._tag
    : undefined

/** One line saying what an error is, without a stack trace. */
export const describeError = (error: unknown): string => {
  const message = hasMessage(error) && error.message !== "" ? error.message : String(error)
  switch (tagOf(error)) {
    case "AuthenticationError":
      return `authentication failed: ${message}`
    case "ConnectionError":
      return `connection failed: ${message}`
    case "ServerError":
      return `server error: ${message}`
    case "TimeoutError":
      return `timed out: ${message}`
    case "ResponseFailedError":
      return `response failed: ${message}`
    case "SessionClosedError":
      return `session closed: ${message}`
    case "ConfigurationError":
      return `configuration error: ${message}`
    case "ProtocolError":
      return `protocol error: ${message}`
    default:
      return message
  }
}

const round = (n: number, digits = 0): string => (n < 0 ? "-" : n.toFixed(digits))

/**
 * A response too short to measure a rate: it lasted less than `minRateMs` or produced fewer than
 * `minRateTokens` output tokens. Over a shorter window tokens/s says more about how the server
 * batches its deltas (and about clock resolution) than about generation speed.
 */
export const minRateMs = 1000

/** See `minRateMs`. */
export const minRateTokens = 10

/** What "too short" means, for the line under the metrics table. */
export const rateNote = `tokens/s is shown for responses of at least ${minRateMs / 1000} s and ${minRateTokens} output tokens (shorter ones are too short to measure)`

/** Output tokens per second, or `undefined` when the response is too short to measure (see `minRateMs`). */
export const tokensPerSecond = (durationMs: number, outputTokens: number): number | undefined =>
  durationMs >= minRateMs && outputTokens >= minRateTokens ? outputTokens / (durationMs / 1000) : undefined

const rate = (durationMs: number, outputTokens: number): string => {
  const value = tokensPerSecond(durationMs, outputTokens)
  return value === undefined ? "-" : value.toFixed(1)
}

/** One short line per response (the live "response done" line); no tokens/s when too short to measure. */
export const metricsLine = (m: Generation.GenerationMetrics): string => {
  const value = tokensPerSecond(m.durationMs, m.outputTokens)
  return `ttft ${round(m.ttftMs)} ms, duration ${round(m.durationMs)} ms, tokens in ${m.inputTokens} / out ${m.outputTokens}` +
    (value === undefined ? "" : `, ${value.toFixed(1)} tokens/s`)
}

/**
 * The metrics table: a header, one row per response and a total row when there are several; "-"
 * where a value is unknown or, for tokens/s, the response too short to measure (then a note under
 * the table says what that means).
 */
export const metricsTable = (rows: ReadonlyArray<Generation.GenerationMetrics>): ReadonlyArray<string> => {
  const header = ["response", "ttft ms", "duration ms", "tokens in", "tokens out", "tokens/s"]
  const body = rows.map((m) => [
    m.requestId,
    round(m.ttftMs),
    round(m.durationMs),
    String(m.inputTokens),
    String(m.outputTokens),
    rate(m.durationMs, m.outputTokens)
  ])
  if (rows.length > 1) {
    const duration = rows.reduce((s, m) => s + m.durationMs, 0)
    const out = rows.reduce((s, m) => s + m.outputTokens, 0)
    body.push([
      "total",
      "",
      round(duration),
      String(rows.reduce((s, m) => s + m.inputTokens, 0)),
      String(out),
      rate(duration, out)
    ])
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)))
  const format = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd()
  const table = [format(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(format)]
  return body.some((row) => row[5] === "-") ? [...table, rateNote] : table
}
