/**
 * The demo's one error: a one-line message meant for the user.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

/** Why the demo failed, in one line meant for the user (no stack trace). */
export class DemoError extends Schema.TaggedError<DemoError>()("DemoError", {
  message: Schema.String
}) {}
