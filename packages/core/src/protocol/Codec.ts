/**
 * Synchronous wire codecs: JSON text <-> typed events, with `ProtocolError`s that name the event
 * type and the failing path and never carry audio payloads. Decoders are built once, per type.
 * No codec function throws, whatever the input (deep nesting, getters that throw, cycles): every
 * throw is caught and becomes a `ProtocolError` (`encodeClientEvent` / `encodeServerEvent` rethrow it).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import { encodeBase64 } from "../AudioFrame.js"
import type { ProtocolError } from "../Errors.js"
import { type ClientEvent, clientEventMembers } from "./ClientEvents.js"
import { buildFastDecoders, FAIL, wireType } from "./FastDecoder.js"
import { issueError, protocolError, shortName, thrownError } from "./IssueMessage.js"
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

const parseJson = (text: string): Either.Either<unknown, ProtocolError> => {
  if (typeof text !== "string") return Either.left(protocolError("Frame is not a string"))
  try {
    return Either.right(JSON.parse(text))
  } catch (e) {
    // V8's messages quote at most a short snippet of the text; protocolError caps and scrubs it anyway
    const reason = e instanceof Error ? e.message : "unparsable"
    return Either.left(protocolError(`Malformed JSON frame (${text.length} chars): ${reason.slice(0, 200)}`))
  }
}

const typeOf = (json: unknown): Either.Either<string, ProtocolError> => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Either.left(protocolError("Event is not a JSON object"))
  }
  const type = (json as { readonly type?: unknown }).type
  return typeof type === "string" ? Either.right(type) : Either.left(protocolError("Event has no string \"type\"", { path: "type" }))
}

/** The event's `type` if reading it is safe and gives a string (for naming a caught throw). */
const safeTypeOf = (value: unknown): string | undefined => {
  try {
    const type = typeof value === "object" && value !== null ? (value as { readonly type?: unknown }).type : undefined
    return typeof type === "string" ? type : undefined
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// server events
// ---------------------------------------------------------------------------------------------

const unknownEvent = (type: string, raw: unknown): Either.Either<DecodedServerEvent, ProtocolError> =>
  Either.right<DecodedServerEvent>({ _tag: "UnknownServerEvent", type, raw })

/**
 * The compiled decoder's event for a parsed frame of `type`; `undefined` when the type has none or
 * it declines. May throw. `owned`: `json` is this module's own (parsed here), so the decoder may
 * return it, or parts of it, as they are.
 */
const decodeFast = (type: string, json: unknown, owned: boolean): DecodedServerEvent | undefined => {
  const fast = serverFastDecoders.get(type)
  if (fast === undefined) return undefined
  const out = fast(json, owned)
  return out === FAIL ? undefined : out
}

/** The Schema decoder's event for a parsed frame of `type` (an unmodelled type: `UnknownServerEvent`). May throw. */
const decodeSchema = (type: string, json: unknown): Either.Either<DecodedServerEvent, ProtocolError> => {
  const decoder = serverDecoders.get(type)
  if (decoder === undefined) return unknownEvent(type, json)
  const result = decoder(json)
  // a Right carries no error: reuse it rather than allocate another
  return Either.isRight(result) ? (result as unknown as Either.Either<never, never>) : Either.left(issueError(type, result.left))
}

const decodeServerUnsafe = (json: unknown, owned: boolean): Either.Either<DecodedServerEvent, ProtocolError> => {
  const type = typeOf(json)
  if (Either.isLeft(type)) return Either.left(type.left)
  const fast = decodeFast(type.right, json, owned)
  return fast !== undefined ? Either.right(fast) : decodeSchema(type.right, json)
}

/**
 * Decodes a parsed server frame. An unmodelled `type` gives the `UnknownServerEvent` member (with
 * the raw object); a modelled type with wrong fields, or a value that is not an object with a
 * string `type`, gives a `ProtocolError`. Never throws (a getter that throws, a Proxy, input deep
 * enough to overflow the stack: all become a `ProtocolError`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeServerEventUnknown = (json: unknown): Either.Either<DecodedServerEvent, ProtocolError> =>
  decodeServerParsed(json, false)

/** `decodeServerEventUnknown`; with `owned`, for JSON this module parsed itself. */
const decodeServerParsed = (json: unknown, owned: boolean): Either.Either<DecodedServerEvent, ProtocolError> => {
  try {
    return decodeServerUnsafe(json, owned)
  } catch (e) {
    return Either.left(thrownError("decode server event", safeTypeOf(json), e))
  }
}

/**
 * The reference decoder: like `decodeServerEventUnknown` but through the Schema parser only (no
 * compiled fast path). Slower; tests use it to check that the fast path agrees with Schema.
 * Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeServerEventUnknownWithSchema = (json: unknown): Either.Either<DecodedServerEvent, ProtocolError> => {
  try {
    const type = typeOf(json)
    return Either.isLeft(type) ? Either.left(type.left) : decodeSchema(type.right, json)
  } catch (e) {
    return Either.left(thrownError("decode server event", safeTypeOf(json), e))
  }
}

/**
 * Decodes one server text frame (`JSON.parse` then the member schema for its `type`),
 * synchronously: use it inside `Stream.map`. Beta wire names come out with their GA `type`.
 * Never throws, for any string.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeServerEvent = (text: string): Either.Either<DecodedServerEvent, ProtocolError> => {
  const json = parseJson(text)
  return Either.isLeft(json) ? Either.left(json.left) : decodeServerParsed(json.right, true)
}

/**
 * `decodeServerEvent` without the `Either`: the decoded event, or the `ProtocolError` (tell them
 * apart with `instanceof ProtocolError`). For a per-frame hot path: a well-formed frame of a
 * compiled type allocates nothing besides the parsed JSON, which is itself the decoded event when
 * it has no key the schema drops (else the event is a copy without them). Never throws.
 *
 * @since 0.2.0
 * @category decoding
 */
export const decodeServerFrame = (text: string): DecodedServerEvent | ProtocolError => {
  if (typeof text !== "string") return Either.merge(decodeServerEvent(text))
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Either.merge(decodeServerEvent(text))
  }
  try {
    const type = typeof json === "object" && json !== null ? (json as { readonly type?: unknown }).type : undefined
    if (typeof type === "string") {
      const fast = decodeFast(type, json, true)
      // declined by the compiled decoder (or none): the Schema decoder names the issue
      return fast !== undefined ? fast : Either.merge(decodeSchema(type, json))
    }
  } catch {
    // a getter that throws, a Proxy: the full decoder below names it
  }
  return Either.merge(decodeServerParsed(json, true))
}

/** Encodes with the member encoder for the event's `type`, then `JSON.stringify`; never throws. */
const encodeWith = <A>(
  encoders: ReadonlyMap<string, Encoder<A>>,
  side: "client" | "server",
  event: A
): Either.Either<string, ProtocolError> => {
  let type: string | undefined
  try {
    type = safeTypeOf(event)
    if (type === undefined) return Either.left(protocolError(`A ${side} event has no string "type"`, { path: "type" }))
    const encoder = encoders.get(type)
    if (encoder === undefined) {
      return Either.left(protocolError(`Unknown ${side} event type "${shortName(type)}"`, { eventType: type }))
    }
    const result = encoder(event)
    if (Either.isLeft(result)) return Either.left(issueError(type, result.left))
    const text: string | undefined = JSON.stringify(result.right)
    if (typeof text !== "string") {
      return Either.left(protocolError(`A "${shortName(type)}" event has no JSON text`, { eventType: type }))
    }
    return Either.right(text)
  } catch (e) {
    return Either.left(thrownError(`encode ${side} event`, type, e))
  }
}

/**
 * Encodes a server event to JSON text (GA wire names), as an `Either`: a value that does not
 * satisfy its schema, or that `JSON.stringify` cannot write (a cycle or a BigInt under an
 * `unknown` field, a getter or `toJSON` that throws), gives a `ProtocolError` naming the event
 * type. Never throws.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodeServerEventEither = (event: ServerEvent): Either.Either<string, ProtocolError> =>
  encodeWith(serverEncoders, "server", event)

/**
 * Encodes a server event to JSON text (GA wire names). Used by fake servers in tests.
 * Throws the `ProtocolError` of `encodeServerEventEither` if the event cannot be encoded (only
 * possible by bypassing the types).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeServerEvent = (event: ServerEvent): string => {
  const result = encodeServerEventEither(event)
  if (Either.isLeft(result)) throw result.left
  return result.right
}

// ---------------------------------------------------------------------------------------------
// client events
// ---------------------------------------------------------------------------------------------

const decodeClientUnsafe = (json: unknown): Either.Either<ClientEvent, ProtocolError> => {
  const type = typeOf(json)
  if (Either.isLeft(type)) return Either.left(type.left)
  const decoder = clientDecoders.get(type.right)
  if (decoder === undefined) {
    return Either.left(protocolError(`Unknown client event type "${shortName(type.right)}"`, { eventType: type.right }))
  }
  const result = decoder(json)
  // a Right carries no error: reuse it rather than allocate another
  return Either.isRight(result) ? (result as unknown as Either.Either<never, never>) : Either.left(issueError(type.right, result.left))
}

/**
 * Decodes a parsed client event (a fake server uses it). Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeClientEventUnknown = (json: unknown): Either.Either<ClientEvent, ProtocolError> => {
  try {
    return decodeClientUnsafe(json)
  } catch (e) {
    return Either.left(thrownError("decode client event", safeTypeOf(json), e))
  }
}

/**
 * Decodes one client text frame. Never throws, for any string.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeClientEvent = (text: string): Either.Either<ClientEvent, ProtocolError> => {
  const json = parseJson(text)
  return Either.isLeft(json) ? Either.left(json.left) : decodeClientEventUnknown(json.right)
}

/**
 * Encodes a client event to its JSON text (keys not in the schema are dropped), as an `Either`:
 * a value that does not satisfy its schema, or that `JSON.stringify` cannot write (a cycle or a
 * BigInt under an `unknown` field, a getter or `toJSON` that throws), gives a `ProtocolError`
 * naming the event type and the path. Never throws. Use it to fail the caller with a typed error
 * and send nothing.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodeClientEventEither = (event: ClientEvent): Either.Either<string, ProtocolError> => {
  const fast = appendText(event)
  return fast !== undefined ? Either.right(fast) : encodeWith(clientEncoders, "client", event)
}

const APPEND_HEAD = "{\"type\":\"input_audio_buffer.append\","

/**
 * The JSON text of `input_audio_buffer.append` with `audio`, built without Schema (the session's
 * hot path: one per 100 ms of input audio). Byte for byte what `encodeClientEventEither` gives for
 * `{ type: "input_audio_buffer.append", audio }`, for any string (a base64 payload needs no escaping;
 * anything else is escaped as `JSON.stringify` does). Never throws.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodeAppend = (audio: string): string => APPEND_HEAD + "\"audio\":" + JSON.stringify(audio) + "}"

/**
 * The JSON text of `input_audio_buffer.append` carrying `pcm` (PCM16 samples, the wire's 24 kHz
 * mono), base64-encoded here: byte for byte `encodeAppend(AudioFrame.encodeBase64(pcm))`, without
 * the escaping pass (base64 never needs one). `pcm` is read before this returns.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodeAppendPcm = (pcm: Int16Array): string => APPEND_HEAD + "\"audio\":\"" + encodeBase64(pcm) + "\"}"

/**
 * The append fast path of `encodeClientEventEither`: the text of an append whose fields are plainly
 * valid (string `audio`, absent or string `event_id`; other keys are dropped, as the schema does),
 * else `undefined` (the Schema encoder then decides, and names any error).
 */
const appendText = (event: ClientEvent): string | undefined => {
  try {
    if (event.type !== "input_audio_buffer.append") return undefined
    const { audio, event_id } = event
    if (typeof audio !== "string") return undefined
    if (event_id === undefined) return encodeAppend(audio)
    if (typeof event_id !== "string") return undefined
    return APPEND_HEAD + "\"event_id\":" + JSON.stringify(event_id) + ",\"audio\":" + JSON.stringify(audio) + "}"
  } catch {
    return undefined
  }
}

/**
 * Encodes a client event to its JSON text (keys not in the schema are dropped). Throws the
 * `ProtocolError` of `encodeClientEventEither` if the event cannot be encoded (only possible by
 * bypassing the types); prefer `encodeClientEventEither`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeClientEvent = (event: ClientEvent): string => {
  const result = encodeClientEventEither(event)
  if (Either.isLeft(result)) throw result.left
  return result.right
}
