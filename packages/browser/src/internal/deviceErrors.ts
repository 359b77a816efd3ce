/**
 * Maps what `getUserMedia`, `AudioContext` and `addModule` throw to `AudioDeviceError` reasons.
 *
 * @since 0.2.0
 */
import { AudioDeviceError } from "../AudioDeviceError.js"

/**
 * The error for a failure of `getUserMedia` (a `DOMException` by its `name`).
 *
 * @internal
 */
export const fromGetUserMedia = (cause: unknown): AudioDeviceError => {
  const name = typeof cause === "object" && cause !== null && "name" in cause ? String(cause.name) : ""
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return new AudioDeviceError({
        reason: "PermissionDenied",
        message: "microphone permission denied (the user or the page's permissions policy refused it)"
      })
    case "NotFoundError":
    case "OverconstrainedError":
      return new AudioDeviceError({ reason: "NoDevice", message: "no microphone matches the request" })
    case "NotReadableError":
    case "AbortError":
      return new AudioDeviceError({ reason: "Unavailable", message: `the microphone could not be started (${name})` })
    case "TypeError":
      return new AudioDeviceError({ reason: "Unsupported", message: "invalid microphone constraints" })
    default:
      return new AudioDeviceError({
        reason: "Unavailable",
        message: `the microphone could not be opened${name !== "" ? ` (${name})` : ""}`
      })
  }
}

/**
 * The error when the page has no `getUserMedia`, `AudioContext` or `AudioWorklet` (e.g. an insecure
 * origin: they need https or localhost).
 *
 * @internal
 */
export const unsupported = (what: string): AudioDeviceError =>
  new AudioDeviceError({
    reason: "Unsupported",
    message: `${what} is not available (it needs a secure context: https, or http on localhost/127.0.0.1)`
  })

/**
 * The error for an `AudioContext` that stays suspended (the autoplay policy wants a user gesture).
 *
 * @internal
 */
export const suspended = (device: "microphone" | "speaker"): AudioDeviceError =>
  new AudioDeviceError({
    reason: "Suspended",
    message: `the ${device}'s AudioContext is suspended and did not resume: start it from a user gesture (a click)`
  })
