/**
 * WAV files as audio frames: read, write, paced sources for "speak into the session" and sinks that
 * record a generation's audio.
 *
 * @since 0.1.0
 */
import * as AudioFrame from "@realtime-fx/core/AudioFrame"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import wavefile from "wavefile"

/**
 * A WAV file could not be read or written. `reason` says what went wrong; `path` names the file.
 *
 * @since 0.1.0
 * @category errors
 */
export class WavError extends Schema.TaggedError<WavError>()("WavError", {
  path: Schema.String,
  reason: Schema.Literal("NotFound", "NotWav", "Unsupported", "InvalidAudio", "Io"),
  message: Schema.String
}) {}

interface Fmt {
  readonly audioFormat: number
  readonly numChannels: number
  readonly sampleRate: number
  readonly blockAlign: number
  readonly bitsPerSample: number
  readonly subformat?: ReadonlyArray<number>
}

interface DataChunk {
  readonly chunkSize: number
  samples: Uint8Array
}

/** WAVE_FORMAT_EXTENSIBLE: the real format is the first field of the sub-format GUID. */
const EXTENSIBLE = 0xfffe

/** The format code, looking through WAVE_FORMAT_EXTENSIBLE. */
const formatCode = (fmt: Fmt): number =>
  fmt.audioFormat === EXTENSIBLE && fmt.subformat !== undefined && fmt.subformat.length > 0 ? fmt.subformat[0]! : fmt.audioFormat

/**
 * The sample bytes of PCM and float data, cut to whole sample frames: wavefile counts a RIFF pad
 * byte (after an odd-sized chunk) as data, which would add a made-up last sample.
 */
const trimToBlocks = (fmt: Fmt, data: DataChunk): void => {
  const code = formatCode(fmt)
  if ((code !== 1 && code !== 3) || fmt.blockAlign <= 0) return
  const usable = fmt.blockAlign * Math.floor(Math.min(data.chunkSize, data.samples.length) / fmt.blockAlign)
  if (data.samples.length > usable) data.samples = data.samples.subarray(0, usable)
}

/** Little-endian IEEE floats (32 or 64 bit) to PCM16. */
const floatBytesToPcm = (bytes: Uint8Array, bits: number): Int16Array => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const size = bits / 8
  const out = new Float32Array(Math.floor(bytes.byteLength / size))
  for (let i = 0; i < out.length; i++) {
    out[i] = bits === 64 ? view.getFloat64(i * 8, true) : view.getFloat32(i * 4, true)
  }
  return AudioFrame.fromFloat32(out)
}

const ioError = (path: string, cause: unknown): WavError => {
  const code = (cause as { readonly code?: unknown } | null)?.code
  const detail = cause instanceof Error ? cause.message : String(cause)
  return code === "ENOENT"
    ? new WavError({ path, reason: "NotFound", message: `no such file: ${path}` })
    : new WavError({ path, reason: "Io", message: `cannot access ${path}: ${detail}` })
}

/**
 * Parses WAV bytes: PCM 8/16/24/32-bit, float 32/64-bit, A-law, mu-law or IMA ADPCM, any rate and
 * channel count, to one interleaved PCM16 frame. `path` only names the source in errors.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromBytes = (bytes: Uint8Array, path = "<bytes>"): Effect.Effect<AudioFrame.AudioFrame, WavError> =>
  Effect.gen(function*() {
    const wav = yield* Effect.try({
      try: () => new wavefile.WaveFile(bytes),
      catch: (cause) =>
        new WavError({
          path,
          reason: "NotWav",
          message: `${path} is not a WAV file (${cause instanceof Error ? cause.message : String(cause)})`
        })
    })
    const fmt = wav.fmt as Fmt
    trimToBlocks(fmt, wav.data as DataChunk)
    const data = yield* Effect.try({
      try: () => {
        // Extensible float files: wavefile only recognises format 3 itself.
        if (fmt.audioFormat === EXTENSIBLE && formatCode(fmt) === 3 && (fmt.bitsPerSample === 32 || fmt.bitsPerSample === 64)) {
          return floatBytesToPcm((wav.data as DataChunk).samples, fmt.bitsPerSample)
        }
        const depth = wav.bitDepth
        if (depth === "32f" || depth === "64") {
          return AudioFrame.fromFloat32(wav.getSamples(true, Float32Array) as unknown as Float32Array)
        }
        if (depth === "8m") wav.fromMuLaw("16")
        else if (depth === "8a") wav.fromALaw("16")
        else if (depth === "4") wav.fromIMAADPCM("16")
        else if (depth !== "16") wav.toBitDepth("16")
        return wav.getSamples(true, Int16Array) as unknown as Int16Array
      },
      catch: (cause) =>
        new WavError({
          path,
          reason: "Unsupported",
          message: `${path}: unsupported WAV encoding (${cause instanceof Error ? cause.message : String(cause)})`
        })
    })
    // Read the format again: converting the bit depth rebuilds wavefile's chunks.
    const { numChannels, sampleRate } = wav.fmt as Fmt
    return yield* Effect.mapError(
      AudioFrame.make(data, sampleRate, numChannels),
      (e) => new WavError({ path, reason: "InvalidAudio", message: `${path}: ${e.message}` })
    )
  })

/**
 * Reads a WAV file into one PCM16 frame (see `fromBytes` for the encodings).
 *
 * @since 0.1.0
 * @category reading
 */
export const read = (path: string): Effect.Effect<AudioFrame.AudioFrame, WavError> =>
  Effect.tryPromise({ try: () => Fs.readFile(path), catch: (cause) => ioError(path, cause) }).pipe(
    Effect.flatMap((buffer) => fromBytes(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), path))
  )

/**
 * Encodes a frame as a PCM16 WAV file's bytes.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toBytes = (frame: AudioFrame.AudioFrame): Uint8Array => {
  const wav = new wavefile.WaveFile()
  wav.fromScratch(frame.channels, frame.sampleRate, "16", frame.data)
  return wav.toBuffer()
}

const concatFrames = (
  path: string,
  frames: ReadonlyArray<AudioFrame.AudioFrame>,
  sampleRate: number | undefined,
  channels: number | undefined
): Effect.Effect<AudioFrame.AudioFrame, WavError> => {
  const rate = sampleRate ?? frames[0]?.sampleRate
  const ch = channels ?? frames[0]?.channels ?? 1
  if (rate === undefined) {
    return Effect.fail(new WavError({ path, reason: "InvalidAudio", message: `${path}: no frames and no sample rate` }))
  }
  let total = 0
  for (const frame of frames) {
    if (frame.sampleRate !== rate || frame.channels !== ch) {
      return Effect.fail(
        new WavError({
          path,
          reason: "InvalidAudio",
          message:
            `${path}: a ${frame.sampleRate} Hz ${frame.channels}-channel frame does not match ${rate} Hz ${ch}-channel`
        })
      )
    }
    total += frame.data.length
  }
  const data = new Int16Array(total)
  let offset = 0
  for (const frame of frames) {
    data.set(frame.data, offset)
    offset += frame.data.length
  }
  return Effect.mapError(
    AudioFrame.make(data, rate, ch),
    (e) => new WavError({ path, reason: "InvalidAudio", message: `${path}: ${e.message}` })
  )
}

const writeBytes = (path: string, bytes: Uint8Array): Effect.Effect<void, WavError> =>
  Effect.tryPromise({ try: () => Fs.writeFile(path, bytes), catch: (cause) => ioError(path, cause) })

/**
 * Writes one frame, or frames that share a rate and channel count (concatenated), as a PCM16 WAV
 * file. An empty list fails (no rate to write); use `sink` to record possibly empty audio.
 *
 * @since 0.1.0
 * @category writing
 */
export const write = (
  path: string,
  frames: AudioFrame.AudioFrame | ReadonlyArray<AudioFrame.AudioFrame>
): Effect.Effect<void, WavError> =>
  concatFrames(path, "data" in frames ? [frames] : frames, undefined, undefined).pipe(
    Effect.flatMap((frame) =>
      Effect.try({
        try: () => toBytes(frame),
        catch: (cause) => new WavError({ path, reason: "InvalidAudio", message: `${path}: ${String(cause)}` })
      })
    ),
    Effect.flatMap((bytes) => writeBytes(path, bytes))
  )

/**
 * Options of `source`: `frameMs` (default 10) is the frame length; `pacing` `"realtime"` emits frame
 * `i` at `i * frameMs` after the start (through the Effect Clock, so `TestClock` drives it), `"fast"`
 * emits all at once.
 *
 * @since 0.1.0
 * @category models
 */
export interface SourceOptions {
  readonly frameMs?: number | undefined
  readonly pacing?: "realtime" | "fast" | undefined
}

/**
 * Streams a WAV file as frames of `frameMs` (the last one may be shorter), at its own rate and
 * channel count. Frames are views of one decoded buffer: no copy per frame.
 *
 * @since 0.1.0
 * @category reading
 */
export const source = (path: string, options: SourceOptions = {}): Stream.Stream<AudioFrame.AudioFrame, WavError> => {
  const frameMs = options.frameMs ?? 10
  const pacing = options.pacing ?? "realtime"
  return Stream.unwrap(
    Effect.map(read(path), (audio) => {
      const perFrame = Math.max(1, Math.round((audio.sampleRate * frameMs) / 1000)) * audio.channels
      const count = Math.ceil(audio.data.length / perFrame)
      const frames = Stream.range(0, count - 1).pipe(
        Stream.filter(() => count > 0),
        Stream.map((i): AudioFrame.AudioFrame => ({
          data: audio.data.subarray(i * perFrame, Math.min(audio.data.length, (i + 1) * perFrame)),
          sampleRate: audio.sampleRate,
          channels: audio.channels
        }))
      )
      if (pacing === "fast") return frames
      return Stream.unwrap(
        Effect.map(Clock.currentTimeMillis, (start) =>
          Stream.mapEffect(Stream.zipWithIndex(frames), ([frame, i]) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => {
              const wait = start + i * frameMs - now
              return wait > 0 ? Effect.as(Effect.sleep(wait), frame) : Effect.succeed(frame)
            })))
      )
    })
  )
}

/**
 * A Sink that collects frames (all of `sampleRate` Hz, default the wire's 24 kHz, and one channel
 * count) and writes them as one WAV file when the stream ends: an empty stream writes an empty file.
 *
 * @since 0.1.0
 * @category writing
 */
export const sink = (
  path: string,
  sampleRate: number = AudioFrame.WIRE_SAMPLE_RATE
): Sink.Sink<void, AudioFrame.AudioFrame, never, WavError> =>
  Sink.mapEffect(Sink.collectAll<AudioFrame.AudioFrame>(), (chunk) => {
    const frames = Chunk.toReadonlyArray(chunk)
    return concatFrames(path, frames, sampleRate, frames[0]?.channels).pipe(
      Effect.map((frame) => toBytes(frame)),
      Effect.flatMap((bytes) => writeBytes(path, bytes))
    )
  })
