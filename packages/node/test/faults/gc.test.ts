// The memory checks' forced collection works in the test workers.
import { assert, it } from "@effect/vitest"
import { forceGc, memoryAfterGc } from "./gc.js"

it("forceGc collects garbage", () => {
  forceGc()
  const before = process.memoryUsage().heapUsed
  let garbage: Array<Array<number>> | undefined = Array.from({ length: 200 }, () => Array.from({ length: 10_000 }, (_, i) => i))
  assert.isAbove(process.memoryUsage().heapUsed - before, 10 * 1024 * 1024)
  garbage = undefined
  void garbage
  const after = memoryAfterGc()
  assert.isBelow(after.heapMiB * 1048576 - before, 5 * 1024 * 1024)
})
