// Installs the peer client (LiveKit's xAI plugin) on demand into bench/.peers (gitignored), never into
// the workspace's package.json or lockfile, and loads it from there. `node bench/peers.mjs` installs it.
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

export const peersDir = fileURLToPath(new URL("./.peers/", import.meta.url))
export const LIVEKIT_SPEC = "@livekit/agents-plugin-xai@1.9"
const moduleDir = (name) => join(peersDir, "node_modules", ...name.split("/"))

const installedVersion = (name) => {
  try {
    return JSON.parse(readFileSync(join(moduleDir(name), "package.json"), "utf8")).version
  } catch {
    return undefined
  }
}

/** Installs the LiveKit xAI plugin 1.9 (and its peers, which npm adds) unless it is already there. */
export const ensureLiveKit = () => {
  if (installedVersion("@livekit/agents-plugin-xai")?.startsWith("1.9.") && installedVersion("@livekit/agents")) return
  mkdirSync(peersDir, { recursive: true })
  if (!existsSync(join(peersDir, "package.json"))) {
    writeFileSync(join(peersDir, "package.json"), JSON.stringify({ name: "realtime-fx-bench-peers", private: true }) + "\n")
  }
  console.error(`installing ${LIVEKIT_SPEC} into ${peersDir} (once) ...`)
  execFileSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", peersDir, LIVEKIT_SPEC], {
    stdio: ["ignore", "inherit", "inherit"],
    timeout: 300_000
  })
}

const importPeer = (name) => {
  const pkg = JSON.parse(readFileSync(join(moduleDir(name), "package.json"), "utf8"))
  const entry = pkg.exports?.import?.default ?? pkg.exports?.["."]?.import?.default ?? pkg.module ?? pkg.main
  return import(pathToFileURL(join(moduleDir(name), entry)).href)
}

let loaded
/**
 * Loads { xai, agents, rtc, version } (installing on first use) or { error } when it cannot be
 * installed or loaded here. The LiveKit logger is initialised (level "warn": benchmarks print tables).
 */
export const loadLiveKit = async () => {
  if (loaded !== undefined) return loaded
  try {
    ensureLiveKit()
    const agents = await importPeer("@livekit/agents")
    agents.initializeLogger({ pretty: false, level: "warn" })
    const xai = await importPeer("@livekit/agents-plugin-xai")
    const rtc = await importPeer("@livekit/rtc-node")
    loaded = { agents, xai, rtc, version: installedVersion("@livekit/agents-plugin-xai") }
  } catch (error) {
    loaded = { error: error instanceof Error ? error.message : String(error) }
  }
  return loaded
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const lk = await loadLiveKit()
  console.log(lk.error ? `LiveKit peer unavailable: ${lk.error}` : `LiveKit xAI plugin ${lk.version} ready in ${peersDir}`)
}
