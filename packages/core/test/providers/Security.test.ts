import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as OpenAI from "../../src/OpenAI.js"
import type { RealtimeModelService } from "../../src/RealtimeModel.js"
import * as Tool from "../../src/Tool.js"
import * as Xai from "../../src/Xai.js"

const xaiKey = "xai-secret-key-0123456789"
const openaiKey = "sk-openai-secret-0123456789"
const azureKey = "azure-key-abcdef0123"
const entraToken = "entra-token-0123456789"
const clientSecret = "xai-client-secret-abcdef"
const user = "alice-user"
const password = "hunter2-password"

/** Builds a model from options for each provider shape that takes a URL. */
const builders: ReadonlyArray<{
  readonly name: string
  readonly make: (url: string, extra?: { readonly allowInsecure?: boolean }) => Effect.Effect<RealtimeModelService, unknown>
}> = [
  { name: "Xai baseUrl", make: (url, extra) => Xai.make({ apiKey: Redacted.make(xaiKey), baseUrl: url, ...extra }) },
  { name: "Xai url", make: (url, extra) => Xai.make({ clientSecret: Redacted.make(clientSecret), url, ...extra }) },
  { name: "OpenAI baseUrl", make: (url, extra) => OpenAI.make({ apiKey: Redacted.make(openaiKey), baseUrl: url, ...extra }) },
  { name: "OpenAI url", make: (url, extra) => OpenAI.make({ apiKey: Redacted.make(openaiKey), url, ...extra }) },
  {
    name: "Azure endpoint",
    make: (url, extra) =>
      OpenAI.make({ azure: { endpoint: url, deployment: "d", apiKey: Redacted.make(azureKey) }, ...extra })
  },
  {
    name: "Azure legacy endpoint",
    make: (url, extra) =>
      OpenAI.make({
        azure: { endpoint: url, deployment: "d", apiVersion: "2024-10-01-preview", entraToken: Redacted.make(entraToken) },
        ...extra
      })
  },
  {
    name: "Azure url override",
    make: (url, extra) => OpenAI.make({ url, azure: { deployment: "d", apiKey: Redacted.make(azureKey) }, ...extra })
  }
]

const configFailure = (exit: Exit.Exit<unknown, unknown>): { readonly _tag: string; readonly message: string } => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error("expected a failure")
  return exit.cause.error as { readonly _tag: string; readonly message: string }
}

describe("providers: URLs with credentials", () => {
  it.effect("user:password@ and user@ are refused with a ConfigurationError that quotes neither", () =>
    Effect.gen(function*() {
      for (const { make, name } of builders) {
        for (const url of [
          `wss://${user}:${password}@gw.example.com/v1`,
          `https://${user}@gw.example.com/v1`,
          `ws://${user}:${password}@127.0.0.1:9000/`,
          ` https://:${password}@gw.example.com `
        ]) {
          const exit = yield* Effect.exit(make(url, { allowInsecure: true }))
          const error = configFailure(exit)
          assert.strictEqual(error._tag, "ConfigurationError", `${name} ${url}`)
          assert.include(error.message, "credentials", name)
          for (const text of [error.message, String(error), JSON.stringify(error), String(Exit.isFailure(exit) ? exit.cause : "")]) {
            assert.notInclude(text, user, name)
            assert.notInclude(text, password, name)
          }
        }
      }
    }))

  it.effect("createClientSecret refuses a base URL with credentials before any request", () =>
    Effect.gen(function*() {
      let requests = 0
      const client = Layer.succeed(
        HttpClient.HttpClient,
        HttpClient.make((request) =>
          Effect.sync(() => {
            requests++
            return HttpClientResponse.fromWeb(request, new Response("{}", { status: 500 }))
          })
        )
      )
      for (const baseUrl of [`https://${user}:${password}@api.example.com/v1`, "http://api.example.com/v1", "ftp://x/v1"]) {
        const error = yield* Xai.createClientSecret({ apiKey: Redacted.make(xaiKey), baseUrl }).pipe(
          Effect.provide(client),
          Effect.flip
        )
        assert.strictEqual(error._tag, "ConfigurationError", baseUrl)
        assert.notInclude(error.message, password)
        assert.notInclude(error.message, user)
      }
      assert.strictEqual(requests, 0)
      // loopback http, or an explicit allowInsecure, goes ahead (and meets the 500)
      for (const options of [
        { baseUrl: "http://127.0.0.1:9/v1" },
        { baseUrl: "http://api.example.com/v1", allowInsecure: true }
      ]) {
        const error = yield* Xai.createClientSecret({ apiKey: Redacted.make(xaiKey), ...options }).pipe(
          Effect.provide(client),
          Effect.flip
        )
        assert.strictEqual(error._tag, "ConnectionError")
      }
      assert.strictEqual(requests, 2)
    }))
})

describe("providers: cleartext to a remote host", () => {
  it.effect("ws:// and http:// to a non-loopback host are refused unless allowInsecure", () =>
    Effect.gen(function*() {
      for (const { make, name } of builders) {
        for (const url of ["ws://gw.example.com/v1", "http://10.0.0.5:8080/v1", "ws://[2001:db8::1]/v1", "ws://127.0.0.1.example.com/"]) {
          const error = configFailure(yield* Effect.exit(make(url)))
          assert.strictEqual(error._tag, "ConfigurationError", `${name} ${url}`)
          assert.include(error.message, "allowInsecure", name)
          assert.include(error.message, "wss://", name)
          const allowed = yield* make(url, { allowInsecure: true })
          assert.isTrue(allowed.request().url.startsWith("ws://"), `${name} ${url}`)
        }
      }
    }))

  it.effect("loopback hosts are allowed without it; wss:// and https:// anywhere", () =>
    Effect.gen(function*() {
      for (const { make, name } of builders) {
        for (const url of [
          "ws://127.0.0.1:9000/v1",
          "http://127.0.0.2:9000/v1",
          "ws://localhost:9000/v1",
          "ws://LOCALHOST.:9000/v1",
          "ws://[::1]:9000/v1",
          "wss://gw.example.com/v1",
          "https://gw.example.com/v1"
        ]) {
          const model = yield* make(url)
          assert.isTrue(/^wss?:\/\//.test(model.request().url), `${name} ${url}`)
        }
      }
    }))

  it.effect("the defaults are TLS and need no option", () =>
    Effect.gen(function*() {
      assert.isTrue((yield* Xai.make({ apiKey: Redacted.make(xaiKey) })).request().url.startsWith("wss://"))
      assert.isTrue((yield* OpenAI.make({ apiKey: Redacted.make(openaiKey) })).request().url.startsWith("wss://"))
    }))
})

describe("providers: scrub", () => {
  const serverText = (secret: string) => `Incorrect API key provided: ${secret}. You can find your key at ...; again ${secret}`

  const check = (model: RealtimeModelService, secrets: ReadonlyArray<string>) => {
    for (const secret of secrets) {
      const scrubbed = model.scrub(serverText(secret))
      assert.notInclude(scrubbed, secret)
      assert.strictEqual(scrubbed, serverText("<redacted>"))
    }
    assert.strictEqual(model.scrub("nothing secret here"), "nothing secret here")
  }

  const mcp = Tool.mcp({
    serverUrl: "https://mcp.example",
    serverLabel: "m",
    authorization: Redacted.make("Bearer mcp-token-0123456789"),
    headers: { "X-Key": Redacted.make("mcp-header-secret-42") }
  })

  it.effect("each provider removes its own credentials and its MCP tools' authorizations", () =>
    Effect.gen(function*() {
      check(yield* Xai.make({ apiKey: Redacted.make(xaiKey), tools: [mcp] }), [
        xaiKey,
        "Bearer mcp-token-0123456789",
        "mcp-token-0123456789",
        "mcp-header-secret-42"
      ])
      check(yield* Xai.make({ clientSecret: Redacted.make(clientSecret) }), [clientSecret])
      check(yield* OpenAI.make({ apiKey: Redacted.make(openaiKey), tools: [mcp] }), [openaiKey, "mcp-token-0123456789"])
      check(
        yield* OpenAI.make({ azure: { endpoint: "https://r.openai.azure.com", deployment: "d", apiKey: Redacted.make(azureKey) } }),
        [azureKey]
      )
      check(
        yield* OpenAI.make({ azure: { endpoint: "https://r.openai.azure.com", deployment: "d", entraToken: Redacted.make(entraToken) } }),
        [entraToken]
      )
    }))

  it.effect("a model does not scrub another provider's key (only its own secrets)", () =>
    Effect.gen(function*() {
      const model = yield* Xai.make({ apiKey: Redacted.make(xaiKey) })
      assert.strictEqual(model.scrub(`key ${openaiKey}`), `key ${openaiKey}`)
    }))
})
