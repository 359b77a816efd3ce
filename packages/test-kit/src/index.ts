/**
 * realtime-fx test kit: mock transport with a scripted server, loopback fake realtime server.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as FakeServer from "./FakeServer.js"
/** @since 0.1.0 */
export * as MockTransport from "./MockTransport.js"
export {
  /**
   * The scripted server of the mock transport (see `MockTransport`).
   *
   * @since 0.1.0
   */
  MockServer
} from "./MockTransport.js"
