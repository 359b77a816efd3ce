/**
 * Tools the model may call: function tools defined once with a Schema (sent as JSON Schema, their
 * arguments decoded with the same Schema) and provider-side server tools (xAI web/X/file search, MCP).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type { FunctionToolDefinition, ToolDefinition } from "./protocol/Session.js"

/**
 * A tool run by this client: the model sends JSON arguments, they are decoded with `parameters`
 * and given to `handler`; its result (or failure) goes back to the model as text.
 *
 * `A` is the decoded type of the arguments, `I` their encoded (wire) type and `R` the services the
 * handler requires (`never` when it needs none). A tool that requires services reaches a session
 * through a provider layer (`Xai.layer({ tools })`, `OpenAI.layer({ tools })`), which then requires
 * `R`, or through `provideContext` / `provideCurrentContext` (for `updateTools`).
 *
 * @since 0.1.0
 * @category models
 */
export interface FunctionTool<A = unknown, I = unknown, R = never> {
  readonly _tag: "FunctionTool"
  readonly name: string
  readonly description: string
  readonly parameters: Schema.Schema<A, I>
  /**
   * Runs the tool on decoded arguments. Its success is the value sent to the model (already encoded
   * with the tool's `success` schema, when it has one).
   */
  readonly handler: (args: A) => Effect.Effect<unknown, unknown, R>
}

/**
 * @since 0.2.0
 */
export declare namespace FunctionTool {
  /**
   * Any function tool whose handler requires at most `R` (`never` by default: a tool ready to run).
   * The arguments' types are `any` because `parameters` is invariant in them.
   *
   * @since 0.2.0
   * @category models
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export type Any<R = never> = FunctionTool<any, any, R>

}

/**
 * A tool run by the provider (xAI `web_search`, `x_search`, `file_search`, `mcp`): only its
 * definition is sent; its calls never need an output from this client.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerTool {
  readonly _tag: "ServerTool"
  /** The name the tool is known by (its type, or the MCP server label). */
  readonly name: string
  /** The wire definition (secrets such as an MCP `authorization` are unwrapped only here). */
  readonly definition: ToolDefinition
}

/**
 * Any tool; `R` is what function tools' handlers may require (`never` by default: tools ready to
 * run, as a session's tools are).
 *
 * @since 0.1.0
 * @category models
 */
export type Tool<R = never> = FunctionTool.Any<R> | ServerTool

/**
 * The services the handlers of tools of type `T` require (`never` for server tools and for tools
 * without services).
 *
 * @since 0.2.0
 * @category models
 */
export type Requirements<T> = T extends FunctionTool<infer _A, infer _I, infer R> ? R : never

/**
 * A tool that cannot be sent to the model (its parameters have no JSON Schema, its name is invalid).
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolError extends Schema.TaggedError<ToolError>()("ToolError", {
  toolName: Schema.String,
  message: Schema.String
}) {}

/**
 * Is this a function tool?
 *
 * @since 0.1.0
 * @category guards
 */
export const isFunctionTool = <R>(tool: Tool<R>): tool is FunctionTool.Any<R> => tool._tag === "FunctionTool"

/**
 * Is this a server tool?
 *
 * @since 0.1.0
 * @category guards
 */
export const isServerTool = <R>(tool: Tool<R>): tool is ServerTool => tool._tag === "ServerTool"

/**
 * Defines a function tool from a Schema of its parameters (usually a `Schema.Struct`) and a handler.
 * The tool records the services its handler requires (`R`). With a `success` schema, the handler's
 * result is encoded with it and the model receives the JSON of the encoded value (a string result
 * is sent as is); a result that does not encode fails the call like a handler failure.
 *
 * @example
 * ```ts
 * import * as Tool from "@realtime-fx/core/Tool"
 * import * as Effect from "effect/Effect"
 * import * as Schema from "effect/Schema"
 *
 * // A tool without services: its handler's R is `never`.
 * const getTime = Tool.make("get_time", {
 *   description: "The current time in a city",
 *   parameters: Schema.Struct({ city: Schema.String }),
 *   success: Schema.Struct({ city: Schema.String, time: Schema.String }),
 *   handler: ({ city }) => Effect.succeed({ city, time: "12:00" })
 * })
 *
 * // A tool whose handler uses a service: `Tool.FunctionTool<..., Weather>` until provided.
 * class Weather extends Effect.Tag("Weather")<Weather, {
 *   readonly forecast: (city: string) => Effect.Effect<string>
 * }>() {}
 *
 * const getWeather = Tool.make("get_weather", {
 *   description: "The weather in a city",
 *   parameters: Schema.Struct({ city: Schema.String }),
 *   handler: ({ city }) => Weather.forecast(city)
 * })
 *
 * // Passed to a provider layer (`Xai.layer({ tools: [getTime, getWeather] })`), the layer requires
 * // `Weather`; or the services are given to the tool itself:
 * const ready = Tool.provideContext(
 *   getWeather,
 *   Weather.context({ forecast: (city) => Effect.succeed(`sunny in ${city}`) })
 * )
 * const tools: ReadonlyArray<Tool.Tool> = [getTime, ready]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A, I, Out = unknown, OutI = unknown, E = unknown, R = never>(
  name: string,
  options: {
    readonly description: string
    readonly parameters: Schema.Schema<A, I>
    /**
     * Encodes the handler's result; the model receives the JSON of the encoded value.
     *
     * @since 0.2.0
     */
    readonly success?: Schema.Schema<Out, OutI> | undefined
    readonly handler: (args: A) => Effect.Effect<Out, E, R>
  }
): FunctionTool<A, I, R> => {
  const success = options.success
  const handler = options.handler
  return {
    _tag: "FunctionTool",
    name,
    description: options.description,
    parameters: options.parameters,
    handler: success === undefined
      ? handler
      : (args) => Effect.flatMap(handler(args), (out) => Schema.encode(success)(out))
  }
}

// Services of a captured context that must not leak into a tool run: the tool's span must stay the
// child of the response that called it, and a scope belongs to whoever opened it.
const scrubContext = <R>(context: Context.Context<R>): Context.Context<R> =>
  Context.omit(Tracer.ParentSpan, Scope.Scope)(context) as Context.Context<R>

/**
 * Gives a function tool's handler the services it requires, taken from a `Context`; other tools are
 * returned unchanged. The handler then requires only what the context does not provide.
 *
 * @since 0.2.0
 * @category context
 */
export const provideContext: {
  <R2>(context: Context.Context<R2>): <T extends Tool<unknown>>(tool: T) => Provided<T, R2>
  <T extends Tool<unknown>, R2>(tool: T, context: Context.Context<R2>): Provided<T, R2>
} = dual(2, <R2>(tool: Tool<unknown>, context: Context.Context<R2>): Tool<unknown> => {
  if (tool._tag !== "FunctionTool") return tool
  const scrubbed = scrubContext(context)
  const handler = tool.handler
  return { ...tool, handler: (args: unknown) => Effect.provide(handler(args), scrubbed) }
}) as never

/**
 * A tool with the services of `R2` provided to its handler.
 *
 * @since 0.2.0
 * @category context
 */
export type Provided<T, R2> = T extends FunctionTool<infer A, infer I, infer R> ? FunctionTool<A, I, Exclude<R, R2>>
  : T

/**
 * Gives the tools' handlers the services they require from the current context (as a Layer built
 * around this effect provides them): the result needs no services, for `updateTools` or a provider's
 * `tools`.
 *
 * @since 0.2.0
 * @category context
 */
export const provideCurrentContext = <T extends Tool<unknown>>(
  tools: ReadonlyArray<T>
): Effect.Effect<ReadonlyArray<Tool>, never, Requirements<T>> =>
  Effect.map(
    Effect.context<Requirements<T>>(),
    (context) => tools.map((tool) => provideContext(tool, context) as Tool)
  )

const serverTool = (name: string, definition: ToolDefinition): ServerTool => ({
  _tag: "ServerTool",
  name,
  definition
})

/**
 * xAI's built-in web search.
 *
 * @since 0.1.0
 * @category constructors
 */
export const webSearch = (): ServerTool => serverTool("web_search", { type: "web_search" })

/**
 * xAI's built-in X (Twitter) search, optionally restricted to handles and a date range (ISO dates).
 *
 * @since 0.1.0
 * @category constructors
 */
export const xSearch = (options: {
  readonly allowedXHandles?: ReadonlyArray<string> | undefined
  readonly excludedXHandles?: ReadonlyArray<string> | undefined
  readonly fromDate?: string | undefined
  readonly toDate?: string | undefined
} = {}): ServerTool =>
  serverTool("x_search", {
    type: "x_search",
    ...(options.allowedXHandles !== undefined ? { allowed_x_handles: options.allowedXHandles } : {}),
    ...(options.excludedXHandles !== undefined ? { excluded_x_handles: options.excludedXHandles } : {}),
    ...(options.fromDate !== undefined ? { from_date: options.fromDate } : {}),
    ...(options.toDate !== undefined ? { to_date: options.toDate } : {})
  })

/**
 * xAI's built-in search over collections (vector stores).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fileSearch = (options: {
  readonly vectorStoreIds: ReadonlyArray<string>
  readonly maxNumResults?: number | undefined
}): ServerTool =>
  serverTool("file_search", {
    type: "file_search",
    vector_store_ids: options.vectorStoreIds,
    ...(options.maxNumResults !== undefined ? { max_num_results: options.maxNumResults } : {})
  })

const unwrap = (value: string | Redacted.Redacted<string>): string =>
  Redacted.isRedacted(value) ? Redacted.value(value) : value

/**
 * A remote MCP server whose tools the provider calls. `authorization` and header values may be
 * `Redacted`: the returned tool prints and serializes them as `<redacted>`; only its `definition`
 * getter (used to build the wire message) unwraps them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mcp = (options: {
  readonly serverUrl: string
  readonly serverLabel: string
  readonly allowedTools?: ReadonlyArray<string> | undefined
  readonly authorization?: string | Redacted.Redacted<string> | undefined
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted<string>>> | undefined
}): ServerTool => {
  const base = {
    type: "mcp" as const,
    server_url: options.serverUrl,
    server_label: options.serverLabel,
    ...(options.allowedTools !== undefined ? { allowed_tools: options.allowedTools } : {})
  }
  const shown = {
    ...base,
    ...(options.authorization !== undefined ? { authorization: "<redacted>" } : {}),
    ...(options.headers !== undefined
      ? { headers: Object.fromEntries(Object.keys(options.headers).map((key) => [key, "<redacted>"])) }
      : {})
  }
  const tool = { _tag: "ServerTool" as const, name: options.serverLabel }
  Object.defineProperty(tool, "definition", {
    enumerable: false,
    get: (): ToolDefinition => ({
      ...base,
      ...(options.authorization !== undefined ? { authorization: unwrap(options.authorization) } : {}),
      ...(options.headers !== undefined
        ? {
          headers: Object.fromEntries(
            Object.entries(options.headers).map(([key, value]) => [key, unwrap(value)])
          )
        }
        : {})
    })
  })
  Object.defineProperty(tool, "toJSON", {
    enumerable: false,
    value: () => ({ _tag: "ServerTool", name: options.serverLabel, definition: shown })
  })
  Object.defineProperty(tool, "toString", {
    enumerable: false,
    value: () => JSON.stringify({ _tag: "ServerTool", name: options.serverLabel, definition: shown })
  })
  return tool as ServerTool
}

const validName = /^[A-Za-z0-9_-]{1,64}$/

const isEmptyStruct = (ast: SchemaAST.AST): boolean => {
  const encoded = SchemaAST.encodedAST(ast)
  return SchemaAST.isTypeLiteral(encoded) && encoded.propertySignatures.length === 0 &&
    encoded.indexSignatures.length === 0
}

/**
 * The JSON Schema of a Schema's encoded side (what the model must send), as a self-contained object
 * schema (`$defs` inlined into the root, no `$schema`). Fails when the Schema has no JSON Schema
 * (a declaration without a `jsonSchema` annotation) or does not describe an object.
 *
 * @since 0.1.0
 * @category encoding
 */
export const parametersJsonSchema = (
  name: string,
  parameters: Schema.Schema.Any
): Either.Either<Record<string, unknown>, ToolError> => {
  if (isEmptyStruct(parameters.ast)) {
    return Either.right({ type: "object", properties: {}, additionalProperties: false })
  }
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  let root: JSONSchema.JsonSchema7
  try {
    root = JSONSchema.fromAST(parameters.ast, { definitions, topLevelReferenceStrategy: "skip" })
  } catch (error) {
    const text = error instanceof Error ? error.message.split("\n")[0]! : "unknown reason"
    const path = error instanceof Error ? /at path: (.*)/.exec(error.message)?.[1] : undefined
    return Either.left(
      new ToolError({
        toolName: name,
        message: `parameters cannot be expressed as JSON Schema: ${text}${path !== undefined ? ` at ${path}` : ""}`
      })
    )
  }
  if (hasTupleItems(root) || Object.values(definitions).some(hasTupleItems)) {
    return Either.left(
      new ToolError({
        toolName: name,
        message: "tuple parameters (an `items` array) are rejected by realtime servers: use Schema.Array or a Struct"
      })
    )
  }
  if (!("type" in root) || root.type !== "object") {
    return Either.left(
      new ToolError({ toolName: name, message: "parameters must describe a JSON object (use Schema.Struct)" })
    )
  }
  return Either.right(
    Object.keys(definitions).length > 0 ? { ...root, $defs: definitions } : { ...root }
  )
}

/** True when a JSON Schema (at any depth) uses the draft-07 tuple form `items: [...]`. */
const hasTupleItems = (node: unknown): boolean => {
  if (Array.isArray(node)) return node.some(hasTupleItems)
  if (typeof node !== "object" || node === null) return false
  const record = node as Record<string, unknown>
  if (Array.isArray(record["items"])) return true
  return Object.values(record).some(hasTupleItems)
}

/**
 * The wire definition of a tool: the flat function shape `{type:"function",name,description,parameters}`
 * (parameters as JSON Schema) or the server tool's own definition.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toDefinition = (tool: Tool<unknown>): Either.Either<ToolDefinition, ToolError> => {
  if (tool._tag === "ServerTool") return Either.right(tool.definition)
  if (!validName.test(tool.name)) {
    return Either.left(
      new ToolError({ toolName: tool.name, message: "the name must be 1 to 64 letters, digits, '_' or '-'" })
    )
  }
  return Either.map(parametersJsonSchema(tool.name, tool.parameters), (parameters): FunctionToolDefinition => ({
    type: "function",
    name: tool.name,
    description: tool.description,
    parameters
  }))
}

/**
 * Splits tools into the ones that can be sent (with their definitions, in order) and the rejected
 * ones with a reason (no JSON Schema, invalid name, or a name already taken by an earlier tool).
 *
 * @since 0.1.0
 * @category encoding
 */
export const partition = <R = never>(tools: ReadonlyArray<Tool<R>>): {
  readonly tools: ReadonlyArray<Tool<R>>
  readonly definitions: ReadonlyArray<ToolDefinition>
  readonly rejected: ReadonlyArray<{ readonly name: string; readonly reason: string }>
} => {
  const kept: Array<Tool<R>> = []
  const definitions: Array<ToolDefinition> = []
  const rejected: Array<{ readonly name: string; readonly reason: string }> = []
  const names = new Set<string>()
  for (const tool of tools) {
    if (names.has(tool.name)) {
      rejected.push({ name: tool.name, reason: "duplicate tool name" })
      continue
    }
    const result = toDefinition(tool)
    if (Either.isLeft(result)) {
      rejected.push({ name: tool.name, reason: result.left.message })
      continue
    }
    names.add(tool.name)
    kept.push(tool)
    definitions.push(result.right)
  }
  return { tools: kept, definitions, rejected }
}

const maxOutputText = 500

const clip = (text: string): string => text.length > maxOutputText ? `${text.slice(0, maxOutputText - 1)}…` : text

const describe = (error: unknown): string => {
  if (typeof error === "string") return error
  if (Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message.length > 0) {
    return Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"
      ? `${error._tag}: ${error.message}`
      : error.message
  }
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string") return error._tag
  try {
    const json = JSON.stringify(error)
    return json === undefined ? String(error) : json
  } catch {
    return "unknown error"
  }
}

const formatIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .slice(0, 3)
    .map((issue) => issue.path.length > 0 ? `at ${issue.path.map(String).join(".")}: ${issue.message}` : issue.message)
    .join("; ")

const resultText = (value: unknown): string => {
  if (typeof value === "string") return value
  if (value === undefined) return "ok"
  try {
    const json = JSON.stringify(value)
    return json === undefined ? String(value) : json
  } catch {
    return String(value)
  }
}

/**
 * Runs a function tool on the model's JSON arguments and returns the text to send back as its
 * output. Never fails: bad JSON or arguments that do not match the Schema give a short error text
 * naming the path; a handler failure or defect gives a short error text (never a stack trace).
 * Empty arguments count as `{}`. A string result is sent as is, `undefined` as `ok`, anything else
 * as JSON.
 *
 * @since 0.1.0
 * @category execution
 */
export const execute = <A, I, R>(tool: FunctionTool<A, I, R>, argumentsJson: string): Effect.Effect<string, never, R> =>
  Effect.suspend(() => {
    let json: unknown
    try {
      json = JSON.parse(argumentsJson.trim() === "" ? "{}" : argumentsJson)
    } catch {
      return Effect.succeed(clip(`Invalid arguments for tool "${tool.name}": not valid JSON`))
    }
    let decoded: Either.Either<A, ParseResult.ParseError>
    try {
      decoded = Schema.decodeUnknownEither(tool.parameters)(json, { errors: "all" })
    } catch (error) {
      // A user's filter or transformation that throws must still give the model an output.
      return Effect.succeed(clip(`Invalid arguments for tool "${tool.name}": ${describe(error)}`))
    }
    if (Either.isLeft(decoded)) {
      return Effect.succeed(clip(`Invalid arguments for tool "${tool.name}": ${formatIssues(decoded.left)}`))
    }
    return Effect.suspend(() => tool.handler(decoded.right)).pipe(
      Effect.map(resultText),
      Effect.catchAllCause((cause) => {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure)) {
          return Effect.succeed(`Tool "${tool.name}" failed: ${describe(failure.value)}`)
        }
        const defect = Cause.dieOption(cause)
        if (Option.isSome(defect)) {
          return Effect.succeed(`Tool "${tool.name}" failed unexpectedly: ${describe(defect.value)}`)
        }
        return Effect.succeed(`Tool "${tool.name}" was interrupted`)
      }),
      Effect.map(clip)
    )
  })

/**
 * Names under which xAI's built-in server tools may surface as function calls.
 *
 * @since 0.1.0
 * @category execution
 */
export const builtInServerToolNames: ReadonlySet<string> = new Set([
  "web_search",
  "web_search_with_snippets",
  "browse_page",
  "x_search",
  "x_keyword_search",
  "x_semantic_search",
  "x_user_search",
  "x_thread_fetch",
  "file_search",
  "collections_search"
])

const isListed = (names: unknown, name: string): boolean => Array.isArray(names) && names.includes(name)

/**
 * True for a function name that belongs to the server side: one of `builtIns` (a provider's built-in
 * server tools), the name of a configured server tool, a name allowed by a configured MCP server, or
 * any name when an MCP server has no allow-list.
 *
 * @since 0.2.0
 * @category execution
 */
export const isServerSideName = <R>(
  tools: ReadonlyArray<Tool<R>>,
  name: string,
  builtIns: ReadonlySet<string> = builtInServerToolNames
): boolean => {
  if (builtIns.has(name)) return true
  for (const tool of tools) {
    if (tool._tag !== "ServerTool") continue
    if (tool.name === name) return true
    const definition = tool.definition
    if (definition.type === "mcp") {
      // Without an allow-list an MCP server may expose any name: it could be one of them.
      const allowed = definition.allowed_tools
      if (allowed === undefined || allowed === null) return true
      if (Array.isArray(allowed) ? allowed.includes(name) : !("tool_names" in allowed) || isListed(allowed.tool_names, name)) {
        return true
      }
    }
  }
  return false
}

/**
 * Handles one function call from the model. The rule:
 * - a configured function tool of that name runs (see `execute`) → `Some(output)`;
 * - a name that belongs to the server side (xAI built-in tool names, the name of a configured server
 *   tool, a name allowed by a configured MCP server, or any name when an MCP server has no
 *   allow-list) → `None`: the server runs it, the client must not answer;
 * - any other unknown name → `Some(error text)`, so the model never waits for an output.
 *
 * @since 0.1.0
 * @category execution
 */
export const executeCall = <R = never>(
  tools: ReadonlyArray<Tool<R>>,
  call: { readonly name: string; readonly arguments: string },
  builtIns: ReadonlySet<string> = builtInServerToolNames
): Effect.Effect<Option.Option<string>, never, R> => {
  const tool = tools.find((candidate): candidate is FunctionTool.Any<R> =>
    candidate._tag === "FunctionTool" && candidate.name === call.name
  )
  if (tool !== undefined) return Effect.map(execute(tool, call.arguments), Option.some)
  if (isServerSideName(tools, call.name, builtIns)) return Effect.succeed(Option.none())
  return Effect.succeed(Option.some(clip(`Unknown tool "${call.name}": no such tool is available`)))
}
