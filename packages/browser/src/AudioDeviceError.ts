/**
 * The error of the browser's audio devices (microphone, speaker).
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * A microphone or speaker could not be used. `reason`: `PermissionDenied` (the user or the
 * permissions policy refused the microphone, `NotAllowedError`), `NoDevice` (`NotFoundError`),
 * `Suspended` (the AudioContext did not resume: it needs a user gesture), `Unsupported` (no
 * `getUserMedia`/`AudioWorklet`: not a secure context), `Unavailable` (the device failed),
 * `Worklet` (the processor could not be loaded), `SampleRate` (audio at another rate than the speaker's).
 *
 * @since 0.2.0
 * @category errors
 */
export class AudioDeviceError extends Schema.TaggedError<AudioDeviceError>()("AudioDeviceError", {
  reason: Schema.Literal("PermissionDenied", "NoDevice", "Suspended", "Unsupported", "Unavailable", "Worklet", "SampleRate"),
  message: Schema.String
}) {}
