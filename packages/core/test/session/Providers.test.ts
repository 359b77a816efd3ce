// Each provider end to end over the MockTransport: the exact URL, headers and first session.update.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { MockServer } from "@realtime-fx/test-kit/MockTransport"
import * as MockTransport from "@realtime-fx/test-kit/MockTransport"
import * as OpenAI from "../../src/OpenAI.js"
import type { RealtimeModel } from "../../src/RealtimeModel.js"
import * as RealtimeSession from "../../src/RealtimeSession.js"
import { Resampler } from "../../src/Resampler.js"
import * as Tool from "../../src/Tool.js"
import * as Xai from "../../src/Xai.js"

const lookup = Tool.make("lookup", {
  description: "Look a word up",
  parameters: Schema.Struct({ word: Schema.String }),
  handler: ({ word }) => Effect.succeed(word)
})

/** Opens a session with `model` and returns the first request and the first session.update. */
const firstContact = (model: Layer.Layer<RealtimeModel, unknown>) =>
  Effect.gen(function*() {
    yield* RealtimeSession.make()
    const server = yield* MockServer
    const update = yield* server.nextClientEventOfType("session.update")
    const request = (yield* server.requests)[0]!
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), Redacted.isRedacted(v) ? Redacted.value(v) : v])
    )
    return { url: request.url, headers, session: update.event["session"] as Record<string, unknown> }
  }).pipe(
    Effect.provide(Layer.mergeAll(MockTransport.layer(), Layer.orDie(model), Resampler.layerLinear)),
    Effect.scoped
  )

describe("providers over the MockTransport", () => {
  it.effect("xAI: model in the query, Bearer key, voice and turn detection at the top level, tools flat", () =>
    Effect.gen(function*() {
      const { headers, session, url } = yield* firstContact(
        Xai.layer({ apiKey: Redacted.make("xai-secret"), voice: "rex", tools: [lookup] })
      )
      assert.strictEqual(url, "wss://api.x.ai/v1/realtime?model=grok-voice-latest")
      assert.strictEqual(headers["authorization"], "Bearer xai-secret")
      assert.match(String(headers["user-agent"]), /^realtime-fx\//)
      assert.strictEqual(session["voice"], "rex")
      assert.strictEqual((session["turn_detection"] as { type: string }).type, "server_vad")
      const tools = session["tools"] as ReadonlyArray<Record<string, unknown>>
      assert.strictEqual(tools.length, 1)
      assert.strictEqual(tools[0]!["type"], "function")
      assert.strictEqual(tools[0]!["name"], "lookup")
      assert.deepStrictEqual((tools[0]!["parameters"] as { required: ReadonlyArray<string> }).required, ["word"])
    }))

  it.effect("OpenAI: gpt-realtime, nested GA audio config with semantic VAD and the voice", () =>
    Effect.gen(function*() {
      const { headers, session, url } = yield* firstContact(OpenAI.layer({ apiKey: Redacted.make("sk-test") }))
      assert.strictEqual(url, "wss://api.openai.com/v1/realtime?model=gpt-realtime")
      assert.strictEqual(headers["authorization"], "Bearer sk-test")
      assert.strictEqual(session["type"], "realtime")
      const audio = session["audio"] as { input: { turn_detection: { type: string } }; output: { voice: string } }
      assert.strictEqual(audio.input.turn_detection.type, "semantic_vad")
      assert.strictEqual(audio.output.voice, "marin")
      assert.isUndefined(session["voice"])
    }))

  it.effect("Azure GA: <endpoint>/openai/v1/realtime?model=<deployment> with the api-key header", () =>
    Effect.gen(function*() {
      const { headers, session, url } = yield* firstContact(OpenAI.layer({
        azure: { endpoint: "https://example-resource.openai.azure.com", deployment: "my-realtime", apiKey: Redacted.make("az-key") }
      }))
      assert.strictEqual(url, "wss://example-resource.openai.azure.com/openai/v1/realtime?model=my-realtime")
      assert.strictEqual(headers["api-key"], "az-key")
      assert.isUndefined(headers["authorization"])
      assert.strictEqual(session["type"], "realtime")
    }))

  it.effect("Azure legacy preview: api-version and deployment in the query, Entra token as Bearer", () =>
    Effect.gen(function*() {
      const { headers, url } = yield* firstContact(OpenAI.layer({
        azure: {
          endpoint: "https://example-resource.openai.azure.com",
          deployment: "my-realtime",
          apiVersion: "2024-10-01-preview",
          entraToken: Redacted.make("entra-token")
        }
      }))
      const parsed = new URL(url)
      assert.strictEqual(parsed.origin + parsed.pathname, "wss://example-resource.openai.azure.com/openai/realtime")
      assert.strictEqual(parsed.searchParams.get("api-version"), "2024-10-01-preview")
      assert.strictEqual(parsed.searchParams.get("deployment"), "my-realtime")
      assert.strictEqual(headers["authorization"], "Bearer entra-token")
    }))
})
