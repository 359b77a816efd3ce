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

/**
 * Fits `text` in `width` characters on one line (a live line must not wrap): keeps its label (up
 * to the first ": ") and the end of the rest, eliding the middle.
 */
export const fit = (text: string, width: number): string => {
  const flat = text.replace(/\s+/g, " ")
  if (flat.length <= width) return flat
  const colon = flat.indexOf(": ")
  const head = colon >= 0 && colon + 2 <= width / 2 ? flat.slice(0, colon + 2) : ""
  return `${head}…${flat.slice(flat.length - (width - head.length - 1))}`
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
          stdout.write(CLEAR_LINE + fit(text, Math.max(20, (stdout.columns !== undefined && stdout.columns > 0 ? stdout.columns : 100) - 1)))
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
