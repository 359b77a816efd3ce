// Writes src/version.ts in the packages that need their own version at run time (core's User-Agent,
// the demo's --version) from their package.json, so that nothing reads package.json at run time
// (core stays browser-safe). `--check` fails instead of writing when a file is out of date (CI).
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const packages = ["core", "demo"]
const check = process.argv.includes("--check")
const root = new URL("../", import.meta.url)

const render = (name, version) => `/**
 * The version of \`${name}\`, generated from its package.json by scripts/version.mjs (do not edit:
 * \`npm run build\` rewrites it).
 *
 * @since 0.2.0
 */

/**
 * The package's version, as in its package.json.
 *
 * @since 0.2.0
 * @category constants
 */
export const version = ${JSON.stringify(version)}
`

let stale = []
for (const dir of packages) {
  const pkg = JSON.parse(readFileSync(new URL(`packages/${dir}/package.json`, root), "utf8"))
  const file = new URL(`packages/${dir}/src/version.ts`, root)
  const wanted = render(pkg.name, pkg.version)
  let current = ""
  try {
    current = readFileSync(file, "utf8")
  } catch {
    // missing: written below, or reported as stale
  }
  if (current === wanted) continue
  if (check) stale.push(fileURLToPath(file))
  else writeFileSync(file, wanted)
}
if (stale.length > 0) {
  console.error(`out of date (run npm run build): ${stale.join(", ")}`)
  process.exit(1)
}
