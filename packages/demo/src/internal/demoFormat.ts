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

/** One short line per response (the live "response done" line). */
export const metricsLine = (m: Generation.GenerationMetrics): string =>
  `ttft ${round(m.ttftMs)} ms, duration ${round(m.durationMs)} ms, tokens in ${m.inputTokens} / out ${m.outputTokens}, ` +
  `${round(m.tokensPerSecond, 1)} tokens/s`

/** The metrics table: a header, one row per response and a total row when there are several. */
export const metricsTable = (rows: ReadonlyArray<Generation.GenerationMetrics>): ReadonlyArray<string> => {
  const header = ["response", "ttft ms", "duration ms", "tokens in", "tokens out", "tokens/s"]
  const body = rows.map((m) => [
    m.requestId,
    round(m.ttftMs),
    round(m.durationMs),
    String(m.inputTokens),
    String(m.outputTokens),
    round(m.tokensPerSecond, 1)
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
      round(duration > 0 ? out / (duration / 1000) : 0, 1)
    ])
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)))
  const format = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd()
  return [format(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(format)]
}
