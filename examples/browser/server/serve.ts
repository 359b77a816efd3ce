/**
 * Serves the built voice page from 127.0.0.1 with its client-secret route, backed by the embedded
 * fake realtime server by default (or xAI itself with a real API key).
 */
import * as FakeServer from "@realtime-fx/test-kit/FakeServer"
import * as Redacted from "effect/Redacted"
import { randomUUID } from "node:crypto"
import { readFile } from "node:fs/promises"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { clientSecretRoute } from "./clientSecretRoute.js"

/** The built page (vite build's output). */
export const distDir = fileURLToPath(new URL("../dist/", import.meta.url))

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json"
}

/** Options of `start`. */
export interface ServeOptions {
  /** TCP port on 127.0.0.1 (default 0: any free port). */
  readonly port?: number | undefined
  /** A real xAI API key: the page then talks to xAI; default: the embedded fake server. */
  readonly xaiApiKey?: Redacted.Redacted<string> | undefined
  /** Options of the embedded fake server (its `requireAuth` is set to a key made up for the run). */
  readonly fake?: Omit<FakeServer.FakeServerOptions, "requireAuth"> | undefined
}

/** A running page server. */
export interface Served {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string
  /** The embedded fake server (absent with a real key). */
  readonly fake: FakeServer.FakeServerHandle | undefined
  /** The API key the route mints secrets with (made up for the fake server). */
  readonly apiKey: Redacted.Redacted<string>
  readonly close: () => Promise<void>
}

/** What the fake server says by default: a weather question, a tool call, a long spoken answer. */
export const defaultFakeOptions: Omit<FakeServer.FakeServerOptions, "requireAuth"> = {
  pacing: "realtime",
  transcript: "Hello! What is the weather like in Paris today?",
  toolCall: { name: "get_weather", arguments: { city: "Paris" }, trigger: "weather" },
  reply: { audioMs: 6000 }
}

/** Starts the page server (and the fake server unless a real key is given). */
export const start = async (options: ServeOptions = {}): Promise<Served> => {
  const apiKey = options.xaiApiKey ?? Redacted.make(`fake-api-key-${randomUUID()}`)
  const fake = options.xaiApiKey === undefined
    ? await FakeServer.start({ ...(options.fake ?? defaultFakeOptions), requireAuth: Redacted.value(apiKey) })
    : undefined
  const route = clientSecretRoute({
    apiKey,
    baseUrl: fake?.server.httpUrl,
    realtimeUrl: fake?.server.url
  })
  const server = Http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname
    if (path === "/session") return route(req, res)
    if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405).end()
    const file = Path.resolve(distDir, `.${path === "/" ? "/index.html" : decodeURIComponent(path)}`)
    if (!file.startsWith(distDir)) return void res.writeHead(403).end()
    readFile(file).then(
      (body) => res.writeHead(200, { "Content-Type": types[Path.extname(file)] ?? "application/octet-stream" }).end(body),
      () => res.writeHead(404).end()
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/`,
    fake: fake?.server,
    apiKey,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await fake?.close()
    }
  }
}
