/**
 * Where the demo writes: finished lines, one growing "live" line (a transcript as it arrives,
 * redrawn in place on a terminal), and errors.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** The demo's output sink (see `Demo.Output`). */
export interface Output {
  readonly line: (text: string) => Effect.Effect<void>
  readonly live: (text: string) => Effect.Effect<void>
  readonly error: (text: string) => Effect.Effect<void>
}

/** The part of a Node stream the terminal output uses. */
export interface Writable {
  readonly write: (text: string) => unknown
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
}

const CLEAR_LINE = "\r\x1b[2K"

/** Keeps the end of `text` within `width` characters (a live line must not wrap). */
export const tail = (text: string, width: number): string => {
  const flat = text.replace(/\s+/g, " ")
  return flat.length <= width ? flat : `…${flat.slice(flat.length - width + 1)}`
}

/**
 * Writes to a stdout/stderr pair. On a terminal the live line is redrawn in place and replaced
 * by the next finished line; elsewhere (pipes, files, CI) live lines are skipped.
 */
export const terminal = (stdout: Writable, stderr: Writable): Output => {
  const tty = stdout.isTTY === true
  let liveShown = false
  const clearLive = () => {
    if (liveShown) {
      stdout.write(CLEAR_LINE)
      liveShown = false
    }
  }
  return {
    line: (text) =>
      Effect.sync(() => {
        clearLive()
        stdout.write(`${text}\n`)
      }),
    live: (text) =>
      tty
        ? Effect.sync(() => {
          stdout.write(CLEAR_LINE + tail(text, Math.max(20, (stdout.columns ?? 100) - 1)))
          liveShown = true
        })
        : Effect.void,
    error: (text) =>
      Effect.sync(() => {
        clearLive()
        stderr.write(`${text}\n`)
      })
  }
}
