/**
 * `npm run example:browser`: serves the voice page on http://127.0.0.1:5173/ with the embedded fake
 * server (`--port N` to change the port; `--xai` to talk to xAI with the XAI_API_KEY of this shell).
 */
import * as Redacted from "effect/Redacted"
import { start } from "./serve.js"

const args = process.argv.slice(2)
const portArg = args.indexOf("--port")
const port = portArg >= 0 ? Number(args[portArg + 1]) : 5173
const useXai = args.includes("--xai")
const key = process.env.XAI_API_KEY
if (useXai && (key === undefined || key === "")) {
  process.stderr.write("--xai needs XAI_API_KEY in the environment\n")
  process.exit(2)
}
const served = await start({ port, xaiApiKey: useXai && key !== undefined ? Redacted.make(key) : undefined })
process.stdout.write(
  `voice page: ${served.url}  (${served.fake ? `fake realtime server ${served.fake.url}` : "xAI"}; Ctrl-C stops)\n`
)
const stop = () => void served.close().then(() => process.exit(0))
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
