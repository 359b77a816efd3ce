// Spans through OpenTelemetry: one reply with a tool call gives a response span that parents its
// tool run; connects, the first session.update and updateChatContext have spans; no attribute holds
// a secret.
import { assert, describe, it } from "@effect/vitest"
import * as OtelResource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor
} from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Chat from "../src/ChatContext.js"
import { clientEventId, layer, open, script, settle, userItem, weather } from "./session/harness.js"

const secret = "xai-test-key"

const otel = (exporter: InMemorySpanExporter) =>
  OtelTracer.layer.pipe(
    Layer.provide(Layer.succeed(
      OtelTracer.OtelTracerProvider,
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    )),
    Layer.provide(OtelResource.layer({ serviceName: "realtime-fx-test" }))
  )

const parentId = (span: ReadableSpan): string | undefined =>
  (span as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId

describe("tracing", () => {
  const exporter = new InMemorySpanExporter()

  it.scoped("one reply with a tool call: the response span parents the tool run; no attribute holds the key", () =>
    Effect.gen(function*() {
      const { session, server } = yield* open()
      const reply = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const generation = yield* session.generateReply()
        return yield* generation.done
      })))
      const create = yield* server.nextClientEventOfType("response.create")
      yield* script.responseCreated("resp_1", clientEventId(create))
      yield* script.functionCallDone("resp_1", "item_fc", "call_1", "get_weather", "{\"city\":\"Paris\"}")
      yield* script.responseDone("resp_1")
      yield* Fiber.join(reply)
      yield* server.nextClientEventOfType("conversation.item.create") // the tool's output went back
      const mirror = yield* session.chatContext
      const sync = yield* Effect.fork(session.updateChatContext(Chat.make([...mirror.items, Chat.message("u1", "user", "hi")])))
      yield* settle
      yield* script.itemAdded(userItem("u1", "hi"), null)
      yield* Fiber.join(sync)
      yield* settle

      const spans = exporter.getFinishedSpans()
      const byName = (name: string) => spans.filter((s) => s.name === name)
      const [response] = byName("realtime.response")
      assert.isDefined(response)
      assert.strictEqual(response!.attributes["realtime.response.id"], "resp_1")
      assert.strictEqual(response!.attributes["realtime.response.status"], "completed")
      assert.strictEqual(response!.attributes["realtime.response.output_tokens"], 20)
      assert.isNumber(response!.attributes["realtime.response.ttft_ms"])
      const [tool] = byName("realtime.tool")
      assert.isDefined(tool)
      assert.strictEqual(tool!.attributes["realtime.tool.name"], "get_weather")
      assert.strictEqual(parentId(tool!), response!.spanContext().spanId, "the tool run is a child of its response")
      const [connect] = byName("realtime.connect")
      assert.isDefined(connect)
      assert.strictEqual(connect!.attributes["realtime.connect.attempt"], 1)
      assert.strictEqual(connect!.attributes["realtime.connect.outcome"], "open")
      assert.isString(connect!.attributes["url.host"])
      assert.lengthOf(byName("realtime.session.update"), 1, "the first connection's session.update")
      assert.lengthOf(byName("realtime.updateChatContext"), 1)
      for (const span of spans) {
        for (const [key, value] of Object.entries(span.attributes)) {
          assert.notInclude(String(value), secret, `${span.name} ${key}`)
        }
      }
    }).pipe(Effect.provide(Layer.merge(layer({ tools: [weather] }), otel(exporter)))))
})
