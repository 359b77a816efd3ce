/**
 * realtime-fx core: protocol schemas, session engine, providers and audio, free of any platform.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AudioFrame from "./AudioFrame.js"
/** @since 0.1.0 */
export * as AudioInput from "./AudioInput.js"
/** @since 0.1.0 */
export * as ChatContext from "./ChatContext.js"
/** @since 0.1.0 */
export * as Connection from "./Connection.js"
/** @since 0.1.0 */
export * as Errors from "./Errors.js"
/** @since 0.1.0 */
export * as Generation from "./Generation.js"
/** @since 0.2.0 */
export * as Metrics from "./Metrics.js"
/** @since 0.1.0 */
export * as OpenAI from "./OpenAI.js"
/** @since 0.1.0 */
export * as Protocol from "./Protocol.js"
/** @since 0.1.0 */
export * as RealtimeModel from "./RealtimeModel.js"
/** @since 0.1.0 */
export * as RealtimeSession from "./RealtimeSession.js"
/** @since 0.1.0 */
export * as Resampler from "./Resampler.js"
/** @since 0.1.0 */
export * as Tool from "./Tool.js"
/** @since 0.1.0 */
export * as Transport from "./Transport.js"
/** @since 0.1.0 */
export * as Xai from "./Xai.js"

export {
  /**
   * Decodes a server event from its JSON text (see `Protocol`).
   *
   * @since 0.1.0
   */
  decodeServerEvent,
  /**
   * Decodes a server event from a parsed JSON value (see `Protocol`).
   *
   * @since 0.1.0
   */
  decodeServerEventUnknown,
  /**
   * Encodes a client event to its JSON text (see `Protocol`).
   *
   * @since 0.1.0
   */
  encodeClientEvent,
  /**
   * Is this server event one the protocol does not know (see `Protocol`)?
   *
   * @since 0.1.0
   */
  isUnknownServerEvent
} from "./Protocol.js"
