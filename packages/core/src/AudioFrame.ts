/**
 * Audio frames (interleaved PCM16 with a rate and a channel count) and their conversions: float, mono,
 * and the wire's base64 PCM16 little-endian.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as codec from "./internal/audioCodec.js"

/**
 * A block of PCM16 audio. `data` is interleaved (`[l0, r0, l1, r1, ...]` for stereo).
 *
 * @since 0.1.0
 * @category models
 */
export interface AudioFrame {
  readonly data: Int16Array
  readonly sampleRate: number
  readonly channels: number
}

/**
 * The wire format's sample rate: PCM16 mono at 24,000 Hz in both directions.
 *
 * @since 0.1.0
 * @category constants
 */
export const WIRE_SAMPLE_RATE = 24000

/**
 * Lowest and highest accepted input sample rates (Hz).
 *
 * @since 0.1.0
 * @category constants
 */
export const MIN_SAMPLE_RATE = 8000

/**
 * Highest accepted sample rate, in Hz.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_SAMPLE_RATE = 192000

/**
 * Highest accepted channel count.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_CHANNELS = 64

/**
 * A frame that cannot be audio: a sample rate that is not an integer in 8,000..192,000 Hz, a channel
 * count that is not an integer in 1..64, or a data length that is not a multiple of the channel count.
 *
 * @since 0.1.0
 * @category errors
 */
export class AudioFrameError extends Schema.TaggedError<AudioFrameError>()("AudioFrameError", {
  reason: Schema.Literal("SampleRate", "Channels", "Length"),
  message: Schema.String
}) {}

/**
 * Checks the parts of a frame; `Either.right(frame)` or `Either.left(AudioFrameError)`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const validate = (
  data: Int16Array,
  sampleRate: number,
  channels: number
): Either.Either<AudioFrame, AudioFrameError> => {
  if (!Number.isInteger(sampleRate) || sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    return Either.left(
      new AudioFrameError({
        reason: "SampleRate",
        message: `sample rate ${sampleRate} is not an integer between ${MIN_SAMPLE_RATE} and ${MAX_SAMPLE_RATE} Hz`
      })
    )
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
    return Either.left(
      new AudioFrameError({
        reason: "Channels",
        message: `channel count ${channels} is not an integer between 1 and ${MAX_CHANNELS}`
      })
    )
  }
  if (data.length % channels !== 0) {
    return Either.left(
      new AudioFrameError({
        reason: "Length",
        message: `${data.length} samples is not a whole number of ${channels}-channel frames`
      })
    )
  }
  return Either.right({ data, sampleRate, channels })
}

/**
 * Builds a validated frame (no copy of `data`); fails with `AudioFrameError` (see there for the rules).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  data: Int16Array,
  sampleRate: number,
  channels: number
): Effect.Effect<AudioFrame, AudioFrameError> => validate(data, sampleRate, channels)

/**
 * Builds a validated frame, throwing `AudioFrameError` when it is invalid.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (data: Int16Array, sampleRate: number, channels: number): AudioFrame =>
  Either.getOrThrow(validate(data, sampleRate, channels))

/**
 * Samples per channel (the frame count).
 *
 * @since 0.1.0
 * @category getters
 */
export const samplesPerChannel = (frame: AudioFrame): number => frame.data.length / frame.channels

/**
 * Duration of the frame in milliseconds.
 *
 * @since 0.1.0
 * @category getters
 */
export const durationMs = (frame: AudioFrame): number => (samplesPerChannel(frame) * 1000) / frame.sampleRate

/**
 * PCM16 to float in [-1, 1): `x / 32768`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toFloat32 = (pcm: Int16Array): Float32Array => {
  const out = new Float32Array(pcm.length)
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32768
  return out
}

/**
 * Float to PCM16: `round(x * 32768)` clamped to [-32768, 32767] (NaN becomes 0). Inverse of `toFloat32`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromFloat32 = (samples: Float32Array): Int16Array => {
  const out = new Int16Array(samples.length)
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(samples[i]! * 32768)
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v
  }
  return out
}

/**
 * Averages the channels into one. A mono frame is returned as it is (no copy).
 *
 * @since 0.1.0
 * @category conversions
 */
export const mixToMono = (frame: AudioFrame): AudioFrame => {
  const channels = frame.channels
  if (channels === 1) return frame
  const data = frame.data
  const n = data.length / channels
  const out = new Int16Array(n)
  if (channels === 2) {
    for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = (data[j]! + data[j + 1]!) >> 1
  } else {
    for (let i = 0, j = 0; i < n; i++) {
      let sum = 0
      for (let c = 0; c < channels; c++, j++) sum += data[j]!
      out[i] = Math.floor(sum / channels)
    }
  }
  return { data: out, sampleRate: frame.sampleRate, channels: 1 }
}

/**
 * PCM16 samples to base64 of their little-endian bytes (on any host). Uses `Buffer` when the host has
 * it (no copy), else a table-based encoder.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeBase64: (pcm: Int16Array) => string = codec.nodeBuffer !== undefined
  ? ((Buf) => (pcm: Int16Array) => codec.encodePcmBuffer(Buf, pcm))(codec.nodeBuffer)
  : codec.encodePcmTable

/**
 * base64 of PCM16 little-endian bytes to samples, decoded straight into a fresh, aligned `Int16Array`
 * (so any alignment of the source is fine). A trailing odd byte is dropped; characters outside the
 * base64 alphabet are skipped; the url-safe alphabet is accepted.
 *
 * @since 0.1.0
 * @category encoding
 */
export const decodeBase64: (b64: string) => Int16Array = codec.nodeBuffer !== undefined
  ? ((Buf) => (b64: string) => codec.decodePcmBuffer(Buf, b64))(codec.nodeBuffer)
  : codec.decodePcmTable

/**
 * A frame from base64 PCM16 (by default the wire's 24 kHz mono). The rate and channel count are
 * trusted, not validated: use `make` for untrusted values.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromBase64 = (b64: string, sampleRate: number = WIRE_SAMPLE_RATE, channels: number = 1): AudioFrame => {
  const data = decodeBase64(b64)
  const whole = data.length - (data.length % channels)
  return { data: whole === data.length ? data : data.subarray(0, whole), sampleRate, channels }
}
