/**
 * The typed realtime protocol: schemas for every client and server event (GA, beta and xAI),
 * their nested types, and the synchronous wire codecs.
 *
 * @since 0.1.0
 */
/**
 * Client events.
 *
 * @since 0.1.0
 */
export * from "./protocol/ClientEvents.js"
/**
 * The synchronous wire codecs.
 *
 * @since 0.1.0
 */
export * from "./protocol/Codec.js"
/**
 * Conversation items.
 *
 * @since 0.1.0
 */
export * from "./protocol/Items.js"
/**
 * Responses.
 *
 * @since 0.1.0
 */
export * from "./protocol/Response.js"
/**
 * Server events.
 *
 * @since 0.1.0
 */
export * from "./protocol/ServerEvents.js"
/**
 * Session configuration.
 *
 * @since 0.1.0
 */
export * from "./protocol/Session.js"
