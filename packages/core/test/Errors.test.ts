import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Errors } from "@realtime-fx/core"

describe("Errors", () => {
  it.effect("errors are tagged and catchable by tag", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(
        Effect.fail(new Errors.ConnectionError({ message: "dropped", retryable: true, code: 1006 }))
      )
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "ConnectionError")
        assert.strictEqual(result.left.code, 1006)
        assert.isTrue(result.left.retryable)
      }
    }))
})
