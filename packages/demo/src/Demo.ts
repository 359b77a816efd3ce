/**
 * The demo program (`npm run demo`): a spoken WAV streamed into a realtime session (an embedded
 * fake xAI server by default, the real xAI API with `XAI_API_KEY` or `--live`), live progress,
 * a metrics table and the reply written to a WAV file.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import type * as ValidationError from "@effect/cli/ValidationError"
import type * as CliApp from "@effect/cli/CliApp"
import * as AudioFrame from "@realtime-fx/core/AudioFrame"
import type * as Generation from "@realtime-fx/core/Generation"
import { Resampler } from "@realtime-fx/core/Resampler"
import * as Tool from "@realtime-fx/core/Tool"
import * as Xai from "@realtime-fx/core/Xai"
import * as FakeServer from "@realtime-fx/test-kit/FakeServer"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as DemoAudio from "./internal/demoAudio.js"
import * as Converse from "./internal/demoConverse.js"
import * as InternalError from "./internal/demoError.js"
import * as DemoFiles from "./internal/demoFiles.js"
import * as Format from "./internal/demoFormat.js"
import * as DemoOptions from "./internal/demoOptions.js"
import * as DemoOutput from "./internal/demoOutput.js"
import * as Turn from "./internal/demoTurn.js"
import { version } from "./version.js"
import * as NodeTransport from "@realtime-fx/node/NodeTransport"
import * as Wav from "@realtime-fx/node/Wav"

/**
 * Where the demo writes: `line` prints a finished line, `live` shows a line still growing (a
 * transcript as it arrives; a terminal redraws it in place, other sinks may ignore it), `error`
 * prints the one-line failure message.
 *
 * @since 0.1.0
 * @category models
 */
export interface Output {
  readonly line: (text: string) => Effect.Effect<void>
  readonly live: (text: string) => Effect.Effect<void>
  readonly error: (text: string) => Effect.Effect<void>
}

/**
 * The process's stdout/stderr (live lines redrawn in place when stdout is a terminal).
 *
 * @since 0.1.0
 * @category constructors
 */
export const terminalOutput = (): Output => DemoOutput.terminal(process.stdout, process.stderr)

/**
 * Why the demo failed, in one line meant for the user (no stack trace).
 *
 * @since 0.1.0
 * @category errors
 */
export const DemoError = InternalError.DemoError

/**
 * @since 0.1.0
 * @category errors
 */
export type DemoError = InternalError.DemoError

/**
 * The bundled spoken question (16 kHz mono, so the session's resampler is exercised).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultInput: string = fileURLToPath(new URL("../assets/weather-question.wav", import.meta.url))

/**
 * What the embedded fake server "hears" for every user turn (it cannot transcribe): the bundled question.
 *
 * @since 0.1.0
 * @category constants
 */
export const fakeTranscript = "Hello! What is the weather like in Paris today?"

/**
 * The system instructions of a run without `--instructions`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultInstructions =
  "You are a friendly voice assistant. For weather questions call the get_weather tool, then answer in one or two short sentences."

/**
 * Options of one run.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** The spoken input (any WAV the Wav module reads). Default: the bundled question. */
  readonly input?: string | undefined
  /**
   * Where the reply audio goes (24 kHz mono WAV). Checked before anything is sent: missing parent
   * directories are created, the directory must be writable and `out` must not be a directory.
   * Default `out/reply.wav`.
   */
  readonly out?: string | undefined
  /** `"fake"` (default): an embedded loopback fake server; `"live"`: the real xAI API (`XAI_API_KEY`). */
  readonly server?: "fake" | "live" | undefined
  /** `"realtime"` (default) paces the 10 ms input frames at real time; `"fast"` sends them at once. */
  readonly pacing?: "realtime" | "fast" | undefined
  readonly voice?: string | undefined
  readonly instructions?: string | undefined
  readonly model?: string | undefined
  /** Live mode: another endpoint than `wss://api.x.ai/v1/realtime` (a gateway, or a separately run fake server). */
  readonly baseUrl?: string | undefined
  /** The bound of the whole run, from reading the input to writing the reply (default 60 seconds). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Silence appended after the input so that server VAD ends the turn (default 1000 ms). */
  readonly silenceMs?: number | undefined
  /** Once connected and all input is sent, how long to wait for speech before failing (default 5 s). */
  readonly noSpeechTimeout?: Duration.DurationInput | undefined
}

/**
 * What a successful run produced.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  /** The absolute path of the reply WAV. */
  readonly out: string
  readonly replyAudioMs: number
  readonly replyTranscript: string
  readonly inputTranscript: string | undefined
  readonly toolCalls: ReadonlyArray<{ readonly name: string; readonly arguments: string; readonly output: string }>
  readonly metrics: ReadonlyArray<Generation.GenerationMetrics>
}

const FRAME_MS = 10
const FAKE_KEY = "demo-fake-key"

/**
 * The demo tool: a canned forecast for any city.
 *
 * @since 0.1.0
 * @category tools
 */
export const getWeather = Tool.make("get_weather", {
  description: "Get today's weather forecast for a city.",
  parameters: Schema.Struct({ city: Schema.String }),
  handler: ({ city }) =>
    Effect.succeed({ city, forecast: "sunny with a few clouds", temperature_c: 21, wind_kmh: 12 })
})

const modelLayer = (options: RunOptions, fakeUrl: string | undefined) => {
  const common: Xai.Options = {
    model: options.model,
    voice: options.voice,
    instructions: options.instructions ?? defaultInstructions,
    // 500 ms of silence ends a turn: the bundled question pauses ~0.4 s after "Hello!".
    turnDetection: { ...Xai.defaultTurnDetection, silence_duration_ms: 500 },
    tools: [getWeather]
  }
  return fakeUrl !== undefined
    ? Xai.layer({ ...common, baseUrl: fakeUrl, apiKey: Redacted.make(FAKE_KEY) })
    : Xai.layerConfig({ ...common, baseUrl: options.baseUrl })
}

/**
 * Checks, before anything is sent, that the reply can be written to `out`: creates its missing
 * parent directories, then requires the directory to be writable and `out` not to be a directory
 * (nor, when it exists, read-only).
 *
 * @since 0.2.0
 * @category running
 */
export const checkOut = (out: string): Effect.Effect<void, DemoError> => DemoFiles.checkOut(out)

/** Where a run is, for the timeout message. */
type Phase =
  | { readonly _tag: "Preparing" }
  | { readonly _tag: "Conversing" }
  | { readonly _tag: "Writing"; readonly path: string }

/**
 * Runs the demo once: checks `out`, reads the input, starts the embedded fake server (unless
 * `server: "live"`), holds one conversation turn with the `get_weather` tool, prints progress and
 * a metrics table to `output`, and writes the reply audio, all within `timeout`. Every failure is
 * a `DemoError` with a one-line message.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (options: RunOptions, output: Output): Effect.Effect<Report, DemoError> =>
  Effect.gen(function*() {
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(60))
    const phase = yield* Ref.make<Phase>({ _tag: "Preparing" })
    const state = yield* Ref.make(Turn.initial)
    const waitingFor = Effect.gen(function*() {
      const current = yield* Ref.get(phase)
      switch (current._tag) {
        case "Preparing":
          return "the input was still being read or the server started"
        case "Conversing":
          return Turn.waitingFor(yield* Ref.get(state))
        case "Writing":
          return `the reply was still being written to ${current.path}`
      }
    })
    return yield* runWithin(options, output, phase, state).pipe(
      Effect.timeout(timeout),
      Effect.catchTag("TimeoutException", () =>
        Effect.flatMap(waitingFor, (what) =>
          Effect.fail(new DemoError({ message: `timed out after ${Duration.format(timeout)}: ${what}` }))))
    )
  })

const runWithin = (
  options: RunOptions,
  output: Output,
  phase: Ref.Ref<Phase>,
  state: Ref.Ref<Turn.TurnState>
): Effect.Effect<Report, DemoError> =>
  Effect.gen(function*() {
    const input = options.input ?? defaultInput
    const out = Path.resolve(options.out ?? Path.join("out", "reply.wav"))
    const server = options.server ?? "fake"
    const pacing = options.pacing ?? "realtime"
    const startMs = yield* Clock.currentTimeMillis

    yield* checkOut(out)
    const audio = yield* Wav.read(input).pipe(
      Effect.mapError((e) => new DemoError({ message: `cannot read the input WAV: ${e.message}` }))
    )
    yield* output.line(
      `input   ${input}: ${audio.sampleRate} Hz, ${audio.channels === 1 ? "mono" : `${audio.channels} channels`}, ` +
        `${(AudioFrame.durationMs(audio) / 1000).toFixed(2)} s (resampled to 24 kHz mono by the session)`
    )

    const collected: Converse.Collected = { frames: [], metrics: [], toolCalls: [], replyTranscript: "", inputTranscript: undefined }
    const frames = DemoAudio.frames(audio, FRAME_MS, options.silenceMs ?? 1000)

    const conversation = Effect.gen(function*() {
      let fakeUrl: string | undefined
      if (server === "fake") {
        const fake = yield* FakeServer.make({
          pacing,
          transcript: fakeTranscript,
          requireAuth: FAKE_KEY,
          toolCall: { name: getWeather.name, trigger: "weather", arguments: { city: "Paris" } }
        }).pipe(Effect.mapError((e) => new DemoError({ message: `cannot start the fake server: ${e.message}` })))
        fakeUrl = fake.url
        yield* output.line(`server  embedded fake xAI server at ${fake.url} (it hears ${JSON.stringify(fakeTranscript)})`)
      } else {
        yield* output.line(
          `server  xAI realtime API at ${options.baseUrl ?? Xai.defaultBaseUrl}, model ${options.model ?? Xai.defaultModel}`
        )
      }
      yield* output.line(`pacing  ${pacing === "fast" ? "fast (input sent at once)" : "real time (10 ms frames)"}`)
      const layer = Layer.mergeAll(modelLayer(options, fakeUrl), NodeTransport.layer, Resampler.layer)
      yield* Ref.set(phase, { _tag: "Conversing" })
      const converseOptions: Converse.ConverseOptions = {
        endpoint: fakeUrl ?? options.baseUrl ?? Xai.defaultBaseUrl,
        pacing,
        frameMs: FRAME_MS,
        noSpeechTimeout: options.noSpeechTimeout ?? Duration.seconds(5),
        startMs
      }
      yield* Effect.scoped(Converse.converse(converseOptions, output, frames, state, collected)).pipe(
        Effect.provide(layer),
        Effect.catchTag("ConfigurationError", (e) => Effect.fail(new DemoError({ message: e.message })))
      )
    })
    yield* Effect.scoped(conversation)

    if (collected.metrics.length > 0) {
      yield* output.line("")
      yield* output.line("metrics")
      for (const row of Format.metricsTable(collected.metrics)) yield* output.line(`  ${row}`)
    }

    const replyAudioMs = collected.frames.reduce((ms, frame) => ms + AudioFrame.durationMs(frame), 0)
    yield* Ref.set(phase, { _tag: "Writing", path: out })
    yield* Stream.run(Stream.fromIterable(collected.frames), Wav.sink(out)).pipe(
      Effect.mapError((e) => new DemoError({ message: `cannot write the reply: ${e.message}` }))
    )
    yield* output.line("")
    yield* output.line(`reply   ${(replyAudioMs / 1000).toFixed(2)} s of audio written to ${out}`)
    return {
      out,
      replyAudioMs,
      replyTranscript: collected.replyTranscript,
      inputTranscript: collected.inputTranscript,
      toolCalls: collected.toolCalls,
      metrics: collected.metrics
    }
  })

/**
 * Chooses the server: `--fake` forces the embedded one, `--live` the real API, otherwise the real
 * API exactly when an xAI key is available.
 *
 * @since 0.1.0
 * @category running
 */
export const chooseServer = (flags: {
  readonly live: boolean
  readonly fake: boolean
  readonly hasKey: boolean
}): Effect.Effect<"fake" | "live", DemoError> =>
  flags.live && flags.fake
    ? Effect.fail(new DemoError({ message: "--live and --fake cannot be used together" }))
    : Effect.succeed(flags.fake ? "fake" : flags.live || flags.hasKey ? "live" : "fake")

/**
 * The `demo` command (@effect/cli), printing to `output`. Every option's description says what it
 * does and its default (`--help`).
 *
 * @since 0.1.0
 * @category cli
 */
export const command = (output: Output) =>
  Command.make(
    "demo",
    DemoOptions.options,
    (args) =>
      Effect.gen(function*() {
        const key = yield* Effect.orElseSucceed(Config.option(Config.nonEmptyString("XAI_API_KEY")), () => Option.none())
        const server = yield* chooseServer({ live: args.live, fake: args.fake, hasKey: Option.isSome(key) })
        if (args.fast && args.realtime) return yield* new DemoError({ message: "--fast and --realtime cannot be used together" })
        if (server === "fake" && Option.isSome(args.baseUrl)) {
          return yield* new DemoError({ message: "--base-url applies to live runs: add --live (and set XAI_API_KEY)" })
        }
        if (args.timeout <= 0) return yield* new DemoError({ message: "--timeout must be a positive number of seconds" })
        yield* run(
          {
            input: Option.getOrUndefined(args.input),
            out: args.out,
            server,
            pacing: args.fast ? "fast" : "realtime",
            voice: Option.getOrUndefined(args.voice),
            instructions: Option.getOrUndefined(args.instructions),
            model: Option.getOrUndefined(args.model),
            baseUrl: Option.getOrUndefined(args.baseUrl),
            timeout: Duration.seconds(args.timeout)
          },
          output
        )
      })
  ).pipe(
    Command.withDescription(
      "Talk to a realtime speech-to-speech model with a spoken WAV file: shows the connection, speech detection, " +
        "transcripts, tool calls and metrics, and writes the spoken reply to a WAV file."
    )
  )

/**
 * Runs the CLI with `argv` (as `process.argv`). A `DemoError` is printed as one `error:` line on
 * `output.error` and fails the effect (exit code 1); other failures print their cause.
 *
 * @since 0.1.0
 * @category cli
 */
export const main = (
  argv: ReadonlyArray<string>,
  output: Output
): Effect.Effect<void, DemoError | ValidationError.ValidationError, CliApp.CliApp.Environment> =>
  Command.run(command(output), { name: "realtime-fx demo", version })(argv).pipe(
    Effect.tapErrorCause((cause) => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && failure.value._tag === "DemoError") return output.error(`error: ${failure.value.message}`)
      if (Option.isSome(failure)) return Effect.void // validation errors are printed by @effect/cli
      return Cause.isInterruptedOnly(cause) ? Effect.void : output.error(`internal error:\n${Cause.pretty(cause)}`)
    })
  )
