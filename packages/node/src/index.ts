/**
 * realtime-fx for Node.js: ws transport and WAV file I/O.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as NodeTransport from "./NodeTransport.js"
/** @since 0.1.0 */
export * as Wav from "./Wav.js"
