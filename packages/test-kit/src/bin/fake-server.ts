#!/usr/bin/env node
/**
 * The `realtime-fx-fake-server` command: runs the loopback fake realtime server until interrupted.
 *
 * @since 0.1.0
 */
import * as FakeServer from "../FakeServer.js"

const usage = `usage: realtime-fx-fake-server [--port N] [--host H] [--pacing realtime|fast] [--text T]
  [--audio-ms N] [--voice synth|echo] [--transcript T] [--require-auth TOKEN] [--ping-ms N]
Prints the server URL, then serves until SIGINT/SIGTERM. Defaults: port 0 (any), host 127.0.0.1, realtime pacing.`

const parse = (argv: ReadonlyArray<string>): FakeServer.FakeServerOptions | string => {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--help" || arg === "-h") return usage
    const [name, inline] = arg.split("=", 2) as [string, string | undefined]
    if (!name.startsWith("--")) return `unexpected argument: ${arg}\n${usage}`
    const value = inline ?? argv[++i]
    if (value === undefined) return `missing value for ${name}\n${usage}`
    flags.set(name.slice(2), value)
  }
  const num = (key: string): number | undefined => {
    const v = flags.get(key)
    return v === undefined ? undefined : Number(v)
  }
  for (const key of ["port", "audio-ms", "ping-ms"]) {
    const n = num(key)
    if (n !== undefined && !(Number.isInteger(n) && n >= 0)) return `--${key} needs a non-negative integer\n${usage}`
  }
  const known = new Set(["port", "host", "pacing", "text", "audio-ms", "voice", "transcript", "require-auth", "ping-ms"])
  for (const key of flags.keys()) if (!known.has(key)) return `unknown option --${key}\n${usage}`
  const pacing = flags.get("pacing") ?? "realtime"
  const voice = flags.get("voice") ?? "synth"
  if (pacing !== "realtime" && pacing !== "fast") return `--pacing must be realtime or fast\n${usage}`
  if (voice !== "synth" && voice !== "echo") return `--voice must be synth or echo\n${usage}`
  const text = flags.get("text")
  const audioMs = num("audio-ms")
  return {
    port: num("port") ?? 0,
    host: flags.get("host") ?? "127.0.0.1",
    pacing,
    reply: { voice, ...(text !== undefined ? { text } : {}), ...(audioMs !== undefined ? { audioMs } : {}) },
    ...(flags.has("transcript") ? { transcript: flags.get("transcript")! } : {}),
    ...(flags.has("require-auth") ? { requireAuth: flags.get("require-auth")! } : {}),
    ...(num("ping-ms") !== undefined ? { pingIntervalMs: num("ping-ms")! } : {})
  }
}

const main = async (): Promise<void> => {
  const options = parse(process.argv.slice(2))
  if (typeof options === "string") {
    const help = options === usage
    ;(help ? process.stdout : process.stderr).write(`${options}\n`)
    process.exitCode = help ? 0 : 2
    return
  }
  const { server, close } = await FakeServer.start(options)
  process.stdout.write(`${server.url}\n`)
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    void close().then(() => process.exit(0))
  }
  process.on("SIGINT", stop)
  process.on("SIGTERM", stop)
}

main().catch((e: unknown) => {
  process.stderr.write(`realtime-fx-fake-server: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
