/**
 * Review of the protocol codec, the providers and tools: each test here failed on the commit it was
 * written against because of a defect (see the comment on each one for the rule it checks).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Codec from "../src/protocol/Codec.js"
import * as Tool from "../src/Tool.js"

/** Every `items` value anywhere in a JSON Schema. */
const itemsValues = (schema: unknown): Array<unknown> => {
  const out: Array<unknown> = []
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const x of node) walk(x)
    } else if (typeof node === "object" && node !== null) {
      for (const [key, value] of Object.entries(node)) {
        if (key === "items") out.push(value)
        walk(value)
      }
    }
  }
  walk(schema)
  return out
}

describe("review: tools", () => {
  // Rule: `Tool.execute` "never fails" (its doc), and PROTOCOL.md lists "an unknown or failing tool
  // sending no output" as a known defect: the model then waits for ever. A parameters Schema whose
  // filter throws on the model's arguments (here `new URL` on a non-URL, a natural user filter)
  // must give an error text like any other bad argument, not a defect. In the session a defect
  // here fails the whole `Effect.forEach` in runTools, so NO output of that response is sent.
  it.effect("execute turns a throwing parameters filter into an error text instead of dying", () =>
    Effect.gen(function*() {
      const fetchTool = Tool.make("fetch_page", {
        description: "Fetch an https page",
        parameters: Schema.Struct({
          url: Schema.String.pipe(Schema.filter((s) => new URL(s).protocol === "https:"))
        }),
        handler: () => Effect.succeed("ok")
      })
      const exit = yield* Effect.exit(Tool.execute(fetchTool, "{\"url\":\"not a url\"}"))
      assert.isTrue(Exit.isSuccess(exit), `execute must not fail or die, got ${JSON.stringify(exit)}`)
      if (Exit.isSuccess(exit)) {
        assert.include(exit.value, "fetch_page")
        assert.notInclude(exit.value, "    at ") // no stack trace
      }
    }))

  // Rule: PROTOCOL.md `updateTools`: tools are sent with JSON Schema parameters and "tools that
  // cannot be expressed are dropped with a warning". OpenAI rejects the whole tool list when an
  // `items` is an array (draft-07 tuple form): "Invalid schema for function '…': [{'type': 'number'},
  // {'type': 'number'}] is not of type 'object', 'boolean'" (vercel/ai#2271). A `Schema.Tuple`
  // parameter must therefore be either expressed with an object `items` or rejected (Left, so that
  // `partition` drops it with a reason) — never sent as `items: [...]`.
  it("toDefinition never sends a tuple `items` array that OpenAI rejects", () => {
    const tool = Tool.make("set_location", {
      description: "Move the map",
      parameters: Schema.Struct({ latLng: Schema.Tuple(Schema.Number, Schema.Number) }),
      handler: () => Effect.void
    })
    const result = Tool.toDefinition(tool)
    if (Either.isRight(result)) {
      const definition = result.right
      const parameters = definition.type === "function" ? definition.parameters : undefined
      for (const items of itemsValues(parameters)) {
        assert.isFalse(Array.isArray(items), `tuple items sent as an array: ${JSON.stringify(parameters)}`)
      }
    }
  })
})

describe("review: codec errors", () => {
  // Rule: Codec.ts promises ProtocolErrors "that name the event type and the failing path and never
  // carry … payloads", with a capped message (MAX_MESSAGE = 400, `scrub`); DESIGN.md: a malformed
  // frame is reported, never fatal. The path is built from the input's own keys (record keys of
  // `session.replace`, MCP `headers`, …) and is neither scrubbed nor capped, so one frame can put an
  // arbitrarily long server-supplied string into the error message and its `path`.
  it("a failing path through a long record key keeps the message and path bounded", () => {
    const key = "Q".repeat(5000)
    const frame = JSON.stringify({ type: "session.updated", session: { replace: { [key]: 5 } } })
    const result = Codec.decodeServerEvent(frame)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.isAtMost(result.left.message.length, 600, "message not capped")
      assert.isAtMost((result.left.path ?? "").length, 600, "path not capped")
      assert.notInclude(result.left.message, key)
    }
  })
})
