/**
 * The demo command's options, each with the description `--help` prints (what it does, its default).
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as Xai from "@realtime-fx/core/Xai"
import * as Path from "node:path"

/** The options of the `demo` command. */
export const options = {
  input: Options.text("input").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription(
      "The spoken question to send: a PCM WAV file at any sample rate and channel count (the session resamples it " +
        "to 24 kHz mono). Default: the bundled recording of \"Hello! What is the weather like in Paris today?\"."
    ),
    Options.optional
  ),
  out: Options.text("out").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription(
      "Where to write the model's spoken reply (24 kHz mono WAV). Checked before anything is sent: missing parent " +
        "directories are created and the directory must be writable. Default: out/reply.wav."
    ),
    Options.withDefault(Path.join("out", "reply.wav"))
  ),
  voice: Options.text("voice").pipe(
    Options.withPseudoName("NAME"),
    Options.withDescription("The voice the model answers with, e.g. ara (the default), eve, leo, rex or sal."),
    Options.optional
  ),
  instructions: Options.text("instructions").pipe(
    Options.withPseudoName("TEXT"),
    Options.withDescription(
      "System instructions for the model. Default: a friendly voice assistant that calls the get_weather tool for " +
        "weather questions and answers in one or two sentences."
    ),
    Options.optional
  ),
  model: Options.text("model").pipe(
    Options.withPseudoName("ID"),
    Options.withDescription(`The xAI model to talk to (live runs). Default: ${Xai.defaultModel}.`),
    Options.optional
  ),
  baseUrl: Options.text("base-url").pipe(
    Options.withPseudoName("URL"),
    Options.withDescription(
      `Another WebSocket endpoint for a live run: a gateway, or a fake server started with realtime-fx-fake-server. ` +
        `Needs --live. Default: ${Xai.defaultBaseUrl}.`
    ),
    Options.optional
  ),
  fast: Options.boolean("fast").pipe(
    Options.withDescription("Send the whole input at once instead of in real time (a quicker run).")
  ),
  realtime: Options.boolean("realtime").pipe(
    Options.withDescription("Send the input in 10 ms frames at the pace of speech, as a microphone would (the default).")
  ),
  live: Options.boolean("live").pipe(
    Options.withDescription(
      "Talk to the real xAI API; needs the XAI_API_KEY environment variable. Without --live or --fake, a run is live " +
        "exactly when XAI_API_KEY is set."
    )
  ),
  fake: Options.boolean("fake").pipe(
    Options.withDescription(
      "Talk to the fake xAI server the demo starts on 127.0.0.1 (it always hears the bundled question), even when " +
        "XAI_API_KEY is set."
    )
  ),
  timeout: Options.integer("timeout").pipe(
    Options.withPseudoName("SECONDS"),
    Options.withDescription(
      "The longest the whole run may take, from reading the input to writing the reply; past it the demo stops and " +
        "says what it was waiting for. Default: 60."
    ),
    Options.withDefault(60)
  )
}
