/**
 * realtime-fx test kit: mock transport with a scripted server, loopback fake realtime server.
 *
 * @since 0.1.0
 */
export {}
