/**
 * realtime-fx for Node.js: ws transport, WAV file I/O and the demo CLI.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as NodeTransport from "./NodeTransport.js"
/** @since 0.1.0 */
export * as Wav from "./Wav.js"
/** @since 0.1.0 */
export * as Demo from "./Demo.js"
