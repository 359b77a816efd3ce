// API docs: runs @effect/docgen in each published package at once (it parses the sources, type-checks
// and runs every `@example`, then writes packages/<name>/docs, git-ignored). Each package's output is
// printed when it finishes; the exit code is non-zero when any package fails. Expects a build
// (`npm run build`): examples import the other packages through their compiled `dist`.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as path from "node:path"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const packages = ["core", "node", "test-kit", "browser"]
const docgen = path.join(root, "node_modules", ".bin", "docgen")
// docgen runs `tsc` and `tsx` by name: the repository's own binaries come first on the PATH.
const env = { ...process.env, PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}` }

const run = (name) =>
  new Promise((resolve) => {
    const started = performance.now()
    const child = spawn(docgen, [], { cwd: path.join(root, "packages", name), env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    child.on("error", (error) => resolve({ name, code: 1, output: `${output}${error.message}\n`, seconds: 0 }))
    child.on("close", (code) =>
      resolve({ name, code: code ?? 1, output, seconds: (performance.now() - started) / 1000 })
    )
  })

const results = await Promise.all(packages.map((name) => run(name).then((result) => {
  const status = result.code === 0 ? "ok" : `FAILED (exit ${result.code})`
  console.log(`== docs: packages/${result.name} ${status} in ${result.seconds.toFixed(1)} s`)
  if (result.code !== 0) console.log(result.output)
  return result
})))
const failed = results.filter((result) => result.code !== 0)
if (failed.length > 0) {
  console.error(`docs failed for: ${failed.map((result) => result.name).join(", ")}`)
  process.exit(1)
}
