/**
 * Synchronous wire codecs: JSON text <-> typed events, with `ProtocolError`s that name the event
 * type and the failing path and never carry audio payloads. Decoders are built once, per type.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import { ProtocolError } from "../Errors.js"
import { type ClientEvent, clientEventMembers } from "./ClientEvents.js"
import { type ServerEvent, serverEventMembers } from "./ServerEvents.js"

/**
 * A server event whose `type` this library does not model. It is passed through, never fatal.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnknownServerEvent {
  readonly _tag: "UnknownServerEvent"
  readonly type: string
  readonly raw: unknown
}

/**
 * What decoding a server frame gives: a typed event, or the Unknown member.
 *
 * @since 0.1.0
 * @category models
 */
export type DecodedServerEvent = ServerEvent | UnknownServerEvent

/**
 * True for a server event whose `type` this library does not model.
 *
 * @since 0.1.0
 * @category guards
 */
export const isUnknownServerEvent = (event: DecodedServerEvent): event is UnknownServerEvent =>
  (event as { readonly _tag?: unknown })._tag === "UnknownServerEvent"

type Decoder<A> = (u: unknown) => Either.Either<A, ParseResult.ParseIssue>
type Encoder<A> = (a: A) => Either.Either<unknown, ParseResult.ParseIssue>

/** The wire `type` literal of a Struct member (its encoded side). */
const wireType = (schema: Schema.Schema.AnyNoContext): string => {
  const ast = schema.ast
  if (AST.isTypeLiteral(ast)) {
    const ps = ast.propertySignatures.find((p) => p.name === "type")
    if (ps !== undefined) {
      const encoded = AST.encodedAST(ps.type)
      if (AST.isLiteral(encoded) && typeof encoded.literal === "string") return encoded.literal
    }
  }
  throw new Error("protocol: every event member must be a Struct with a literal `type`")
}

const buildDecoders = <A>(members: ReadonlyArray<Schema.Schema<A, unknown>>): ReadonlyMap<string, Decoder<A>> => {
  const map = new Map<string, Decoder<A>>()
  for (const member of members) {
    map.set(wireType(member as Schema.Schema.AnyNoContext), ParseResult.decodeUnknownEither(member))
  }
  return map
}

const buildEncoders = <A>(members: ReadonlyArray<Schema.Schema<A, unknown>>): ReadonlyMap<string, Encoder<A>> => {
  const map = new Map<string, Encoder<A>>()
  for (const member of members) {
    const ast = AST.typeAST(member.ast)
    const ps = AST.isTypeLiteral(ast) ? ast.propertySignatures.find((p) => p.name === "type") : undefined
    const literal = ps !== undefined && AST.isLiteral(ps.type) ? ps.type.literal : undefined
    // the first member for a decoded `type` wins: GA members come before their beta wire twins
    if (typeof literal === "string" && !map.has(literal)) {
      map.set(literal, ParseResult.encodeEither(member) as Encoder<A>)
    }
  }
  return map
}

// ---------------------------------------------------------------------------------------------
// compiled fast path
// ---------------------------------------------------------------------------------------------

/** What a compiled decoder returns when the input does not pass. */
const FAIL: unique symbol = Symbol.for("@realtime-fx/core/protocol/FAIL")
type Compiled = (input: unknown) => unknown

const NO_OPTIONS = {}

/** The first required literal property of a union member (Effect dispatches on those first). */
const literalKey = (ast: AST.AST): { readonly name: string; readonly literal: AST.LiteralValue } | undefined => {
  switch (ast._tag) {
    case "TypeLiteral": {
      for (const ps of ast.propertySignatures) {
        const encoded = AST.encodedAST(ps.type)
        if (!ps.isOptional && typeof ps.name === "string" && AST.isLiteral(encoded)) {
          return { name: ps.name, literal: encoded.literal }
        }
      }
      return undefined
    }
    case "Refinement":
      return literalKey(ast.from)
    default:
      return undefined
  }
}

/**
 * A union: members keyed by a literal property are looked up by the input's value of that property
 * (in member order), then the other members are tried in order, as the Schema parser does.
 */
const compileUnion = (ast: AST.Union): Compiled | undefined => {
  const keyed = new Map<string, Map<unknown, Array<Compiled>>>()
  const others: Array<Compiled> = []
  for (const member of ast.types) {
    const c = compile(member)
    if (c === undefined) return undefined
    const key = literalKey(member)
    if (key === undefined) {
      others.push(c)
      continue
    }
    let buckets = keyed.get(key.name)
    if (buckets === undefined) keyed.set(key.name, (buckets = new Map()))
    const bucket = buckets.get(key.literal)
    if (bucket === undefined) buckets.set(key.literal, [c])
    else bucket.push(c)
  }
  const keys = [...keyed.entries()]
  return (v) => {
    if (keys.length > 0 && typeof v === "object" && v !== null) {
      const record = v as Readonly<Record<string, unknown>>
      for (const [name, buckets] of keys) {
        if (!Object.prototype.hasOwnProperty.call(record, name)) continue
        const bucket = buckets.get(record[name])
        if (bucket === undefined) continue
        for (const c of bucket) {
          const out = c(v)
          if (out !== FAIL) return out
        }
      }
    }
    for (const c of others) {
      const out = c(v)
      if (out !== FAIL) return out
    }
    return FAIL
  }
}

/**
 * Compiles a decoder equivalent to the Schema parser (default options: excess keys dropped) for
 * the AST shapes the protocol uses: literals, keywords, unknown, unions, structs with records,
 * arrays, filters and literal-to-literal transformations (the beta `type` twins). It skips the
 * parser's per-field `Either` allocations and returns `FAIL` instead of an issue: the caller then
 * runs the Schema decoder for the error. `undefined` means "not compilable" (no fast path).
 */
const compile = (ast: AST.AST): Compiled | undefined => {
  switch (ast._tag) {
    case "Literal": {
      const literal = ast.literal
      return (v) => (v === literal ? v : FAIL)
    }
    case "StringKeyword":
      return (v) => (typeof v === "string" ? v : FAIL)
    case "NumberKeyword":
      return (v) => (typeof v === "number" ? v : FAIL)
    case "BooleanKeyword":
      return (v) => (typeof v === "boolean" ? v : FAIL)
    case "UndefinedKeyword":
      return (v) => (v === undefined ? v : FAIL)
    case "UnknownKeyword":
    case "AnyKeyword":
      return (v) => v
    case "Union":
      return compileUnion(ast)
    case "TupleType": {
      if (ast.elements.length !== 0 || ast.rest.length !== 1) return undefined
      const item = compile(ast.rest[0]!.type)
      if (item === undefined) return undefined
      return (v) => {
        if (!Array.isArray(v)) return FAIL
        const out = new Array<unknown>(v.length)
        for (let i = 0; i < v.length; i++) {
          const x = item(v[i])
          if (x === FAIL) return FAIL
          out[i] = x
        }
        return out
      }
    }
    case "Refinement": {
      const from = compile(ast.from)
      if (from === undefined) return undefined
      const refinement = ast
      return (v) => {
        const out = from(v)
        if (out === FAIL) return FAIL
        return Option.isNone(refinement.filter(out, NO_OPTIONS, refinement)) ? out : FAIL
      }
    }
    case "Transformation": {
      if (!AST.isLiteral(ast.from) || !AST.isLiteral(ast.to)) return undefined
      const wire = ast.from.literal
      const decoded = ast.to.literal
      return (v) => (v === wire ? decoded : FAIL)
    }
    case "TypeLiteral":
      return compileStruct(ast)
    default:
      return undefined
  }
}

const compileStruct = (ast: AST.TypeLiteral): Compiled | undefined => {
  const names: Array<string> = []
  const optional: Array<boolean> = []
  const fields: Array<Compiled> = []
  for (const ps of ast.propertySignatures) {
    if (typeof ps.name !== "string") return undefined
    const c = compile(ps.type)
    if (c === undefined) return undefined
    names.push(ps.name)
    optional.push(ps.isOptional)
    fields.push(c)
  }
  const indexes: Array<{ readonly key: Compiled; readonly value: Compiled }> = []
  for (const is of ast.indexSignatures) {
    const parameter: AST.AST = is.parameter
    const keyBase = AST.isRefinement(parameter) ? parameter.from : parameter
    if (!AST.isStringKeyword(keyBase)) return undefined
    const key = compile(parameter)
    const value = compile(is.type)
    if (key === undefined || value === undefined) return undefined
    indexes.push({ key, value })
  }
  const expected = new Set(names)
  const n = names.length
  return (input) => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return FAIL
    const record = input as Readonly<Record<string, unknown>>
    const out: Record<string, unknown> = {}
    for (let i = 0; i < n; i++) {
      const name = names[i]!
      if (optional[i] && !Object.prototype.hasOwnProperty.call(record, name)) continue
      const value = fields[i]!(record[name])
      if (value === FAIL) return FAIL
      out[name] = value
    }
    for (const index of indexes) {
      for (const k of Object.keys(record)) {
        if (index.key(k) === FAIL) continue
        const value = index.value(record[k])
        if (value === FAIL) return FAIL
        if (!expected.has(k)) out[k] = value
      }
    }
    return out
  }
}

type FastDecoder<A> = (input: unknown) => A | typeof FAIL

const buildFastDecoders = <A>(members: ReadonlyArray<Schema.Schema<A, unknown>>): ReadonlyMap<string, FastDecoder<A>> => {
  const map = new Map<string, FastDecoder<A>>()
  for (const member of members) {
    const fast = compile(member.ast)
    if (fast !== undefined) map.set(wireType(member as Schema.Schema.AnyNoContext), fast as FastDecoder<A>)
  }
  return map
}

const serverFastDecoders = buildFastDecoders<ServerEvent>(
  serverEventMembers as unknown as ReadonlyArray<Schema.Schema<ServerEvent, unknown>>
)

/**
 * The wire types whose decoding uses the compiled fast path (exposed for tests, which check
 * that it agrees with the Schema decoder).
 *
 * @since 0.1.0
 * @category constants
 */
export const fastPathServerEventTypes: ReadonlySet<string> = new Set(serverFastDecoders.keys())

const serverDecoders = buildDecoders<ServerEvent>(
  serverEventMembers as unknown as ReadonlyArray<Schema.Schema<ServerEvent, unknown>>
)
const serverEncoders = buildEncoders<ServerEvent>(
  serverEventMembers as unknown as ReadonlyArray<Schema.Schema<ServerEvent, unknown>>
)
const clientDecoders = buildDecoders<ClientEvent>(
  clientEventMembers as unknown as ReadonlyArray<Schema.Schema<ClientEvent, unknown>>
)
const clientEncoders = buildEncoders<ClientEvent>(
  clientEventMembers as unknown as ReadonlyArray<Schema.Schema<ClientEvent, unknown>>
)

/**
 * The wire `type` names of every modelled server event (GA, beta and xAI).
 *
 * @since 0.1.0
 * @category constants
 */
export const serverEventTypes: ReadonlySet<string> = new Set(serverDecoders.keys())

/**
 * The wire `type` names of every modelled client event.
 *
 * @since 0.1.0
 * @category constants
 */
export const clientEventTypes: ReadonlySet<string> = new Set(clientDecoders.keys())

// ---------------------------------------------------------------------------------------------
// error messages (never include payloads)
// ---------------------------------------------------------------------------------------------

const MAX_STRING = 48
const MAX_MESSAGE = 400

/** Shortens every long quoted string (a base64 payload, a transcript) and caps the length. */
const scrub = (text: string): string => {
  const out = text.replace(/"(?:[^"\\]|\\.){48,}"/g, (s) => `"${s.slice(1, 17)}…(${s.length - 2} chars)"`)
  const unquoted = out.replace(/[A-Za-z0-9+/=_-]{64,}/g, (s) => `${s.slice(0, 16)}…(${s.length} chars)`)
  return unquoted.length > MAX_MESSAGE ? `${unquoted.slice(0, MAX_MESSAGE)}…` : unquoted
}

const shortType = (type: string): string =>
  type.length > MAX_STRING ? `${type.slice(0, MAX_STRING)}…(${type.length} chars)` : type

/** The longest path a ProtocolError carries (keys come from the input and may be long). */
const MAX_PATH = 120

const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else out += out === "" ? shortType(String(key)) : `.${shortType(String(key))}`
  }
  return out.length > MAX_PATH ? `${out.slice(0, MAX_PATH)}…` : out
}

const issueError = (eventType: string, issue: ParseResult.ParseIssue): ProtocolError => {
  const issues = ParseResult.ArrayFormatter.formatIssueSync(issue)
  const first = issues[0]
  const path = first !== undefined ? formatPath(first.path) : ""
  const detail = first !== undefined ? scrub(first.message) : "invalid"
  const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : ""
  const type = shortType(eventType)
  return new ProtocolError({
    message: `Invalid "${type}" event at ${path === "" ? "<root>" : path}: ${detail}${more}`,
    eventType: type,
    path
  })
}

const parseJson = (text: string): Either.Either<unknown, ProtocolError> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e)
    return Either.left(new ProtocolError({ message: `Malformed JSON frame (${text.length} chars): ${scrub(reason)}` }))
  }
}

const typeOf = (json: unknown): Either.Either<string, ProtocolError> => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Either.left(new ProtocolError({ message: "Event is not a JSON object" }))
  }
  const type = (json as { readonly type?: unknown }).type
  if (typeof type !== "string") {
    return Either.left(new ProtocolError({ message: "Event has no string \"type\"", path: "type" }))
  }
  return Either.right(type)
}

// ---------------------------------------------------------------------------------------------
// server events
// ---------------------------------------------------------------------------------------------

/**
 * Decodes a parsed server frame. An unmodelled `type` gives the `UnknownServerEvent` member (with
 * the raw object); a modelled type with wrong fields, or a value that is not an object with a
 * string `type`, gives a `ProtocolError`. Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeServerEventUnknown = (json: unknown): Either.Either<DecodedServerEvent, ProtocolError> => {
  const type = typeOf(json)
  if (Either.isLeft(type)) return Either.left(type.left)
  const fast = serverFastDecoders.get(type.right)
  if (fast !== undefined) {
    const out = fast(json)
    if (out !== FAIL) return Either.right(out)
  }
  const decoder = serverDecoders.get(type.right)
  if (decoder === undefined) {
    return Either.right<DecodedServerEvent>({ _tag: "UnknownServerEvent", type: type.right, raw: json })
  }
  const result = decoder(json)
  // a Right carries no error: reuse it rather than allocate another
  return Either.isRight(result) ? (result as unknown as Either.Either<never, never>) : Either.left(issueError(type.right, result.left))
}

/**
 * The reference decoder: like `decodeServerEventUnknown` but through the Schema parser only (no
 * compiled fast path). Slower; tests use it to check that the fast path agrees with Schema.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeServerEventUnknownWithSchema = (json: unknown): Either.Either<DecodedServerEvent, ProtocolError> => {
  const type = typeOf(json)
  if (Either.isLeft(type)) return Either.left(type.left)
  const decoder = serverDecoders.get(type.right)
  if (decoder === undefined) {
    return Either.right<DecodedServerEvent>({ _tag: "UnknownServerEvent", type: type.right, raw: json })
  }
  const result = decoder(json)
  return Either.isRight(result) ? Either.right(result.right) : Either.left(issueError(type.right, result.left))
}

/**
 * Decodes one server text frame (`JSON.parse` then the member schema for its `type`),
 * synchronously: use it inside `Stream.map`. Beta wire names come out with their GA `type`.
 * Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeServerEvent = (text: string): Either.Either<DecodedServerEvent, ProtocolError> => {
  const json = parseJson(text)
  return Either.isLeft(json) ? Either.left(json.left) : decodeServerEventUnknown(json.right)
}

/**
 * Encodes a server event to JSON text (GA wire names). Used by fake servers in tests.
 * Throws a `ProtocolError` if the value does not satisfy its schema (only possible by bypassing
 * the types).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeServerEvent = (event: ServerEvent): string => {
  const encoder = serverEncoders.get(event.type)
  if (encoder === undefined) throw new ProtocolError({ message: "Unknown server event type", eventType: event.type })
  const result = encoder(event)
  if (Either.isLeft(result)) throw issueError(event.type, result.left)
  return JSON.stringify(result.right)
}

// ---------------------------------------------------------------------------------------------
// client events
// ---------------------------------------------------------------------------------------------

/**
 * Decodes a parsed client event (a fake server uses it). Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeClientEventUnknown = (json: unknown): Either.Either<ClientEvent, ProtocolError> => {
  const type = typeOf(json)
  if (Either.isLeft(type)) return Either.left(type.left)
  const decoder = clientDecoders.get(type.right)
  if (decoder === undefined) {
    return Either.left(
      new ProtocolError({ message: `Unknown client event type "${shortType(type.right)}"`, eventType: shortType(type.right) })
    )
  }
  const result = decoder(json)
  // a Right carries no error: reuse it rather than allocate another
  return Either.isRight(result) ? (result as unknown as Either.Either<never, never>) : Either.left(issueError(type.right, result.left))
}

/**
 * Decodes one client text frame. Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeClientEvent = (text: string): Either.Either<ClientEvent, ProtocolError> => {
  const json = parseJson(text)
  return Either.isLeft(json) ? Either.left(json.left) : decodeClientEventUnknown(json.right)
}

/**
 * Encodes a client event to its JSON text (keys not in the schema are dropped). Throws a
 * `ProtocolError` if the value does not satisfy its schema (only possible by bypassing the types).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeClientEvent = (event: ClientEvent): string => {
  const encoder = clientEncoders.get(event.type)
  if (encoder === undefined) throw new ProtocolError({ message: "Unknown client event type", eventType: event.type })
  const result = encoder(event)
  if (Either.isLeft(result)) throw issueError(event.type, result.left)
  return JSON.stringify(result.right)
}
