/** The session's wiring: the connection, the shell around the pure engine, the audio input and the public methods. */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Mailbox from "effect/Mailbox"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as AudioFrame from "../AudioFrame.js"
import type * as Chat from "../ChatContext.js"
import * as Connection from "../Connection.js"
import {
  type ConfigurationError,
  type FatalError,
  SessionClosedError,
  type SlowConsumerError,
  type TimeoutError,
  type UnknownCallError
} from "../Errors.js"
import * as Gen from "../Generation.js"
import * as Metrics from "../Metrics.js"
import type * as Protocol from "../Protocol.js"
import { RealtimeModel } from "../RealtimeModel.js"
import type * as RS from "../RealtimeSession.js"
import * as Tool from "../Tool.js"
import * as SessionAudio from "./session/audioInput.js"
import * as Conv from "./session/conversation.js"
import * as Flow from "./session/flow.js"
import * as Shell from "./session/dispatcher.js"
import { type Config, initial, type Input } from "./session/state.js"

const DEFAULT_TIMEOUT = Duration.seconds(5)

/** @internal */
export const make = (sessionOptions: RS.SessionOptions = {}) =>
  Effect.gen(function*() {
    const model = yield* RealtimeModel
    const scope = yield* Effect.scope
    const clock = yield* Effect.clock
    const debug = sessionOptions.debugEvents === true
    const toolTimeout = Duration.decode(sessionOptions.toolTimeout ?? Duration.seconds(30))
    const config: Config = {
      dialect: model.dialect,
      replyTimeoutMs: Duration.toMillis(Duration.decode(sessionOptions.replyTimeout ?? DEFAULT_TIMEOUT)),
      ackTimeoutMs: Duration.toMillis(Duration.decode(sessionOptions.ackTimeout ?? DEFAULT_TIMEOUT)),
      toolExecution: sessionOptions.toolExecution ?? "auto",
      sessionConfig: model.sessionConfig,
      scrub: model.scrub
    }
    const initialTools = Tool.partition(model.tools)
    const tracer = yield* Effect.tracer
    const parentSpan = yield* Effect.currentParentSpan.pipe(Effect.option)
    // Every metric of this session carries its provider and model.
    const tags = [
      MetricLabel.make("provider", model.options.provider),
      MetricLabel.make("model", model.options.model)
    ]
    const fibers = yield* FiberSet.make()
    const fork = yield* FiberSet.runtime(fibers)<never>()
    const connectionScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)

    const runTools = (calls: ReadonlyArray<Gen.FunctionCall>) =>
      Effect.forEach(
        calls,
        (call) =>
          Tool.executeCall(shell.state().tools, call, model.dialect.serverToolNames).pipe(
            Effect.withSpan("realtime.tool", {
              attributes: { "realtime.tool.name": call.name, "realtime.tool.call_id": call.callId }
            }),
            // A handler that never answers must not hold back the outputs (the model would wait for ever).
            Effect.timeoutTo({
              duration: toolTimeout,
              onSuccess: (output) => output,
              onTimeout: () => Option.some(`Tool "${call.name}" did not finish within ${Duration.format(toolTimeout)}`)
            }),
            Effect.map(Option.map((output) => ({ call, output })))
          ),
        { concurrency: "unbounded" }
      ).pipe(Effect.map((results) => results.flatMap(Option.toArray)))

    const shell: Shell.Shell = Shell.make(initial(config, model.options, initialTools.tools), {
      now: () => clock.unsafeCurrentTimeMillis(),
      send: (event) => {
        const error = connection.unsafeSend(event)
        // The session's own events always encode; one that does not is reported, never sent half-way.
        if (error?._tag === "ProtocolError") shell.emit({ _tag: "Error", error, recoverable: true })
      },
      fork: (effect) => fork(effect),
      runTools,
      recordMetrics: (metrics) => {
        Gen.responsesMetric.unsafeUpdate(1, tags)
        Gen.outputTokensMetric.unsafeUpdate(metrics.outputTokens, tags)
        if (metrics.ttftMs >= 0) Gen.ttftMetric.unsafeUpdate(metrics.ttftMs, tags)
      },
      tracer,
      parentSpan,
      nowNanos: () => clock.unsafeCurrentTimeNanos(),
      onShutdown: (_error, quiet) => {
        // The session is over: its timers and tool runs stop now, not when its scope closes (which
        // may be much later, or never: nothing may keep a process alive after the session's end).
        for (const fiber of fibers) fiber.unsafeInterruptAsFork(FiberId.none)
        // A quiet close comes from the session's scope, which closes the connection itself. Otherwise
        // the connection is closed now, uninterruptibly (a half-closed scope would leave its fibers).
        if (!quiet) fork(Effect.uninterruptible(Scope.close(connectionScope, Exit.void)))
      },
      debug,
      outputBuffer: sessionOptions.outputBuffer
    })

    // Resumption: the conversation id the current connection attempt asked for. An attempt that asked
    // and did not connect makes the next one go without it (the replay then restores the history).
    let resumeRequested: string | undefined
    const request = Effect.sync(() => {
      const state = shell.state()
      const id = state.phase._tag === "Reconnecting" && resumeRequested === undefined ? Conv.resumeId(state) : undefined
      resumeRequested = id
      return model.request({ conversationId: id })
    })

    const serverInput = (event: Protocol.DecodedServerEvent): Input => {
      if (debug) shell.emit({ _tag: "ServerEvent", event })
      return { _tag: "ServerEvent", event }
    }

    const toInput = (event: Connection.ConnectionEvent): Input => {
      switch (event._tag) {
        case "Message":
          return serverInput(event.event)
        case "Malformed":
          return { _tag: "Malformed", error: event.error }
        case "Disconnected":
          Metrics.dropsMetric.unsafeUpdate(1, [...tags, MetricLabel.make("reason", Metrics.dropReason(event.error))])
          return { _tag: "Disconnected", error: event.error }
        case "Connected": {
          Metrics.connectsMetric.unsafeUpdate(1, tags)
          if (event.reconnected) Metrics.reconnectsMetric.unsafeUpdate(1, tags)
          const resumed = resumeRequested
          resumeRequested = undefined
          return { _tag: "Connected", connection: event.connection, reconnected: event.reconnected, resumed }
        }
      }
    }

    const connection: Connection.Connection = yield* Connection.make({
      request,
      retry: model.options.connOptions,
      maxSessionDuration: model.options.maxSessionDuration,
      replay: Effect.sync(() => {
        const events = Conv.replay(shell.state(), resumeRequested !== undefined)
        // What opens a connection is published like every other client event (debugEvents).
        if (debug) for (const event of events) shell.emit({ _tag: "ClientEvent", event })
        return events
      }),
      awaitIdle: shell.idle.await,
      isRecycleError: model.dialect.isRecycleError,
      fatalErrorCodes: model.dialect.fatalErrorCodes,
      scrub: model.scrub,
      metricTags: tags,
      ...Flow.connectionOptions(sessionOptions, () => shell.state().current !== undefined),
      // Connection events are applied to the state right in the reader's fiber: no hop to a dispatcher.
      sink: {
        offerAll: (events) =>
          Effect.sync(() => {
            for (const event of events) shell.apply(toInput(event))
          }),
        unsafeOffer: (event) => shell.apply(toInput(event)),
        unsafeMessage: (event) => shell.apply(serverInput(event)),
        fail: (error) => Effect.sync(() => shell.apply({ _tag: "Close", error, quiet: false }))
      }
    }).pipe(Scope.extend(connectionScope))

    // Closing the session's scope ends everything quietly (runs before the connection's scope closes).
    yield* Effect.addFinalizer(() =>
      Effect.sync(() =>
        shell.apply({ _tag: "Close", error: new SessionClosedError({ message: "the session was closed" }), quiet: true })
      )
    )

    // -----------------------------------------------------------------------
    // The public methods.
    // -----------------------------------------------------------------------

    /** The session's end error once it has ended, else `undefined`. */
    const endError = (): FatalError | undefined => {
      const phase = shell.state().phase
      return phase._tag === "Closed" ? phase.error : undefined
    }

    /** Fails with the session's end error once it has ended; runs `effect` otherwise. */
    const guarded = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | FatalError, R> =>
      Effect.suspend((): Effect.Effect<A, E | FatalError, R> => {
        const error = endError()
        return error === undefined ? effect : Effect.fail(error)
      })

    /** Waits for `effect`, or fails with the session's end error if the session ends first. */
    const orClosed = <A, E>(effect: Effect.Effect<A, E>) => Effect.raceFirst(effect, Deferred.await(shell.closed))

    /** Runs an operation through the engine and waits for its result. */
    const operation = <A, E>(make: (opId: number) => Input): Effect.Effect<A, E | FatalError> =>
      guarded(Effect.suspend(() => {
        const opId = shell.nextOpId()
        const waiter = shell.awaitOp(opId)
        shell.apply(make(opId))
        return orClosed(Deferred.await(waiter) as Effect.Effect<A, E>)
      }))

    const send = (event: Protocol.ClientEvent) =>
      guarded(connection.send(event)).pipe(
        Effect.tap(() => (debug ? Effect.sync(() => shell.emit({ _tag: "ClientEvent", event })) : Effect.void))
      )

    const audio = yield* SessionAudio.make({
      send: sendOwn,
      // `send` without the wait, for the audio's synchronous path (it waits for room after queueing).
      unsafeSend: (event) => {
        const ended = endError()
        if (ended !== undefined) return ended
        const error = connection.unsafeSend(event)
        if (error === undefined && debug) shell.emit({ _tag: "ClientEvent", event })
        return error
      },
      unsafeSendAudio: (pcm) => {
        const ended = endError()
        if (ended !== undefined) return ended
        const error = connection.unsafeSendAudio(pcm)
        if (error === undefined && debug) {
          shell.emit({ _tag: "ClientEvent", event: { type: "input_audio_buffer.append", audio: AudioFrame.encodeBase64(pcm) } })
        }
        return error
      },
      ended: endError,
      // The session may end while the audio waits for room (the wait then returns): its appends are not sent.
      awaitRoom: Effect.zipRight(connection.awaitRoom, guarded(Effect.void))
    }, {
      policy: sessionOptions.audioBackpressure ?? "wait",
      warn: (message) => shell.emit({ _tag: "Warning", message })
    })

    const generateReply = (options?: { readonly instructions?: string | undefined }) =>
      guarded(Effect.acquireRelease(
        // Interruptible: the wait races the session's end, and the caller may give up meanwhile.
        Effect.interruptible(Effect.suspend(() => {
          const id = `reply_${crypto.randomUUID()}`
          const waiter = shell.awaitReply(id)
          shell.apply({ _tag: "GenerateReply", id, instructions: options?.instructions, userInitiated: true })
          return orClosed(Deferred.await(waiter)).pipe(
            Effect.onInterrupt(() => Effect.sync(() => shell.apply({ _tag: "ReplyAbandoned", id })))
          )
        })),
        (handle) =>
          Deferred.isDone(handle.done).pipe(
            Effect.flatMap((done) =>
              done
                ? Effect.void
                : Effect.sync(() => shell.apply({ _tag: "GenerationReleased", responseId: handle.generation.responseId }))
            )
          )
      )).pipe(Effect.map((handle) => handle.generation))

    const updateOptions = (update: Parameters<RS.RealtimeSessionService["updateOptions"]>[0]) =>
      guarded(Effect.suspend((): Effect.Effect<void, FatalError | ConfigurationError> => {
        const resolved = model.resolveUpdate(update)
        if (resolved._tag === "Left") return Effect.fail(resolved.left)
        return operation<void, never>((opId) => ({ _tag: "UpdateOptions", opId, options: resolved.right }))
      })).pipe(Effect.withSpan("realtime.session.update", { attributes: { "realtime.update": "options" } }))

    const subscribe = <A extends RS.SessionEvent | Gen.Generation>(open: () => Mailbox.Mailbox<A, FatalError | SlowConsumerError>) =>
      Effect.acquireRelease(
        Effect.sync(open),
        (mailbox) => Effect.sync(() => shell.unsubscribe(mailbox))
      ).pipe(Effect.map((mailbox) => Mailbox.toStream(mailbox)))
    const subscribeEvents = subscribe(shell.subscribeEvents)
    const subscribeGenerations = subscribe(shell.subscribeGenerations)

    const service: RS.RealtimeSessionService = {
      pushAudio: audio.push,
      pushVideo: (frame) =>
        sendOwn({
          type: "conversation.item.create",
          item: { type: "message", role: "user", content: [{ type: "input_image", image_url: frame.imageUrl }] }
        }),
      commitAudio: guarded(audio.commit),
      clearAudio: guarded(audio.clear),
      generateReply,
      interrupt: guarded(Effect.sync(() => shell.apply({ _tag: "Interrupt" }))),
      truncate: (options) => operation<void, TimeoutError>((opId) => ({ _tag: "Truncate", opId, options })),
      say: (text) =>
        sendOwn({
          type: "conversation.item.create",
          item: { type: "force_message", role: "assistant", content: [{ type: "output_text", text }] }
        }),
      updateInstructions: (instructions) =>
        updateOptions({ instructions }).pipe(
          Effect.catchTag("ConfigurationError", (error) => Effect.die(error))
        ),
      updateChatContext: (wanted: Chat.ChatContext) =>
        operation<void, TimeoutError>((opId) => ({ _tag: "SyncChat", opId, wanted })).pipe(
          Effect.withSpan("realtime.updateChatContext", { attributes: { "realtime.chat.items": wanted.items.length } })
        ),
      updateTools: (tools) =>
        guarded(Effect.suspend(() => {
          const result = Tool.partition(tools)
          return operation<RS.ToolUpdate, never>((opId) => ({
            _tag: "UpdateTools",
            opId,
            tools: result.tools,
            definitions: result.definitions,
            rejected: result.rejected
          }))
        })).pipe(Effect.withSpan("realtime.session.update", { attributes: { "realtime.update": "tools" } })),
      updateOptions,
      sendToolOutput: (callId, output) => operation<void, UnknownCallError>((opId) => ({ _tag: "SendToolOutput", opId, callId, output })),
      chatContext: Effect.sync(() => shell.state().conversation.mirror),
      tools: Effect.sync(() => shell.state().tools),
      sendEvent: send,
      events: Stream.unwrapScoped(subscribeEvents),
      generations: Stream.unwrapScoped(subscribeGenerations),
      subscribeEvents,
      subscribeGenerations,
      awaitClosed: Deferred.await(shell.closed)
    }
    for (const r of initialTools.rejected) {
      yield* Effect.logWarning(`tool ${r.name} dropped: ${r.reason}`)
    }
    return service

    /** Sends an event the session builds itself: an encoding failure is a defect, not the caller's error. */
    function sendOwn(event: Protocol.ClientEvent) {
      return send(event).pipe(Effect.catchTag("ProtocolError", (error) => Effect.die(error)))
    }
  })
