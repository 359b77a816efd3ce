/**
 * realtime-fx in the browser: the WebSocket transport (client secrets), the microphone and the speaker.
 *
 * @since 0.2.0
 */

/**
 * The error of the browser's audio devices.
 *
 * @since 0.2.0
 */
export * as AudioDeviceError from "./AudioDeviceError.js"

/**
 * The browser `Transport` (subprotocol auth only).
 *
 * @since 0.2.0
 */
export * as BrowserTransport from "./BrowserTransport.js"

/**
 * The microphone as a stream of `AudioFrame`s (getUserMedia through an AudioWorklet).
 *
 * @since 0.2.0
 */
export * as Microphone from "./Microphone.js"

/**
 * The speaker: 24 kHz PCM through an AudioWorklet with a jitter buffer, counting what was played.
 *
 * @since 0.2.0
 */
export * as Speaker from "./Speaker.js"
