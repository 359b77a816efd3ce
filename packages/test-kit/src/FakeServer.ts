/**
 * The loopback fake realtime server: a real WebSocket server on 127.0.0.1 speaking the xAI dialect
 * of the realtime protocol (session, server VAD, conversation, audio/text responses, function calls),
 * with fault injection, for tests, demos and benchmarks.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Scope from "effect/Scope"
import { WebSocketServer } from "ws"
import * as Secrets from "./internal/fakeClientSecrets.js"
import * as Conn from "./internal/fakeConnection.js"

/**
 * Faults to inject. Connection-time faults apply to the next handshake; the others are read at the
 * moment they matter, so `setFaults` changes the behaviour of open connections too.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeFaults {
  /** Close each connection once it has sent this many frames (counted per connection, faults included). */
  readonly closeAfterEvents?: number
  /** Close code used by `closeAfterEvents` (default 1011), or `"terminate"` for an abrupt TCP drop (1006 at the client). */
  readonly closeCode?: number | "terminate"
  /** Close reason used by `closeAfterEvents`. */
  readonly closeReason?: string
  /** Send a non-JSON frame after `conversation.created` and after every `response.created`. */
  readonly garbageFrames?: boolean
  /** The non-JSON text sent by `garbageFrames` (default `"this is not JSON {"`). */
  readonly garbageText?: string
  /** Send a `fake.unknown_event` event at the same places as `garbageFrames`. */
  readonly unknownEvents?: boolean
  /** Wait this long before completing each WebSocket handshake. */
  readonly handshakeDelayMs?: number
  /** Never answer handshakes (the client's open timeout has to fire). */
  readonly blackholeHandshake?: boolean
  /** Reject every handshake with this HTTP status (e.g. 401, 403, 500). */
  readonly rejectHandshake?: number
  /**
   * Send an `error` event `{ type, code, message }` right after connecting (`when: "connect"`, the
   * default), instead of every response (`when: "response"`), or in the middle of every audio reply,
   * right after its first `response.output_audio.delta` (`when: "midReply"`: the reply stops there,
   * with no `response.done`), then close with `closeCode` if given.
   * E.g. `{ type: "invalid_request_error", code: "invalid_api_key", closeCode: 1008 }` or
   * `{ type: "max_duration", when: "response", closeCode: 1000 }`.
   */
  readonly errorEvent?: {
    readonly type?: string
    readonly code?: string
    readonly message?: string
    readonly when?: "connect" | "response" | "midReply"
    readonly closeCode?: number
  }
  /** Every response sends `response.created` and then nothing: no output, no `response.done`. */
  readonly dropResponses?: boolean
  /** xAI quirk: `conversation.item.deleted` carries an empty `item_id`. */
  readonly emptyDeleteItemId?: boolean
  /** xAI quirk: `conversation.item.added` names a `previous_item_id` that was never announced. */
  readonly unknownPreviousItemId?: boolean
  /**
   * xAI quirk: every `conversation.item.added` carries `previous_item_id: null` (the first item of a
   * conversation has no predecessor anyway; later ones are meant to go after the last item).
   */
  readonly nullPreviousItemId?: boolean
  /**
   * The server has lost its conversations: a handshake with `?conversation_id=` starts a new, empty
   * conversation under a new id (resumption refused) instead of resuming the named one.
   */
  readonly forgetConversations?: boolean
  /**
   * xAI quirk: each user audio turn gets cumulative `...input_audio_transcription.updated` partials,
   * a partial `...completed` with `status: "in_progress"`, and the full `...completed` twice.
   */
  readonly repeatedTranscriptions?: boolean
}

/**
 * Options of the fake server.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeServerOptions {
  /** TCP port (default 0: any free port). */
  readonly port?: number
  /** Interface to bind (default `127.0.0.1`). */
  readonly host?: string
  /** `"fast"` (default): send replies as fast as possible; `"realtime"`: one 100 ms audio delta every 100 ms. */
  readonly pacing?: "realtime" | "fast"
  readonly reply?: {
    /** What the assistant says (default {@link defaultReply}). */
    readonly text?: string
    /** Length of synthesized reply audio (default: 60 ms a character of the text, whole 100 ms chunks). */
    readonly audioMs?: number
    /** `"synth"` (default): a synthesized voice; `"echo"`: the audio of the last user turn. */
    readonly voice?: "synth" | "echo"
  }
  /** What the server "hears" in every user audio turn (default {@link defaultTranscript}). */
  readonly transcript?: string
  /** Expected bearer token (or `xai-client-secret.<token>` subprotocol); other handshakes get 401. */
  readonly requireAuth?: string
  /** Initial faults. */
  readonly faults?: FakeFaults
  /** Send `{"type":"ping","timestamp":…}` every this many ms (default: never). */
  readonly pingIntervalMs?: number
  /** Text-only reply events: `"xai"` (default) `response.text.delta`/`.done`, or `"ga"` `response.output_text.*`. */
  readonly textEvents?: "xai" | "ga"
  /**
   * A configured function call: when `trigger` (default: `name`) appears in the user's last message or
   * the response instructions, the response calls `name` with `arguments` (default: placeholders from
   * the tool's JSON Schema). Function tools named in the text trigger calls without this option too.
   */
  readonly toolCall?: { readonly name: string; readonly arguments?: Record<string, unknown>; readonly trigger?: string }
  /** Record client events for `received` (default true; turn off for long benchmarks). */
  readonly recordReceived?: boolean
}

/**
 * One recorded handshake request.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeRequest {
  /** Path and query, e.g. `/v1/realtime?model=grok-voice-latest`. */
  readonly url: string
  /** Lower-case header names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
}

/**
 * A running fake server.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeServer {
  /** `ws://<host>:<port>/v1/realtime` (any path is accepted; the model comes from `?model=`). */
  readonly url: string
  /**
   * `http://<host>:<port>/v1`: the `baseUrl` for `Xai.createClientSecret`. Its
   * `POST /v1/realtime/client_secrets` mints secrets (checked against `requireAuth` as a bearer
   * token) that the WebSocket accepts as the `xai-client-secret.<value>` subprotocol.
   *
   * @since 0.2.0
   */
  readonly httpUrl: string
  readonly port: number
  /** Connections open now. */
  readonly connections: Effect.Effect<number>
  /** Client events received so far on all connections, in arrival order (parsed JSON objects). */
  readonly received: Effect.Effect<ReadonlyArray<Record<string, unknown>>>
  /** Handshake requests so far (including rejected ones). */
  readonly requests: Effect.Effect<ReadonlyArray<FakeRequest>>
  /** Sends an event (JSON-encoded as given, no `event_id` added) or a raw text frame to every open connection. */
  readonly inject: (event: object | string) => Effect.Effect<void>
  /** Closes every open connection with `code` (default 1000) and `reason`. */
  readonly closeAll: (code?: number, reason?: string) => Effect.Effect<void>
  /** Drops every open connection abruptly (TCP reset; the client sees 1006). */
  readonly terminateAll: Effect.Effect<void>
  /** Replaces the faults (pass `{}` to clear them). */
  readonly setFaults: (faults: FakeFaults) => Effect.Effect<void>
}

/**
 * The server could not listen (e.g. the port is in use).
 *
 * @since 0.1.0
 * @category errors
 */
export class FakeServerError extends Data.TaggedError("FakeServerError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * Default reply text.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultReply: string = Conn.DEFAULT_REPLY

/**
 * Default transcript of user audio turns.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTranscript: string = Conn.DEFAULT_TRANSCRIPT

/**
 * Starts a fake server in the current Scope; closing the Scope terminates every socket, stops every
 * timer and closes the listener.
 *
 * @example
 * ```ts
 * import * as FakeServer from "@realtime-fx/test-kit/FakeServer"
 * import * as NodeTransport from "@realtime-fx/node/NodeTransport"
 * import * as RealtimeSession from "@realtime-fx/core/RealtimeSession"
 * import { Resampler } from "@realtime-fx/core/Resampler"
 * import * as Xai from "@realtime-fx/core/Xai"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as Redacted from "effect/Redacted"
 * import * as Stream from "effect/Stream"
 *
 * // A loopback server speaking the protocol: real sockets, no network beyond 127.0.0.1.
 * const program = Effect.gen(function*() {
 *   const fake = yield* FakeServer.make({ reply: { text: "Hello from the fake server." }, requireAuth: "test-key" })
 *   const session = yield* RealtimeSession.make().pipe(
 *     Effect.provide(Layer.mergeAll(
 *       Xai.layer({ apiKey: Redacted.make("test-key"), baseUrl: fake.url }),
 *       NodeTransport.layer,
 *       Resampler.layerLinear
 *     ))
 *   )
 *   const reply = yield* session.generateReply()
 *   return yield* reply.messages.pipe(
 *     Stream.flatMap((message) => message.text),
 *     Stream.runFold("", (text, delta) => text + delta.text)
 *   )
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: FakeServerOptions = {}): Effect.Effect<FakeServer, FakeServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const host = options.host ?? "127.0.0.1"
    let counter = 0
    const ctx: Conn.ServerContext = {
      options,
      faults: options.faults ?? {},
      received: [],
      requests: [],
      open: new Set(),
      conversations: new Map(),
      clientSecrets: new Set(),
      nextId: (prefix) => `${prefix}_${(++counter).toString().padStart(6, "0")}`
    }
    const http = yield* Effect.acquireRelease(
      Effect.async<Http.Server, FakeServerError>((resume) => {
        const server = Http.createServer((req, res) => Secrets.serveHttp(ctx, req, res))
        const onError = (cause: Error) => resume(Effect.fail(new FakeServerError({ message: `cannot listen on ${host}:${options.port ?? 0}: ${cause.message}`, cause })))
        server.once("error", onError)
        server.listen(options.port ?? 0, host, () => {
          server.off("error", onError)
          resume(Effect.succeed(server))
        })
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 })
    yield* Effect.addFinalizer(() => Effect.sync(() => wss.close()))
    // Created after the listener, so it closes first: sockets end before the listener is closed.
    const runFork = yield* FiberSet.makeRuntime<never, void, never>()
    http.on("upgrade", (req, socket, head) => {
      runFork(Conn.serveUpgrade(ctx, wss, req, socket, head))
    })
    const port = (http.address() as AddressInfo).port
    const each = (f: (c: Conn.ConnectionHandle) => void) => Effect.sync(() => ctx.open.forEach(f))
    const authority = `${host.includes(":") ? `[${host}]` : host}:${port}`
    const server: FakeServer = {
      url: `ws://${authority}/v1/realtime`,
      httpUrl: `http://${authority}/v1`,
      port,
      connections: Effect.sync(() => ctx.open.size),
      received: Effect.sync(() => ctx.received.slice()),
      requests: Effect.sync(() => ctx.requests.slice()),
      inject: (event) => {
        const text = typeof event === "string" ? event : JSON.stringify(event)
        return each((c) => c.sendRaw(text))
      },
      closeAll: (code = 1000, reason = "") => each((c) => c.close(code, reason)),
      terminateAll: each((c) => c.terminate()),
      setFaults: (faults) =>
        Effect.sync(() => {
          ctx.faults = faults
        })
    }
    return server
  })

/**
 * The Promise face of a {@link FakeServer}, for code outside Effect (benchmarks, scripts).
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeServerHandle {
  readonly url: string
  /** See `FakeServer.httpUrl`. @since 0.2.0 */
  readonly httpUrl: string
  readonly port: number
  readonly connections: () => Promise<number>
  readonly received: () => Promise<ReadonlyArray<Record<string, unknown>>>
  readonly requests: () => Promise<ReadonlyArray<FakeRequest>>
  readonly inject: (event: object | string) => Promise<void>
  readonly closeAll: (code?: number, reason?: string) => Promise<void>
  readonly terminateAll: () => Promise<void>
  readonly setFaults: (faults: FakeFaults) => Promise<void>
}

/**
 * Starts a fake server outside Effect. `close()` stops it (sockets, timers, listener).
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (
  options: FakeServerOptions = {}
): Promise<{ readonly server: FakeServerHandle; readonly close: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make())
  const exit = await Effect.runPromiseExit(Scope.extend(make(options), scope))
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(Scope.close(scope, exit))
    throw Cause.squash(exit.cause)
  }
  const s = exit.value
  const run = <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect)
  const server: FakeServerHandle = {
    url: s.url,
    httpUrl: s.httpUrl,
    port: s.port,
    connections: () => run(s.connections),
    received: () => run(s.received),
    requests: () => run(s.requests),
    inject: (event) => run(s.inject(event)),
    closeAll: (code, reason) => run(s.closeAll(code, reason)),
    terminateAll: () => run(s.terminateAll),
    setFaults: (faults) => run(s.setFaults(faults))
  }
  return { server, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
