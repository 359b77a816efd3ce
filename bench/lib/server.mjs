// Starts the fake xAI server in a child process (node child_process.fork) and gives its URL.
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"

const childPath = fileURLToPath(new URL("./server-child.mjs", import.meta.url))

/** Forks a FakeServer with `options`; resolves to { url, cpu(), close() } once it listens. */
export const startServer = (options = {}) =>
  new Promise((resolve, reject) => {
    const child = fork(childPath, [JSON.stringify(options)], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error("fake server child did not start within 20 s"))
    }, 20_000)
    const onError = (e) => {
      clearTimeout(timer)
      reject(e)
    }
    child.once("error", onError)
    child.once("message", (msg) => {
      clearTimeout(timer)
      child.off("error", onError)
      if (msg?.type !== "ready") return reject(new Error(`unexpected child message ${JSON.stringify(msg)}`))
      resolve({
        url: msg.url,
        cpu: () =>
          new Promise((res) => {
            const on = (m) => {
              if (m?.type === "cpu") {
                child.off("message", on)
                res(m.cpu)
              }
            }
            child.on("message", on)
            child.send("cpu")
          }),
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
