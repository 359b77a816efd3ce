// A forced garbage collection for the memory checks. Vitest 3.2 takes a forks pool's execArgv only
// from the root config (a project may set pool, isolate and singleFork, not execArgv), so instead of
// `--expose-gc` for the whole run the flag is set at run time and `gc` read from a fresh context.
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

let cached: (() => void) | undefined

/** Runs a full garbage collection (twice, so that finalizers' garbage goes too). */
export const forceGc = (): void => {
  if (cached === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc
    if (typeof exposed === "function") cached = exposed
    else {
      setFlagsFromString("--expose-gc")
      cached = runInNewContext("gc") as () => void
    }
  }
  cached()
  cached()
}

/** RSS and heap used, in MiB, after a forced collection. */
export const memoryAfterGc = (): { readonly rssMiB: number; readonly heapMiB: number } => {
  forceGc()
  const m = process.memoryUsage()
  return { rssMiB: Math.round(m.rss / 1048576), heapMiB: Math.round(m.heapUsed / 1048576) }
}
