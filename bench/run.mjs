// Runs every benchmark in bench/ (files named *.bench.mjs) in one process, in name order.
// Usage: npm run bench [-- --smoke] [-- name-filter]
import { readdirSync } from "node:fs"
import { fileURLToPath, pathToFileURL } from "node:url"
import { join } from "node:path"

const dir = fileURLToPath(new URL(".", import.meta.url))
const args = process.argv.slice(2)
const smoke = args.includes("--smoke")
const filters = args.filter((a) => !a.startsWith("--"))
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.mjs"))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort()

for (const file of files) {
  console.log(`\n=== ${file}${smoke ? " (smoke)" : ""} ===`)
  const mod = await import(pathToFileURL(join(dir, file)).href)
  await mod.run({ smoke })
}
