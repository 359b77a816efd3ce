/**
 * The demo's file checks: can the reply be written where the user asked?
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { constants as FsConstants } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { DemoError } from "./demoError.js"

/** A file-system error in a few words (by its code), without the syscall and path noise. */
export const describeIoError = (cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null ? (cause as { readonly code?: unknown }).code : undefined
  switch (code) {
    case "ENOTDIR":
    case "EEXIST": // mkdir -p met a file where a directory should be
      return "a parent of it is not a directory"
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EROFS":
      return "read-only file system"
    case "EISDIR":
      return "it is a directory"
    default:
      return cause instanceof Error ? cause.message : String(cause)
  }
}

/** See `Demo.checkOut`. */
export const checkOut = (out: string): Effect.Effect<void, DemoError> =>
  Effect.tryPromise({
    try: async () => {
      const dir = Path.dirname(out)
      await Fs.mkdir(dir, { recursive: true })
      await Fs.access(dir, FsConstants.W_OK)
      const stat = await Fs.stat(out).catch(() => undefined)
      if (stat?.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" })
      if (stat !== undefined) await Fs.access(out, FsConstants.W_OK)
    },
    catch: (cause) => new DemoError({ message: `cannot write the reply to ${out}: ${describeIoError(cause)}` })
  })
