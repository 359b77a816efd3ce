import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Session from "../../src/protocol/Session.js"

const decode = Schema.decodeUnknownEither(Session.SessionConfig)

describe("protocol/Session", () => {
  it("decodes a GA session with nested audio and null transcription", () => {
    const r = decode({
      type: "realtime",
      model: "gpt-realtime",
      output_modalities: ["audio"],
      tracing: null,
      prompt: null,
      include: null,
      max_output_tokens: "inf",
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          transcription: null,
          noise_reduction: null,
          turn_detection: { type: "server_vad", threshold: 0.5, idle_timeout_ms: null }
        },
        output: { format: { type: "audio/pcmu" }, voice: "marin", speed: 1 }
      }
    })
    assert.isTrue(Either.isRight(r))
    if (Either.isRight(r)) {
      assert.strictEqual(r.right.audio?.input?.transcription, null)
      assert.deepStrictEqual(r.right.audio?.output?.format, { type: "audio/pcmu" })
    }
  })

  it("decodes xAI top-level voice, turn detection, tools and extras", () => {
    const r = decode({
      voice: "Eve",
      turn_detection: null,
      reasoning: { effort: "high" },
      resumption: { enabled: true },
      replace: { Grok: "Grock" },
      audio: { input: { format: { type: "audio/pcm", rate: 16000 }, transcription: { model: "grok-transcribe", language_hint: "en", keyterms: ["Effect"] } } },
      tools: [
        { type: "function", name: "f", parameters: { type: "object" } },
        { type: "web_search" },
        { type: "x_search", allowed_x_handles: ["xai"] },
        { type: "file_search", vector_store_ids: ["vs_1"], max_num_results: 3 },
        { type: "mcp", server_url: "https://mcp.example", server_label: "m", headers: { a: "b" } }
      ]
    })
    assert.isTrue(Either.isRight(r))
    if (Either.isRight(r)) {
      assert.strictEqual(r.right.turn_detection, null)
      assert.strictEqual(r.right.tools?.length, 5)
    }
  })

  it("keeps audio formats open to other type strings but rejects a bad turn detection", () => {
    assert.isTrue(Either.isRight(decode({ audio: { output: { format: { type: "audio/opus" } } } })))
    assert.isTrue(Either.isLeft(decode({ turn_detection: { type: "server_vad", threshold: "high" } })))
    assert.isTrue(Either.isLeft(decode({ tools: [{ type: "file_search" }] })))
  })
})
