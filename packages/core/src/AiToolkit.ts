/**
 * Adapter that turns an `@effect/ai` Toolkit (and its handlers) into realtime-fx function tools.
 *
 * Import it as `@realtime-fx/core/AiToolkit`: it is not re-exported from the package root, so that
 * `@effect/ai` stays an optional peer dependency.
 *
 * @since 0.1.0
 */
import type * as AiTool from "@effect/ai/Tool"
import type * as AiToolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as Tool from "./Tool.js"

/**
 * An `@effect/ai` tool that has no realtime-fx counterpart, with the reason.
 *
 * @since 0.1.0
 * @category models
 */
export interface Unsupported {
  readonly name: string
  readonly reason: string
}

/**
 * Everything the handlers of a toolkit need to run: the handlers themselves (the Layer made by
 * `toolkit.toLayer(...)`) and the requirements of each tool (its schemas and its dependencies).
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements<Tools extends Record<string, AiTool.Any>> =
  | AiTool.HandlersFor<Tools>
  | { readonly [Name in keyof Tools]: AiTool.Requirements<Tools[Name]> }[keyof Tools]

// The structural part of `Toolkit.WithHandler` this adapter uses, with its requirements provided.
type Handle = (
  name: string,
  params: unknown
) => Effect.Effect<{ readonly isFailure: boolean; readonly result: unknown; readonly encodedResult: unknown }, unknown>

// Provider-defined tools carry this key (`ProviderDefinedTypeId` of @effect/ai/Tool); checked by
// value so that this module imports nothing from @effect/ai at run time.
const providerDefinedTypeId = "~@effect/ai/Tool/ProviderDefined"

const isProviderDefined = (tool: AiTool.Any): boolean => providerDefinedTypeId in tool

// `Tool.EmptyParams` (a record of `never`): a tool without parameters. The model is shown an empty
// object instead.
const isEmptyParams = (ast: SchemaAST.AST): boolean =>
  SchemaAST.isTypeLiteral(ast) && ast.propertySignatures.length === 0 && ast.indexSignatures.length === 1 &&
  SchemaAST.isStringKeyword(ast.indexSignatures[0]!.parameter) && SchemaAST.isNeverKeyword(ast.indexSignatures[0]!.type)

const NoParameters = Schema.Struct({})

const descriptionOf = (tool: AiTool.Any): string => {
  if (tool.description !== undefined) return tool.description
  const ast = tool.parametersSchema.ast
  const annotations = SchemaAST.isTransformation(ast) ? { ...ast.to.annotations, ...ast.annotations } : ast.annotations
  const description = annotations[SchemaAST.DescriptionAnnotationId]
  return typeof description === "string" ? description : ""
}

/**
 * The tools of a toolkit that `fromToolkit` leaves out: provider-defined tools (such as an OpenAI
 * hosted web search) are run by another provider's API and cannot be sent to a realtime session.
 *
 * @since 0.1.0
 * @category utils
 */
export const unsupported = (toolkit: AiToolkit.Any): ReadonlyArray<Unsupported> =>
  Object.values(toolkit.tools)
    .filter(isProviderDefined)
    .map((tool) => ({ name: tool.name, reason: "provider-defined tools run on their own provider and are skipped" }))

const toFunctionTool = (tool: AiTool.Any, handle: Handle): Tool.FunctionTool<unknown, unknown> => {
  // A Struct schema may carry requirements in @effect/ai; the realtime-fx tool decodes synchronously.
  const original = tool.parametersSchema as unknown as Schema.Schema<unknown, unknown>
  const parameters = isEmptyParams(original.ast) ? NoParameters as Schema.Schema<unknown, unknown> : original
  // `handle` decodes its parameters itself: give it back the encoded (wire) form of what realtime-fx
  // decoded, so that transforming schemas (dates, numbers from strings, ...) decode exactly once each way.
  const encode = Schema.encode(original)
  return Tool.make(tool.name, {
    description: descriptionOf(tool),
    parameters,
    handler: (args) =>
      encode(args).pipe(
        Effect.flatMap((encoded) => handle(tool.name, encoded)),
        Effect.flatMap(({ encodedResult, isFailure, result }) =>
          isFailure ? Effect.fail(result) : Effect.succeed(encodedResult)
        )
      )
  })
}

/**
 * Turns the tools of an `@effect/ai` toolkit into realtime-fx function tools, in the toolkit's order.
 * Each keeps its name, description (or its parameters' description annotation) and parameters
 * Schema (a tool without parameters becomes an empty object); its handler runs the toolkit's handler
 * in the context captured here, and returns the encoded success value (what the model gets as JSON).
 * A failure of the handler (in either `failureMode`) fails the realtime-fx handler with the decoded
 * failure, which `Tool.execute` turns into an error text for the model.
 *
 * Provider-defined tools are skipped: `unsupported(toolkit)` lists them.
 *
 * @example
 * ```ts
 * import * as AiToolkit from "@realtime-fx/core/AiToolkit"
 * import * as Xai from "@realtime-fx/core/Xai"
 * import * as AiTool from "@effect/ai/Tool"
 * import * as Toolkit from "@effect/ai/Toolkit"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as Schema from "effect/Schema"
 *
 * const GetWeather = AiTool.make("get_weather", {
 *   description: "The weather in a city",
 *   parameters: { city: Schema.String },
 *   success: Schema.String
 * })
 * const MyToolkit = Toolkit.make(GetWeather)
 * const MyToolkitLive = MyToolkit.toLayer({ get_weather: ({ city }) => Effect.succeed(`sunny in ${city}`) })
 *
 * // The toolkit's tools, their handlers provided, as the xAI layer's tools.
 * const ModelLive = Layer.unwrapEffect(
 *   AiToolkit.fromToolkit(MyToolkit).pipe(Effect.map((tools) => Xai.layerConfig({ tools })))
 * ).pipe(Layer.provide(MyToolkitLive))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromToolkit = <Tools extends Record<string, AiTool.Any>>(
  toolkit: AiToolkit.Toolkit<Tools>
): Effect.Effect<ReadonlyArray<Tool.FunctionTool>, never, Requirements<Tools>> =>
  Effect.gen(function*() {
    const withHandler = yield* toolkit
    const context = yield* Effect.context<Requirements<Tools>>()
    const run = withHandler.handle as unknown as (
      name: string,
      params: unknown
    ) => Effect.Effect<Effect.Effect.Success<ReturnType<Handle>>, unknown, Requirements<Tools>>
    const handle: Handle = (name, params) => Effect.provide(run(name, params), context)
    return Object.values(withHandler.tools)
      .filter((tool) => !isProviderDefined(tool))
      .map((tool) => toFunctionTool(tool, handle))
  })

