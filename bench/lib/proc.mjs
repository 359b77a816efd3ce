// Child processes of the bench: the server (bench/server.mjs) and one client process per measured
// run (bench/child.mjs), both forked with an IPC channel.
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"

const serverPath = fileURLToPath(new URL("../server.mjs", import.meta.url))
const childPath = fileURLToPath(new URL("../child.mjs", import.meta.url))

/** Sends `msg` to `child` and resolves with its next message of `type`. */
const ask = (child, msg, type) =>
  new Promise((resolve) => {
    const on = (m) => {
      if (m?.type === type) {
        child.off("message", on)
        resolve(m)
      }
    }
    child.on("message", on)
    child.send(msg)
  })

/**
 * Forks the bench server with `options` ({ pacing, replyMs, variants }); resolves once it listens to
 * { url, cpuMs(), reset(), stats(), due(at[]), close() }.
 */
export const startServer = (options) =>
  new Promise((resolve, reject) => {
    const child = fork(serverPath, [JSON.stringify(options)], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error("bench server did not start within 30 s"))
    }, 30_000)
    child.once("error", reject)
    child.once("message", (msg) => {
      clearTimeout(timer)
      if (msg?.type !== "ready") return reject(new Error(`unexpected server message ${JSON.stringify(msg)}`))
      resolve({
        url: msg.url,
        cpuMs: () => ask(child, "cpu", "cpu").then((m) => (m.cpu.user + m.cpu.system) / 1000),
        reset: () => ask(child, "reset", "reset"),
        stats: () => ask(child, "stats", "stats"),
        due: (at) => ask(child, { type: "due", at }, "due"),
        close: () =>
          new Promise((res) => {
            if (child.exitCode !== null) return res()
            const kill = setTimeout(() => child.kill("SIGKILL"), 5_000)
            child.once("exit", () => {
              clearTimeout(kill)
              res()
            })
            child.send("close")
          })
      })
    })
  })

/**
 * Runs one measured client process: `node bench/child.mjs <job>`; resolves to the result it sends
 * over IPC, or { error } when it fails, exits without a result or outlives `timeoutMs`.
 */
export const runChild = (job, timeoutMs, execArgv = []) =>
  new Promise((resolve) => {
    const child = fork(childPath, [JSON.stringify(job)], {
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      execArgv: ["--expose-gc", ...execArgv]
    })
    let stderr = ""
    child.stderr.on("data", (d) => {
      if (stderr.length < 4000) stderr += d
    })
    let result
    const timer = setTimeout(() => {
      result ??= { error: `timed out after ${timeoutMs} ms` }
      child.kill("SIGKILL")
    }, timeoutMs)
    child.on("message", (m) => {
      result ??= m
    })
    child.on("exit", (code) => {
      clearTimeout(timer)
      resolve(result ?? { error: `exited with ${code} without a result: ${stderr.trim().split("\n").slice(-3).join(" | ")}` })
    })
  })
