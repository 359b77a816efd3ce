/**
 * Bounded `ProtocolError`s for the codec: messages built from a `ParseIssue` (or a caught throw)
 * with capped work and length, that never quote an input value longer than a short scalar.
 *
 * @since 0.2.0
 */
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as AST from "effect/SchemaAST"
import { ProtocolError } from "../Errors.js"

/**
 * The longest `message` a codec `ProtocolError` carries (an ellipsis may follow).
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_MESSAGE = 400

/**
 * The longest `path` a codec `ProtocolError` carries (keys come from the input and may be long).
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_PATH = 120

/** Longest event type or path key kept as is. */
const MAX_NAME = 48
/** Longest input string quoted in a message; longer ones are described by their length only. */
const MAX_QUOTED = 32
/** Longest description of what a schema expected. */
const MAX_EXPECTED = 120
/** Leaves of an issue tree counted at most (the first one is formatted, the rest only counted). */
const MAX_LEAVES = 64

const cap = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text)

/**
 * Shortens a name taken from the input (an event type, a record key) to at most 48 characters.
 *
 * @since 0.2.0
 * @category formatting
 */
export const shortName = (name: string): string =>
  name.length > MAX_NAME ? `${name.slice(0, MAX_NAME)}…(${name.length} chars)` : name

/** Shortens long quoted strings and base64-like runs, then caps the length. */
const scrub = (text: string, max: number): string => {
  const capped = cap(text, max * 2)
  const quoted = capped.replace(/"(?:[^"\\]|\\.){48,}"/g, (s) => `"${s.slice(1, 17)}…(${s.length - 2} chars)"`)
  const unquoted = quoted.replace(/[A-Za-z0-9+/=_-]{64,}/g, (s) => `${s.slice(0, 16)}…(${s.length} chars)`)
  return cap(unquoted, max)
}

/**
 * Describes a value in a few words, in constant time: short strings and scalars are quoted, other
 * values are named by kind and size (never walked, never converted with `toString`).
 *
 * @since 0.2.0
 * @category formatting
 */
export const describeActual = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      // eslint-disable-next-line no-control-regex
      return value.length <= MAX_QUOTED && !/[\u0000-\u001f]/.test(value) ? JSON.stringify(value) : `a string (${value.length} chars)`
    case "number":
    case "boolean":
    case "undefined":
      return String(value)
    case "bigint":
      return "a bigint"
    case "symbol":
      return "a symbol"
    case "function":
      return "a function"
    default:
      if (value === null) return "null"
      return Array.isArray(value) ? `an array (${value.length} items)` : "an object"
  }
}

const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else out += out === "" ? shortName(String(key)) : `.${shortName(String(key))}`
    if (out.length > MAX_PATH) break
  }
  return cap(out, MAX_PATH)
}

/** The message annotation of the issue's schema, when it is a plain string (our schemas' kind). */
const currentMessage = (issue: ParseResult.ParseIssue): { readonly message: string; readonly override: boolean } | undefined => {
  if (!("ast" in issue)) return undefined
  const annotation = AST.getMessageAnnotation(issue.ast)
  if (Option.isNone(annotation)) return undefined
  const out = annotation.value(issue)
  if (typeof out === "string") return { message: out, override: false }
  if (typeof out === "object" && out !== null && "override" in out && typeof out.message === "string") {
    return { message: out.message, override: out.override }
  }
  return undefined
}

/** Like Effect's formatters: an annotated message, unless an inner issue should speak. */
const annotatedMessage = (issue: ParseResult.ParseIssue): string | undefined => {
  const current = currentMessage(issue)
  if (current === undefined) return undefined
  const useInner = !current.override &&
    (issue._tag === "Composite" || (issue._tag === "Refinement" && issue.kind === "From") ||
      (issue._tag === "Transformation" && issue.kind !== "Transformation"))
  if (!useInner) return current.message
  return issue._tag === "Refinement" || issue._tag === "Transformation" ? annotatedMessage(issue.issue) : undefined
}

const expectedOf = (ast: AST.AST): string => {
  if (AST.isRefinement(ast)) {
    const named = AST.getDescriptionAnnotation(ast).pipe(
      Option.orElse(() => AST.getTitleAnnotation(ast)),
      Option.orElse(() => AST.getIdentifierAnnotation(ast))
    )
    if (Option.isSome(named)) return cap(named.value, MAX_EXPECTED)
    return cap(`${String(ast.from)} | filter`, MAX_EXPECTED)
  }
  return cap(String(ast), MAX_EXPECTED)
}

interface Leaves {
  count: number
  first: { readonly path: ReadonlyArray<PropertyKey>; readonly message: string } | undefined
}

/**
 * Walks the issue tree in the order of Effect's `ArrayFormatter` (same paths, same first issue),
 * formatting only the first leaf and counting at most `MAX_LEAVES`. The tree's depth follows the
 * schema's (no recursive schemas), not the input's.
 */
const collect = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>, leaves: Leaves): void => {
  if (leaves.count >= MAX_LEAVES) return
  const leaf = (message: () => string) => {
    if (leaves.first === undefined) leaves.first = { path, message: message() }
    leaves.count++
  }
  switch (issue._tag) {
    case "Type":
      return leaf(() =>
        annotatedMessage(issue) ?? issue.message ?? `Expected ${expectedOf(issue.ast)}, actual ${describeActual(issue.actual)}`
      )
    case "Forbidden":
      return leaf(() => issue.message ?? "is forbidden")
    case "Unexpected":
      return leaf(() => issue.message ?? "is unexpected")
    case "Missing":
      return leaf(() => issue.message ?? "is missing")
    case "Pointer":
      return collect(issue.issue, path.concat(issue.path), leaves)
    case "Composite": {
      const message = annotatedMessage(issue)
      if (message !== undefined) return leaf(() => message)
      const issues = issue.issues
      if (Array.isArray(issues)) {
        for (const i of issues as ReadonlyArray<ParseResult.ParseIssue>) collect(i, path, leaves)
      } else {
        collect(issues as ParseResult.ParseIssue, path, leaves)
      }
      return
    }
    case "Refinement":
    case "Transformation": {
      const message = annotatedMessage(issue)
      if (message !== undefined) return leaf(() => message)
      return collect(issue.issue, path, leaves)
    }
  }
}

/**
 * The `ProtocolError` for a failed decode or encode of a `type`: names the type and the first
 * failing path, says what was expected and what kind of value came, and how many more issues.
 *
 * @since 0.2.0
 * @category constructors
 */
export const issueError = (eventType: string, issue: ParseResult.ParseIssue): ProtocolError => {
  const leaves: Leaves = { count: 0, first: undefined }
  collect(issue, [], leaves)
  const path = leaves.first !== undefined ? formatPath(leaves.first.path) : ""
  const detail = leaves.first !== undefined ? scrub(leaves.first.message, 200) : "invalid"
  const more = leaves.count > 1 ? ` (+${leaves.count - 1}${leaves.count >= MAX_LEAVES ? " or more" : ""} more)` : ""
  const type = shortName(eventType)
  return new ProtocolError({
    message: cap(`Invalid "${type}" event at ${path === "" ? "<root>" : path}: ${detail}${more}`, MAX_MESSAGE),
    eventType: type,
    path
  })
}

/**
 * A `ProtocolError` with a capped, scrubbed message.
 *
 * @since 0.2.0
 * @category constructors
 */
export const protocolError = (message: string, fields?: { readonly eventType?: string; readonly path?: string }): ProtocolError =>
  new ProtocolError({
    message: scrub(message, MAX_MESSAGE),
    ...(fields?.eventType !== undefined ? { eventType: shortName(fields.eventType) } : {}),
    ...(fields?.path !== undefined ? { path: cap(fields.path, MAX_PATH) } : {})
  })

/** What a caught throw was, in a few words (its class and a capped message), itself never throwing. */
const describeThrown = (thrown: unknown): string => {
  try {
    if (thrown instanceof RangeError) return "RangeError (input nested too deeply or too large)"
    if (thrown instanceof Error) {
      const name = typeof thrown.name === "string" ? thrown.name : "Error"
      const message = typeof thrown.message === "string" ? thrown.message : ""
      return `${cap(name, 40)}: ${cap(message, 160)}`
    }
    return `a thrown ${describeActual(thrown)}`
  } catch {
    return "an unprintable throw"
  }
}

/** Built once: what `thrownError` returns if building a better error throws too. */
const LAST_RESORT = new ProtocolError({ message: "Codec failure (the error could not be described)" })

/**
 * The `ProtocolError` for a throw caught in the codec (a stack overflow on deep input, a getter that
 * throws, `JSON.stringify` on a cycle or a BigInt). Never throws itself.
 *
 * @since 0.2.0
 * @category constructors
 */
export const thrownError = (what: string, eventType: string | undefined, thrown: unknown): ProtocolError => {
  try {
    const type = eventType !== undefined ? ` "${shortName(eventType)}"` : ""
    return protocolError(`Could not ${what}${type}: ${describeThrown(thrown)}`, eventType !== undefined ? { eventType } : undefined)
  } catch {
    return LAST_RESORT
  }
}
