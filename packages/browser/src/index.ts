/**
 * realtime-fx in the browser: the WebSocket transport (client secrets), the microphone and the speaker.
 *
 * @since 0.2.0
 */

/**
 * The browser `Transport` (subprotocol auth only).
 *
 * @since 0.2.0
 */
export * as BrowserTransport from "./BrowserTransport.js"
