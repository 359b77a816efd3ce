// Child process: runs one FakeServer (options from argv[2] as JSON) so its CPU is not the client's.
// Talks to the parent over IPC: sends {url} once listening; answers "cpu" with process.cpuUsage();
// stops on "close" or when the parent goes away.
import { FakeServer } from "@realtime-fx/test-kit"

const options = JSON.parse(process.argv[2] ?? "{}")
const { server, close } = await FakeServer.start({ recordReceived: false, ...options })
process.send({ type: "ready", url: server.url })
process.on("message", async (msg) => {
  if (msg === "cpu") process.send({ type: "cpu", cpu: process.cpuUsage() })
  else if (msg === "close") {
    await close()
    process.exit(0)
  }
})
process.on("disconnect", () => process.exit(0))
