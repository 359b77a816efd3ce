/**
 * realtime-fx core: protocol schemas, session engine, providers and audio, free of any platform.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Errors from "./Errors.js"
/** @since 0.1.0 */
export * as Transport from "./Transport.js"
