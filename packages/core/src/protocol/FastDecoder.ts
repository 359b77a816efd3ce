/**
 * The compiled decode fast path of the codec: plain functions equivalent to the Schema parser for
 * the AST shapes the protocol uses, returning a `FAIL` marker instead of a `ParseIssue`.
 *
 * @since 0.2.0
 */
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"

/**
 * The wire `type` literal of an event member (a Struct with a literal `type`; its encoded side).
 * Throws at module load for a member of another shape (a programming error, never input-driven).
 *
 * @since 0.2.0
 * @category compiling
 */
export const wireType = (schema: Schema.Schema.AnyNoContext): string => {
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


/**
 * What a compiled decoder returns when the input does not pass.
 *
 * @since 0.2.0
 * @category constants
 */
export const FAIL: unique symbol = Symbol.for("@realtime-fx/core/protocol/FAIL")

/**
 * A compiled decoder: the decoded value, or `FAIL`. With `owned` (the input is the caller's own,
 * fresh from `JSON.parse`), an object or array whose every value decodes to itself and that has no
 * key beyond the decoded ones is returned as it is instead of copied: the same value, no allocation.
 *
 * @since 0.2.0
 * @category models
 */
export type Compiled = (input: unknown, owned?: boolean) => unknown

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
  return (v, owned) => {
    if (keys.length > 0 && typeof v === "object" && v !== null) {
      const record = v as Readonly<Record<string, unknown>>
      for (const [name, buckets] of keys) {
        if (!Object.prototype.hasOwnProperty.call(record, name)) continue
        const bucket = buckets.get(record[name])
        if (bucket === undefined) continue
        for (const c of bucket) {
          const out = c(v, owned)
          if (out !== FAIL) return out
        }
      }
    }
    for (const c of others) {
      const out = c(v, owned)
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
 * The work is bounded by the schema's depth (no recursive schemas) and linear in the input's size;
 * `unknown` values are passed through without being walked.
 *
 * @since 0.2.0
 * @category compiling
 */
export const compile = (ast: AST.AST): Compiled | undefined => {
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
      return (v, owned) => {
        if (!Array.isArray(v)) return FAIL
        let out: Array<unknown> | undefined
        for (let i = 0; i < v.length; i++) {
          const x = item(v[i], owned)
          if (x === FAIL) return FAIL
          if (out === undefined && (owned !== true || x !== v[i])) out = v.slice(0, i)
          if (out !== undefined) out[i] = x
        }
        return out ?? v
      }
    }
    case "Refinement": {
      const from = compile(ast.from)
      if (from === undefined) return undefined
      const refinement = ast
      return (v, owned) => {
        const out = from(v, owned)
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
    // `out[k] = v` with k = "__proto__" would set the output's prototype: such records get no fast path
    if (key("__proto__") !== FAIL) return undefined
    indexes.push({ key, value })
  }
  const expected = new Set(names)
  const n = names.length
  const has = (record: Readonly<Record<string, unknown>>, i: number): boolean =>
    !optional[i] || Object.prototype.hasOwnProperty.call(record, names[i]!)
  /** The fields before `upTo` that `record` has, as they are (each decoded to itself). */
  const fieldsOf = (record: Readonly<Record<string, unknown>>, upTo: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    for (let i = 0; i < upTo; i++) if (has(record, i)) out[names[i]!] = record[names[i]!]
    return out
  }
  return (input, owned) => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return FAIL
    const record = input as Readonly<Record<string, unknown>>
    // An owned input without a record part is not copied while every field decodes to its own value.
    let out: Record<string, unknown> | undefined = owned === true && indexes.length === 0 ? undefined : {}
    let present = 0
    for (let i = 0; i < n; i++) {
      if (!has(record, i)) continue
      const name = names[i]!
      const raw = record[name]
      const value = fields[i]!(raw, owned)
      if (value === FAIL) return FAIL
      present++
      if (out === undefined) {
        if (value === raw) continue
        out = fieldsOf(record, i)
      }
      out[name] = value
    }
    if (out === undefined) {
      // Every field is its own value: the input itself, or its fields alone if it has other keys.
      let keys = 0
      for (const _ in record) keys++
      return keys === present ? record : fieldsOf(record, n)
    }
    for (const index of indexes) {
      for (const k of Object.keys(record)) {
        if (index.key(k) === FAIL) continue
        const value = index.value(record[k], owned)
        if (value === FAIL) return FAIL
        if (!expected.has(k)) out[k] = value
      }
    }
    return out
  }
}

/**
 * A compiled decoder of one event member.
 *
 * @since 0.2.0
 * @category models
 */
export type FastDecoder<A> = (input: unknown, owned?: boolean) => A | typeof FAIL

/**
 * Compiles every member that can be compiled, keyed by its wire `type`.
 *
 * @since 0.2.0
 * @category compiling
 */
export const buildFastDecoders = <A>(
  members: ReadonlyArray<Schema.Schema<A, unknown>>
): ReadonlyMap<string, FastDecoder<A>> => {
  const map = new Map<string, FastDecoder<A>>()
  for (const member of members) {
    const fast = compile(member.ast)
    if (fast !== undefined) map.set(wireType(member as Schema.Schema.AnyNoContext), fast as FastDecoder<A>)
  }
  return map
}
