/**
 * `npm run test:browser`: the voice page in Debian's Chromium (headless, through playwright-core, no
 * browser download), with the microphone fed from a WAV by Chromium's fake capture and the embedded
 * fake realtime server, all on 127.0.0.1. Asserts the client-secret handshake (subprotocol, no key in
 * the page), the transcripts, the tool call, played reply audio (counted in the worklet), and that an
 * interrupt stops playback and truncates at the played position. Saves a screenshot in
 * examples/browser/test-results/. Bounded: the whole run is killed after 55 s.
 */
import * as Redacted from "effect/Redacted"
import assert from "node:assert/strict"
import { existsSync, mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"
import { start } from "../server/serve.js"

const started = performance.now()
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`
const log = (line: string) => process.stdout.write(`[browser test ${elapsed()}] ${line}\n`)
const hardLimit = setTimeout(() => {
  process.stderr.write(`browser test: still running after 55 s, giving up\n`)
  process.exit(1)
}, 55_000)

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
if (!existsSync(executablePath)) {
  process.stderr.write(`browser test: no Chromium at ${executablePath} (apt-get install -y chromium)\n`)
  process.exit(1)
}
const wav = fileURLToPath(new URL("./weather-question.wav", import.meta.url))
const artifacts = fileURLToPath(new URL("../test-results/", import.meta.url))
mkdirSync(artifacts, { recursive: true })

interface Observed {
  state: string
  framesSent: number
  playedFrames: number
  maxPlayedFrames: number
  maxLevel: number
  truncatedAtMs: number | undefined
  firstPlayedAt: number | undefined
  interruptedAt: number | undefined
  interruptedPlayedFramesAfter: number | undefined
}
declare const window: {
  realtimeFx: Observed
  realtimeFxProbe: (url: string, secret: string) => Promise<{ outcome: string; message?: string; code?: number }>
}
declare const document: { querySelector: (selector: string) => { textContent: string | null } | null }

const served = await start()
const apiKey = Redacted.value(served.apiKey)
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    `--use-file-for-fake-audio-capture=${wav}%noloop`,
    "--autoplay-policy=no-user-gesture-required"
  ]
})
let failed = false
const page = await browser.newPage()
const problems: Array<string> = []
try {
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`)
  })
  // Everything the page could see: response bodies, request headers, WebSocket frames.
  const seen: Array<string> = []
  page.on("request", (request) => seen.push(JSON.stringify(request.headers()), request.url(), request.postData() ?? ""))
  page.on("response", (response) => {
    void response.text().then((text) => seen.push(text), () => undefined)
  })
  const sockets: Array<string> = []
  page.on("websocket", (ws) => {
    sockets.push(ws.url())
    ws.on("framesent", (frame) => seen.push(String(frame.payload)))
    ws.on("framereceived", (frame) => seen.push(String(frame.payload)))
  })
  const observed = () => page.evaluate(() => window.realtimeFx)
  const text = (selector: string) => page.evaluate((s) => document.querySelector(s)?.textContent ?? "", selector)

  log("browser launched")
  await page.goto(served.url)
  log("page loaded")
  await page.click("#connect")
  await page.waitForFunction(() => window.realtimeFx.state === "connected", null, { timeout: 10_000 })
  log("connected")

  const requests = await served.fake!.requests()
  assert.equal(requests.length, 1, "one handshake")
  const protocol = requests[0]!.headers["sec-websocket-protocol"] ?? ""
  assert.match(protocol, /^xai-client-secret\.fake-secret-/, "the handshake offered the client secret as its subprotocol")
  assert.equal(requests[0]!.headers.authorization, undefined, "no Authorization header")
  assert.deepEqual(sockets, [served.fake!.url + "?model=grok-voice-latest"], "the page opened one WebSocket, to the fake server")

  await page.waitForFunction(() => (document.querySelector("#user-transcript")?.textContent ?? "").includes("weather"), null, { timeout: 15_000 })
  log(`user transcript: ${await text("#user-transcript")}`)
  await page.waitForFunction(() => (document.querySelector("#tools")?.textContent ?? "").includes("get_weather"), null, { timeout: 10_000 })
  log(`tool call: ${await text("#tools")}`)
  await page.waitForFunction(() => (document.querySelector("#assistant-transcript")?.textContent ?? "").includes("The get_weather"), null, { timeout: 10_000 })
  log(`reply transcript: ${await text("#assistant-transcript")}`)

  // Let about 1.2 s of the 6 s reply play, then interrupt.
  await page.waitForFunction(() => window.realtimeFx.playedFrames >= 24000 * 1.2, null, { timeout: 10_000 })
  const before = await observed()
  assert.ok(before.framesSent > 50, `microphone frames were sent (${before.framesSent})`)
  assert.ok(before.maxLevel > 0.01, `the reply was audible in the worklet's output (RMS ${before.maxLevel.toFixed(3)})`)
  await page.evaluate(() => void (window.realtimeFx.interruptedPlayedFramesAfter = undefined))
  await page.click("#interrupt")
  await page.waitForFunction(() => window.realtimeFx.interruptedPlayedFramesAfter !== undefined, null, { timeout: 5_000 })
  const after = await observed()
  log(`played ${before.playedFrames} frames before the interrupt; truncated at ${after.truncatedAtMs} ms`)
  assert.equal(after.interruptedPlayedFramesAfter, 0, "nothing played in the 300 ms after the interrupt")

  // The truncate reached the server at the worklet's count, which matches the time the reply played.
  const deadline = performance.now() + 3000
  let truncate: Record<string, unknown> | undefined
  while (truncate === undefined && performance.now() < deadline) {
    truncate = (await served.fake!.received()).filter((event) => event.type === "conversation.item.truncate").at(-1)
    if (truncate === undefined) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.ok(truncate !== undefined, "a conversation.item.truncate reached the fake server")
  const audioEndMs = truncate.audio_end_ms as number
  assert.equal(audioEndMs, after.truncatedAtMs, "audio_end_ms is the worklet's played count")
  const wallMs = after.interruptedAt! - after.firstPlayedAt!
  log(`audio_end_ms ${audioEndMs}, wall time from the start of playback to the interrupt ${wallMs.toFixed(0)} ms`)
  assert.ok(audioEndMs >= 1200, `at least the 1.2 s waited for was played (${audioEndMs} ms)`)
  // Underruns (the fake server paces 100 ms chunks) only make the count smaller than the wall time.
  // The worklet plays on until the interrupt message reaches it (a render quantum is 5 ms), so the
  // count may exceed the wall time a little.
  assert.ok(audioEndMs <= wallMs + 100 && audioEndMs >= wallMs - 500, `played ${audioEndMs} ms ≈ ${wallMs.toFixed(0)} ms of wall time`)

  await page.screenshot({ path: `${artifacts}browser.png`, fullPage: true })
  log(`screenshot: ${artifacts}browser.png`)

  assert.deepEqual(problems, [], "no page errors")

  // A refused handshake (a secret the server never minted), in the browser: close 1006 before open,
  // reported by the transport as a retryable ConnectionError that names the likely causes.
  const refused = await page.evaluate(
    ([url, secret]) => window.realtimeFxProbe(url!, secret!),
    [served.fake!.url, "not-a-minted-secret"]
  )
  log(`refused handshake: ${JSON.stringify(refused)}`)
  assert.equal(refused.outcome, "ConnectionError")
  assert.equal(refused.code, 1006)
  assert.match(refused.message ?? "", /client secret/)
  // Chromium logs the refusal itself (with the reason it hides from the page): the only console error.
  const logged: Array<string> = problems.slice()
  assert.ok(logged.every((p) => p.includes("WebSocket connection to")), logged.join("\n"))

  const leaks = seen.filter((s) => s.includes(apiKey))
  assert.equal(leaks.length, 0, "the API key appears nowhere the page could see")
  assert.ok(!(await page.content()).includes(apiKey), "the API key is not in the page")
  log("passed")
} catch (error) {
  failed = true
  process.stderr.write(`browser test failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  // What the page showed, to tell why.
  const shown = await page.evaluate(() => ({
    state: document.querySelector("#state")?.textContent,
    error: document.querySelector("#error")?.textContent,
    observed: JSON.stringify(window.realtimeFx)
  })).catch(() => undefined)
  process.stderr.write(`page: ${JSON.stringify(shown)}\n${problems.join("\n")}\n`)
  await page.screenshot({ path: `${artifacts}browser-failed.png`, fullPage: true }).catch(() => undefined)
} finally {
  await browser.close()
  await served.close()
  clearTimeout(hardLimit)
  log(failed ? "FAILED" : "done")
  process.exitCode = failed ? 1 : 0
}
