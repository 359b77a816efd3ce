/**
 * Machinery shared by the providers: `session` objects in the xAI, GA and beta shapes, credential
 * checks and option validation.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { ConfigurationError } from "../Errors.js"
import type { RealtimeModelOptions, UpdatableOptions } from "../RealtimeModel.js"
import type { AudioFormat, SessionConfig } from "../protocol/Session.js"
import * as Tool from "../Tool.js"
import * as Redact from "./redact.js"
import * as Url from "./url.js"

/** @internal */
export type Shape = "xai" | "ga" | "beta"

/** @internal */
export const pcm24k: AudioFormat = { type: "audio/pcm", rate: 24000 }

type Mutable<T> = { -readonly [K in keyof T]?: T[K] }

const outputModalities = (modalities: ReadonlyArray<"text" | "audio">): ReadonlyArray<"text" | "audio"> =>
  modalities.includes("audio") ? ["audio"] : ["text"]

const nonEmpty = <T extends object>(value: T): T | undefined => Object.keys(value).length > 0 ? value : undefined

/**
 * The `session` object of a `session.update` for the given options: only the fields that are not
 * `undefined` appear (`null` turn detection, transcription and noise reduction are sent as `null`,
 * except in the xAI shape, which only receives `null` turn detection). The audio formats (PCM16 24 kHz)
 * accompany `modalities`: the session's first update carries them, later partial updates do not.
 *
 * - `xai`: `voice`, `turn_detection` and `reasoning` top-level; `audio.input.{format,transcription,noise_reduction}`,
 *   `audio.output.{format,speed}`.
 * - `ga`: `type: "realtime"`, everything audio nested under `audio.input` / `audio.output`.
 * - `beta`: the preview shape (top-level `modalities`, `voice`, `input_audio_format: "pcm16"`, ...).
 *
 * @internal
 */
export const sessionConfig = (shape: Shape, options: Partial<RealtimeModelOptions>): SessionConfig => {
  const session: Mutable<SessionConfig> = {}
  if (shape === "ga") session.type = "realtime"
  if (options.model !== undefined) session.model = options.model
  if (options.instructions !== undefined) session.instructions = options.instructions
  if (shape === "beta") {
    if (options.modalities !== undefined) {
      session.modalities = options.modalities.includes("audio") ? ["text", "audio"] : ["text"]
      session.input_audio_format = "pcm16"
      session.output_audio_format = "pcm16"
    }
    if (options.voice !== undefined) session.voice = options.voice
    if (options.turnDetection !== undefined) session.turn_detection = options.turnDetection
    if (options.inputAudioTranscription !== undefined) {
      session.input_audio_transcription = options.inputAudioTranscription
    }
    if (options.inputAudioNoiseReduction !== undefined) {
      session.input_audio_noise_reduction = options.inputAudioNoiseReduction
    }
    if (options.speed !== undefined) session.speed = options.speed
    if (options.maxOutputTokens !== undefined) session.max_response_output_tokens = options.maxOutputTokens
  } else {
    if (options.modalities !== undefined) session.output_modalities = outputModalities(options.modalities)
    const input: Mutable<NonNullable<NonNullable<SessionConfig["audio"]>["input"]>> = {}
    const output: Mutable<NonNullable<NonNullable<SessionConfig["audio"]>["output"]>> = {}
    if (options.modalities !== undefined) {
      input.format = pcm24k
      output.format = pcm24k
    }
    if (shape === "xai") {
      if (options.voice !== undefined) session.voice = options.voice
      if (options.turnDetection !== undefined) session.turn_detection = options.turnDetection
      if (options.reasoning !== undefined) session.reasoning = options.reasoning
      if (options.inputAudioTranscription != null) input.transcription = options.inputAudioTranscription
      if (options.inputAudioNoiseReduction != null) input.noise_reduction = options.inputAudioNoiseReduction
    } else {
      if (options.voice !== undefined) output.voice = options.voice
      if (options.turnDetection !== undefined) input.turn_detection = options.turnDetection
      if (options.inputAudioTranscription !== undefined) input.transcription = options.inputAudioTranscription
      if (options.inputAudioNoiseReduction !== undefined) input.noise_reduction = options.inputAudioNoiseReduction
    }
    if (options.speed !== undefined) output.speed = options.speed
    const audio = nonEmpty({
      ...(nonEmpty(input) !== undefined ? { input } : {}),
      ...(nonEmpty(output) !== undefined ? { output } : {})
    })
    if (audio !== undefined) session.audio = audio
    if (options.maxOutputTokens !== undefined) session.max_output_tokens = options.maxOutputTokens
  }
  if (options.toolChoice !== undefined) session.tool_choice = options.toolChoice
  if (options.tracing !== undefined) session.tracing = options.tracing
  return session as SessionConfig
}

/**
 * A secret option checked: `undefined` or a blank `Redacted` give `undefined`, a non-blank
 * `Redacted<string>` is returned. Anything else (a plain string from JavaScript, a `Redacted` of a
 * non-string) is a `ConfigurationError` naming the option, never quoting the value.
 *
 * @internal
 */
export const checkSecret = (
  name: string,
  secret: unknown
): Either.Either<Redacted.Redacted<string> | undefined, ConfigurationError> => {
  if (secret === undefined) return Either.right(undefined)
  if (!Redacted.isRedacted(secret)) {
    return Either.left(configError(
      typeof secret === "string"
        ? `\`${name}\` is a plain string: pass the key as Redacted.make(...) (or read it with Config.redacted) so that it never shows in logs`
        : `\`${name}\` must be a Redacted string (Redacted.make(...)), got ${secret === null ? "null" : typeof secret}`
    ))
  }
  const value: unknown = Redacted.value(secret)
  if (typeof value !== "string") {
    return Either.left(configError(`\`${name}\` must be a Redacted string, got a Redacted ${value === null ? "null" : typeof value}`))
  }
  return Either.right(value.trim().length > 0 ? secret as Redacted.Redacted<string> : undefined)
}

/** @internal */
export const bearer = (secret: Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.make(`Bearer ${Redacted.value(secret)}`)

/** @internal */
export const configError = (message: string): ConfigurationError => new ConfigurationError({ message })

/** @internal */
export const fromUrlEither = (result: Either.Either<string, string>): Either.Either<string, ConfigurationError> =>
  Either.mapLeft(result, (message) => configError(`Invalid realtime URL: ${message}`))

/**
 * Refuses a realtime URL that would carry a credential in cleartext (`ws:` / `http:`) to a host
 * that is not loopback, unless the caller set `allowInsecure`. The message names the fix and
 * never quotes the URL.
 *
 * @internal
 */
export const checkTransport = (
  url: string,
  allowInsecure: boolean | undefined
): Either.Either<void, ConfigurationError> =>
  allowInsecure === true || !Url.isCleartextRemote(url)
    ? Either.void
    : Either.left(configError(
      "refusing to send the credential over cleartext ws:// or http:// to a host that is not loopback: " +
        "use wss:// (https://), or set `allowInsecure: true` if the network is trusted"
    ))

/**
 * The provider's `scrub`: removes the given credentials (absent ones skipped) and the MCP tools'
 * authorizations and header values from a text that came from the server.
 *
 * @internal
 */
export const scrubber = (
  credentials: ReadonlyArray<Redacted.Redacted<string> | undefined>,
  tools: ReadonlyArray<Tool.Tool>
): (text: string) => string =>
  Redact.makeScrubber([
    ...credentials.flatMap((secret) => secret !== undefined ? [Redacted.value(secret)] : []),
    ...Redact.toolSecrets(tools)
  ])

/**
 * Checks a number option against a range.
 *
 * @internal
 */
export const checkRange = (
  name: string,
  value: number | undefined,
  min: number,
  max: number
): Either.Either<void, ConfigurationError> =>
  value === undefined || (Number.isFinite(value) && value >= min && value <= max)
    ? Either.void
    : Either.left(configError(`${name} must be between ${min} and ${max}, got ${value}`))

const updatableKeys: ReadonlySet<string> = new Set([
  "voice",
  "instructions",
  "modalities",
  "turnDetection",
  "inputAudioTranscription",
  "inputAudioNoiseReduction",
  "speed",
  "reasoning",
  "toolChoice",
  "maxOutputTokens",
  "tracing"
])

/**
 * Checks the options given to `updateOptions`: a key that cannot change mid-session (the model is in
 * the URL; credentials and connection options belong to the connection) is refused by name, the
 * speed is range-checked, the voice normalised; `undefined` values are left out.
 *
 * @internal
 */
export const resolveUpdate = (
  options: UpdatableOptions,
  rules: {
    readonly speed: readonly [number, number]
    readonly normalizeVoice: (voice: string) => string
    readonly reasoning: boolean
  }
): Either.Either<Partial<RealtimeModelOptions>, ConfigurationError> => {
  if (typeof options !== "object" || options === null) {
    return Either.left(configError("updateOptions takes an object of options"))
  }
  const refused = Object.keys(options).filter((key) => !updatableKeys.has(key))
  if (refused.length > 0) {
    const names = refused.slice(0, 5).map((k) => `\`${k.slice(0, 40)}\``).join(", ")
    return Either.left(configError(`${names} cannot change mid-session: open a new session with the new value`))
  }
  if (!rules.reasoning && options.reasoning !== undefined) {
    return Either.left(configError("`reasoning` is not an option of this provider"))
  }
  const speed = checkRange("speed", options.speed, rules.speed[0], rules.speed[1])
  if (Either.isLeft(speed)) return Either.left(speed.left)
  if (options.voice !== undefined && (typeof options.voice !== "string" || options.voice.trim() === "")) {
    return Either.left(configError("voice must be a non-empty string"))
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) out[key] = key === "voice" ? rules.normalizeVoice(value as string) : value
  }
  return Either.right(out as Partial<RealtimeModelOptions>)
}

type IsPlainObject<A> = [A] extends [object] ? [keyof A] extends [never] ? false
  : [keyof A] extends [string] ? true
  : false
  : false

/**
 * Options in which every value may be given as is or as a `Config` (a superset of
 * `Config.Config.Wrap<A>`): a whole `Config<A>`, or an object whose fields are, recursively, plain
 * values, nested objects of the same kind or `Config`s.
 *
 * @internal
 */
export type ConfigWrap<A> =
  | Config.Config<A>
  | ([NonNullable<A>] extends [infer T] ? [IsPlainObject<T>] extends [true] ? { readonly [K in keyof A]: ConfigWrap<A[K]> }
    : A
    : A)

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * The `Config` of options given as a `ConfigWrap`: a `Config` is used as is, a plain object is
 * unwrapped field by field (as `Config.unwrap` does), any other value is a constant
 * (`Config.succeed`).
 *
 * @internal
 */
export const unwrapConfig = <A>(wrapped: ConfigWrap<A>): Config.Config<A> => unwrapAny(wrapped) as Config.Config<A>

const unwrapAny = (wrapped: unknown): Config.Config<unknown> => {
  if (Config.isConfig(wrapped)) return wrapped
  if (isPlainObject(wrapped)) {
    // `Config.all` of an empty record does not load: an empty object is a constant.
    if (Object.keys(wrapped).length === 0) return Config.succeed({})
    return Config.all(Object.fromEntries(Object.entries(wrapped).map(([key, value]) => [key, unwrapAny(value)])))
  }
  return Config.succeed(wrapped)
}

// The part of a `ConfigError` message that may quote the value read (`... but received <value>`,
// Schema's `actual <value>`) is dropped: the value may be a secret read under the wrong name.
const safeMessage = (message: string): string =>
  Redact.capString(message.replace(/[,;]?\s*(?:but received|received|actual|got)\b[\s\S]*$/i, "").trim(), 120)

const describeConfigError = (error: ConfigError.ConfigError): ReadonlyArray<string> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...describeConfigError(error.left), ...describeConfigError(error.right)]
    case "MissingData":
      return [`${error.path.join(".") || "a value"} is missing`]
    case "InvalidData": {
      const detail = safeMessage(error.message)
      return [`${error.path.join(".") || "a value"} is invalid${detail !== "" ? ` (${detail})` : ""}`]
    }
    case "SourceUnavailable":
      return [`${error.path.join(".") || "the configuration"} could not be read`]
    case "Unsupported":
      return [`${error.path.join(".") || "a value"} is not supported by the configuration provider`]
  }
}

/**
 * Loads a `Config`; a `ConfigError` becomes a `ConfigurationError` naming the variables (missing or
 * invalid), never quoting a value.
 *
 * @internal
 */
export const loadConfig = <A>(
  config: Config.Config<A>,
  what: string
): Effect.Effect<A, ConfigurationError> =>
  Effect.mapError(config, (error) => {
    const details = [...new Set(describeConfigError(error))]
    return configError(`${what} configuration: ${details.slice(0, 5).join("; ")}${details.length > 5 ? "; ..." : ""}`)
  })

/**
 * A provider's options whose tools are of type `T`, so that the services required by tools of
 * different types add up (`Tool.Requirements<T>`).
 *
 * @internal
 */
export type OptionsWithTools<O, T extends Tool.Tool<unknown>> = Omit<O, "tools"> & {
  readonly tools?: ReadonlyArray<T> | undefined
}

/**
 * A provider's options for `layerConfig`: every option a plain value or a `Config`, tools of type `T`.
 *
 * @internal
 */
export type ConfigOptionsWithTools<O, T extends Tool.Tool<unknown>> =
  & ConfigWrap<Omit<O, "tools">>
  & {
    readonly tools?:
      | ReadonlyArray<T>
      | Config.Config<ReadonlyArray<T> | undefined>
      | undefined
  }

/**
 * Loads a provider's `layerConfig` options (`unwrapConfig`, then `loadConfig`): every `Config` among
 * them read, tools of type `T`.
 *
 * @internal
 */
export const loadOptions = <O, T extends Tool.Tool<unknown>>(
  options: ConfigOptionsWithTools<O, T>,
  what: string
): Effect.Effect<OptionsWithTools<O, T>, ConfigurationError> =>
  loadConfig(unwrapConfig<OptionsWithTools<O, T>>(options as ConfigWrap<OptionsWithTools<O, T>>), what)

/**
 * Builds a provider's service with its tools given the services they require, taken from the
 * context the effect runs in.
 *
 * @internal
 */
export const withToolServices = <O extends { readonly tools?: ReadonlyArray<Tool.Tool> | undefined }, T extends Tool.Tool<unknown>, A>(
  options: OptionsWithTools<O, T>,
  build: (options: O) => Effect.Effect<A, ConfigurationError>
): Effect.Effect<A, ConfigurationError, Tool.Requirements<T>> =>
  Effect.flatMap(
    options.tools === undefined ? Effect.succeed(undefined) : Tool.provideCurrentContext(options.tools),
    (tools) => build({ ...options, tools } as unknown as O)
  )
