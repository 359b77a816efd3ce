/**
 * The typed realtime protocol: schemas for every client and server event (GA, beta and xAI),
 * their nested types, and the synchronous wire codecs.
 *
 * @since 0.1.0
 */
export * from "./protocol/ClientEvents.js"
export * from "./protocol/Codec.js"
export * from "./protocol/Items.js"
export * from "./protocol/Response.js"
export * from "./protocol/ServerEvents.js"
export * from "./protocol/Session.js"
