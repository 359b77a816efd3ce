/**
 * The shell around the pure engine: it owns the one `SessionState`, runs `step` for every input and
 * interprets the actions (sends, stream offers, waiters, timers, tool runs). `apply` is synchronous,
 * so whichever fiber calls it (the connection reader, a caller's fiber, a timer) runs one whole
 * transition without interleaving: the dispatcher is the only writer, with no fiber hop of its own.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Context from "effect/Context"
import type * as Fiber from "effect/Fiber"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import * as AudioFrame from "../../AudioFrame.js"
import { type FatalError, SessionClosedError, SlowConsumerError, type TimeoutError } from "../../Errors.js"
import * as Gen from "../../Generation.js"
import * as Protocol from "../../Protocol.js"
import type * as RS from "../../RealtimeSession.js"
import * as Codec from "../audioCodec.js"
import * as Redact from "../redact.js"
import { ReceivedFrame } from "./receivedFrame.js"
import * as Replies from "./replies.js"
import type { Action, Input, OpResult, Outcome, SessionState } from "./state.js"
import { step } from "./step.js"
import { inOrder, perTurn } from "./wakeups.js"

interface MessageHandle {
  readonly text: Mailbox.Mailbox<Gen.TextDelta, Gen.GenerationError>
  readonly audio: Mailbox.Mailbox<AudioFrame.AudioFrame, Gen.GenerationError>
  readonly modalities: Deferred.Deferred<Gen.Modalities, Gen.GenerationError>
  /** A `runAudio` consumer: frames go to it instead of `audio`; it hears the end. */
  listener: AudioListener | undefined
  /** The audio has ended (its stream's end may still wait in line): later frames are dropped. */
  audioEnded: boolean
}

interface AudioListener {
  readonly onFrame: (frame: AudioFrame.AudioFrame) => void
  readonly resume: (end: Effect.Effect<void, Gen.GenerationError>) => void
}

/** A `runAudio` callback threw: the message's audio ends with the defect, and so does that `runAudio`. */
const audioCallbackThrew = (
  message: MessageHandle,
  resume: AudioListener["resume"],
  defect: unknown
): void => {
  message.audio.unsafeDone(Exit.die(defect))
  resume(Effect.die(defect))
}

/**
 * `runAudio`: the frames `audio` holds go to `onFrame` now, later ones as they arrive (the shell
 * calls the listener); the effect waits for the end of the audio.
 */
const runAudio = (message: MessageHandle, onFrame: (frame: AudioFrame.AudioFrame) => void) =>
  Effect.async<void, Gen.GenerationError>((resume) => {
    const held = Effect.runSyncExit(message.audio.clear)
    if (Exit.isFailure(held)) return resume(held)
    try {
      for (const frame of held.value) onFrame(frame)
    } catch (defect) {
      return audioCallbackThrew(message, resume, defect)
    }
    // Ended already (and now empty): the end is known at once.
    if (Option.isNone(message.audio.unsafeSize())) return resume(Effect.runSyncExit(message.audio.await))
    if (message.listener !== undefined) {
      return resume(Effect.dieMessage("runAudio: this message's audio already has a runAudio consumer"))
    }
    const listener: AudioListener = { onFrame, resume }
    message.listener = listener
    return Effect.sync(() => {
      if (message.listener === listener) message.listener = undefined
    })
  })

/** A generation's streams and completion, as handed to consumers. */
export interface GenerationHandle {
  readonly generation: Gen.Generation
  readonly messages: Mailbox.Mailbox<Gen.MessageGeneration, Gen.GenerationError>
  readonly functionCalls: Mailbox.Mailbox<Gen.FunctionCall, Gen.GenerationError>
  readonly done: Deferred.Deferred<Gen.ResponseSummary, Gen.GenerationError>
  readonly itemIds: Set<string>
}

/** What the shell needs from the world around it. */
export interface ShellEnv {
  readonly now: () => number
  readonly send: (event: Protocol.ClientEvent) => void
  /** Forks a fiber into the session's scope (timers, tool runs, logging). */
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
  readonly runTools: (
    calls: ReadonlyArray<Gen.FunctionCall>
  ) => Effect.Effect<ReadonlyArray<{ readonly call: Gen.FunctionCall; readonly output: string }>>
  readonly recordMetrics: (metrics: Gen.GenerationMetrics) => void
  /** Called once when the session ends (close the connection, stop fibers). */
  readonly onShutdown: (error: FatalError, quiet: boolean) => void
  /** Debug publishing of client events (`debugEvents`). */
  readonly debug: boolean
  /** Spans: one a response (the parent of its tool runs), under the session's parent span. */
  readonly tracer: Tracer.Tracer
  readonly parentSpan: Option.Option<Tracer.AnySpan>
  readonly nowNanos: () => bigint
  /** Items each output stream may hold unread before it fails with `SlowConsumerError` (default unbounded). */
  readonly outputBuffer?: number | undefined
}

/** The shell. */
export interface Shell {
  readonly apply: (input: Input) => void
  readonly state: () => SessionState
  readonly closed: Deferred.Deferred<never, FatalError>
  readonly generation: (responseId: string) => GenerationHandle | undefined
  readonly awaitReply: (replyId: string) => Deferred.Deferred<GenerationHandle, FatalError | TimeoutError>
  readonly awaitOp: (opId: number) => Deferred.Deferred<unknown, unknown>
  readonly nextOpId: () => number
  readonly subscribeEvents: () => Mailbox.Mailbox<RS.SessionEvent, FatalError | SlowConsumerError>
  readonly subscribeGenerations: () => Mailbox.Mailbox<Gen.Generation, FatalError | SlowConsumerError>
  /** Forgets a subscriber's mailbox (either kind). */
  readonly unsubscribe: (mailbox: object) => void
  readonly emit: (event: RS.SessionEvent) => void
  /** Idle changes: recycling waits for `true`. */
  readonly idle: Effect.Latch
}

const sync = <A>(effect: Effect.Effect<A>): A => Effect.runSync(effect)

/** Makes the shell around `initial`. */
export const make = (initial: SessionState, env: ShellEnv): Shell => {
  let state = initial
  let running = false
  let opIds = 0
  const backlog: Array<Input> = []
  const finishing: Array<string> = []
  const generations = new Map<string, GenerationHandle>()
  const messages = new Map<string, MessageHandle>()
  const replyWaiters = new Map<string, Deferred.Deferred<GenerationHandle, FatalError | TimeoutError>>()
  const opWaiters = new Map<number, Deferred.Deferred<unknown, unknown>>()
  const eventSubscribers = new Set<Mailbox.Mailbox<RS.SessionEvent, FatalError | SlowConsumerError>>()
  const generationSubscribers = new Set<Mailbox.Mailbox<Gen.Generation, FatalError | SlowConsumerError>>()
  const closed = sync(Deferred.make<never, FatalError>())
  // A response's span ends with it, or once its tool runs end (they are its children).
  const spans = new Map<string, Tracer.Span>()
  const endSpan = (responseId: string, exit: Exit.Exit<unknown, unknown>) => {
    const span = spans.get(responseId)
    if (span === undefined) return
    spans.delete(responseId)
    span.end(env.nowNanos(), exit)
  }
  const idle = Effect.unsafeMakeLatch(true)
  let ended: { readonly error: FatalError; readonly quiet: boolean } | undefined

  // Output streams hold what is not read yet: bounded by `outputBuffer`, a full one fails alone.
  // Unbounded ones wake their consumer once per event-loop turn; a bounded one once per socket read,
  // so that a burst read in one turn does not fill it before its consumer has run.
  const limit = env.outputBuffer
  // Ends and completions go in line with those per-turn wake-ups (`inOrder`), at once otherwise: an
  // empty mailbox's end and a Deferred wake their waiters directly, ahead of items held for the turn.
  const inLine = (run: () => void): void => limit === undefined ? inOrder(run) : run()
  const resolve = <A, E>(deferred: Deferred.Deferred<A, E>, effect: Effect.Effect<A, E>): void =>
    inLine(() => void Deferred.unsafeDone(deferred, effect))
  const end = <A, E>(mailbox: Mailbox.Mailbox<A, E>, exit: Exit.Exit<void, E>): void =>
    inLine(() => void mailbox.unsafeDone(exit))
  const outbox = <A, E>() => {
    const make = Mailbox.make<A, E | SlowConsumerError>(limit === undefined ? undefined : { capacity: limit })
    return sync(limit === undefined && perTurn !== undefined ? Effect.withScheduler(make, perTurn) : make)
  }
  const offer = <A, E>(mailbox: Mailbox.Mailbox<A, E | SlowConsumerError> | undefined, item: A, stream: string) => {
    if (mailbox === undefined || mailbox.unsafeOffer(item) || limit === undefined) return
    mailbox.unsafeDone(Exit.fail(
      new SlowConsumerError({ message: `the ${stream} stream's consumer fell behind (${limit} items unread)`, stream, limit })
    ))
  }

  /** A server `error` event's text with the session's secrets (API key, ...) scrubbed out. */
  const scrubError = (event: Protocol.DecodedServerEvent): Protocol.DecodedServerEvent => {
    if (Protocol.isUnknownServerEvent(event) || event.type !== "error" || event.error.message == null) return event
    return { ...event, error: { ...event.error, message: state.config.scrub(event.error.message) } }
  }

  /**
   * Publishes an event; raw protocol events are published with their secrets redacted (MCP
   * credentials) or scrubbed (the session's secrets quoted in a server error).
   */
  const emit = (event: RS.SessionEvent) => {
    if (eventSubscribers.size === 0) return
    const published: RS.SessionEvent = event._tag === "ServerEvent"
      ? { _tag: "ServerEvent", event: scrubError(Redact.redactServerEvent(event.event)) }
      : event._tag === "ClientEvent"
      ? { _tag: "ClientEvent", event: Redact.redactClientEvent(event.event) }
      : event
    for (const mailbox of eventSubscribers) offer(mailbox, published, "events")
  }

  const openGeneration = (responseId: string, userInitiated: boolean) => {
    const messagesBox = outbox<Gen.MessageGeneration, Gen.GenerationError>()
    const functionCalls = outbox<Gen.FunctionCall, Gen.GenerationError>()
    const done = sync(Deferred.make<Gen.ResponseSummary, Gen.GenerationError>())
    const handle: GenerationHandle = {
      messages: messagesBox,
      functionCalls,
      done,
      itemIds: new Set(),
      generation: {
        responseId,
        userInitiated,
        messages: Mailbox.toStream(messagesBox),
        functionCalls: Mailbox.toStream(functionCalls),
        done: Deferred.await(done)
      }
    }
    generations.set(responseId, handle)
    const span = env.tracer.span("realtime.response", env.parentSpan, Context.empty(), [], env.nowNanos(), "client")
    span.attribute("realtime.response.id", responseId)
    span.attribute("realtime.response.user_initiated", userInitiated)
    spans.set(responseId, span)
    for (const mailbox of generationSubscribers) offer(mailbox, handle.generation, "generations")
  }

  /**
   * The end of a message's audio, for its stream and its `runAudio` consumer (in line: a `runAudio`
   * that starts before it runs finds the stream open and is ended by it).
   */
  const endAudio = (message: MessageHandle, exit: Exit.Exit<void, Gen.GenerationError>) => {
    message.audioEnded = true
    inLine(() => {
      message.audio.unsafeDone(exit)
      const listener = message.listener
      if (listener === undefined) return
      message.listener = undefined
      listener.resume(exit)
    })
  }

  /** One received frame: to the `runAudio` consumer if there is one (a throw ends it alone), else the stream. */
  const deliverAudio = (message: MessageHandle, frame: AudioFrame.AudioFrame) => {
    const listener = message.listener
    if (listener === undefined) return offer(message.audio, frame, "audio")
    try {
      listener.onFrame(frame)
    } catch (defect) {
      message.listener = undefined
      audioCallbackThrew(message, listener.resume, defect)
    }
  }

  const closeMessage = (itemId: string, exit: Exit.Exit<void, Gen.GenerationError>) => {
    const message = messages.get(itemId)
    if (message === undefined) return
    messages.delete(itemId)
    end(message.text, exit)
    endAudio(message, exit)
    resolve(
      message.modalities,
      Exit.isSuccess(exit) ? Effect.succeed<Gen.Modalities>(["text"]) : Effect.failCause(exit.cause)
    )
  }

  const finishGeneration = (responseId: string, outcome: Outcome) => {
    const handle = generations.get(responseId)
    if (handle === undefined) return
    generations.delete(responseId)
    const exit: Exit.Exit<void, Gen.GenerationError> = outcome._tag === "Done" ? Exit.void : Exit.fail(outcome.error)
    for (const itemId of handle.itemIds) closeMessage(itemId, exit)
    end(handle.messages, exit)
    end(handle.functionCalls, exit)
    resolve(handle.done, outcome._tag === "Done" ? Effect.succeed(outcome.summary) : Effect.fail(outcome.error))
  }

  const complete = (opId: number, result: OpResult) => {
    const waiter = opWaiters.get(opId)
    if (waiter === undefined) return
    opWaiters.delete(opId)
    resolve(waiter, result._tag === "Ok" ? Effect.succeed(result.value) : Effect.fail(result.error))
  }

  const interpret = (action: Action): void => {
    switch (action._tag) {
      case "Send":
        env.send(action.event)
        if (env.debug) emit({ _tag: "ClientEvent", event: action.event })
        return
      case "Emit":
        return emit(action.event)
      case "OpenGeneration":
        return openGeneration(action.responseId, action.userInitiated)
      case "ResolveReply": {
        const waiter = replyWaiters.get(action.replyId)
        replyWaiters.delete(action.replyId)
        const handle = generations.get(action.responseId)
        if (waiter !== undefined && handle !== undefined) resolve(waiter, Effect.succeed(handle))
        return
      }
      case "FailReply": {
        const waiter = replyWaiters.get(action.replyId)
        replyWaiters.delete(action.replyId)
        if (waiter !== undefined) resolve(waiter, Effect.fail(action.error))
        return
      }
      case "OpenMessage": {
        const handle = generations.get(action.responseId)
        if (handle === undefined) return
        const message: MessageHandle = {
          text: outbox<Gen.TextDelta, Gen.GenerationError>(),
          audio: outbox<AudioFrame.AudioFrame, Gen.GenerationError>(),
          modalities: sync(Deferred.make<Gen.Modalities, Gen.GenerationError>()),
          listener: undefined,
          audioEnded: false
        }
        messages.set(action.itemId, message)
        handle.itemIds.add(action.itemId)
        offer(handle.messages, {
          messageId: action.itemId,
          text: Mailbox.toStream(message.text),
          audio: Mailbox.toStream(message.audio),
          runAudio: (onFrame) => runAudio(message, onFrame),
          modalities: Deferred.await(message.modalities)
        }, "messages")
        return
      }
      case "SetModalities": {
        const message = messages.get(action.itemId)
        if (message !== undefined) resolve(message.modalities, Effect.succeed(action.modalities))
        return
      }
      case "EndAudio": {
        const message = messages.get(action.itemId)
        if (message !== undefined) endAudio(message, Exit.void)
        return
      }
      case "Text":
        offer(messages.get(action.itemId)?.text, action.delta, "text")
        return
      case "Audio": {
        const message = messages.get(action.itemId)
        // Nothing decoded for audio that ended (its end may wait in line; a runAudio callback threw).
        if (
          message === undefined || message.audioEnded ||
          (message.listener === undefined && Option.isNone(message.audio.unsafeSize()))
        ) return
        deliverAudio(message, new ReceivedFrame(Codec.decodeReceived(action.base64)))
        return
      }
      case "CloseMessage":
        return closeMessage(action.itemId, Exit.void)
      case "FunctionCall":
        offer(generations.get(action.responseId)?.functionCalls, action.call, "functionCalls")
        return
      case "FinishGeneration":
        finishGeneration(action.responseId, action.outcome)
        spans.get(action.responseId)?.attribute(
          "realtime.response.status",
          action.outcome._tag === "Done" ? action.outcome.summary.status : action.outcome.error._tag
        )
        finishing.push(action.responseId)
        return
      case "Metrics": {
        const span = spans.get(action.metrics.requestId)
        if (span !== undefined) {
          span.attribute("realtime.response.ttft_ms", action.metrics.ttftMs)
          span.attribute("realtime.response.input_tokens", action.metrics.inputTokens)
          span.attribute("realtime.response.output_tokens", action.metrics.outputTokens)
          span.attribute("realtime.response.cancelled", action.metrics.cancelled)
        }
        return env.recordMetrics(action.metrics)
      }
      case "Complete":
        return complete(action.opId, action.result)
      case "Timer":
        env.fork(Effect.sleep(action.afterMs).pipe(Effect.zipRight(Effect.sync(() => apply(action.input)))))
        return
      case "RunTools": {
        const { calls, reply, responseId } = action
        const span = spans.get(responseId)
        const held = finishing.indexOf(responseId)
        if (held >= 0) finishing.splice(held, 1)
        const run = span === undefined ? env.runTools(calls) : Effect.withParentSpan(env.runTools(calls), span)
        env.fork(run.pipe(
          Effect.ensuring(Effect.sync(() => endSpan(responseId, Exit.void))),
          Effect.flatMap((outputs) => Effect.sync(() => apply({ _tag: "ToolOutputs", responseId, outputs, reply }))),
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause) ? Effect.void : Effect.sync(() => fault("a tool run", cause))
          )
        ))
        return
      }
      case "Log":
        env.fork(Effect.logDebug(action.message))
        return
      case "Shutdown":
        return shutdown(action.error, action.quiet)
    }
  }

  /** Ends everything the shell holds; runs once. */
  const shutdown = (error: FatalError, quiet: boolean) => {
    if (ended !== undefined) return
    ended = { error, quiet }
    for (const responseId of [...generations.keys()]) finishGeneration(responseId, { _tag: "Failed", error })
    for (const responseId of [...spans.keys()]) endSpan(responseId, Exit.fail(error))
    for (const waiter of replyWaiters.values()) resolve(waiter, Effect.fail(error))
    replyWaiters.clear()
    for (const waiter of opWaiters.values()) resolve(waiter, Effect.fail(error))
    opWaiters.clear()
    const exit: Exit.Exit<void, FatalError> = quiet ? Exit.void : Exit.fail(error)
    for (const mailbox of eventSubscribers) end(mailbox, exit)
    for (const mailbox of generationSubscribers) end(mailbox, exit)
    eventSubscribers.clear()
    generationSubscribers.clear()
    resolve(closed, Effect.fail(error))
    idle.unsafeOpen()
    env.onShutdown(error, quiet)
  }

  /** A fault (a throw in a transition or an action, a dead fiber): the session ends with it. */
  const fault = (where: string, cause: Cause.Cause<unknown>) => {
    const error = new SessionClosedError({
      message: `${where} failed unexpectedly: the session is closed`,
      defect: Cause.pretty(cause).slice(0, 2000)
    })
    try {
      const transition = step(state, { _tag: "Close", error, quiet: false }, env.now())
      state = transition.state
      for (const action of transition.actions) {
        try {
          interpret(action)
        } catch {
          // The orderly close failed too: the hard shutdown below still ends everything.
        }
      }
    } finally {
      shutdown(error, false)
    }
  }

  const run = (input: Input) => {
    let transition
    try {
      transition = step(state, input, env.now())
    } catch (defect) {
      return fault(`the session engine (on ${input._tag})`, Cause.die(defect))
    }
    state = transition.state
    for (const action of transition.actions) {
      try {
        interpret(action)
      } catch (defect) {
        return fault(`the session shell (${action._tag})`, Cause.die(defect))
      }
    }
    while (finishing.length > 0) endSpan(finishing.pop()!, Exit.void)
    if (Replies.isIdle(state)) idle.unsafeOpen()
    else idle.unsafeClose()
  }

  /** Runs one input (and any that arrive meanwhile) to completion. */
  const apply = (input: Input): void => {
    backlog.push(input)
    if (running) return
    running = true
    try {
      while (backlog.length > 0) run(backlog.shift()!)
    } finally {
      running = false
    }
  }

  const subscribe = <A>(set: Set<Mailbox.Mailbox<A, FatalError | SlowConsumerError>>) => {
    const mailbox = outbox<A, FatalError>()
    if (ended !== undefined) mailbox.unsafeDone(ended.quiet ? Exit.void : Exit.fail(ended.error))
    else set.add(mailbox)
    return mailbox
  }

  return {
    apply,
    state: () => state,
    closed,
    generation: (responseId) => generations.get(responseId),
    awaitReply: (replyId) => {
      const deferred = sync(Deferred.make<GenerationHandle, FatalError | TimeoutError>())
      replyWaiters.set(replyId, deferred)
      return deferred
    },
    awaitOp: (opId) => {
      const deferred = sync(Deferred.make<unknown, unknown>())
      opWaiters.set(opId, deferred)
      return deferred
    },
    nextOpId: () => ++opIds,
    subscribeEvents: () => subscribe(eventSubscribers),
    subscribeGenerations: () => subscribe(generationSubscribers),
    unsubscribe: (mailbox) => {
      eventSubscribers.delete(mailbox as Mailbox.Mailbox<RS.SessionEvent, FatalError | SlowConsumerError>)
      generationSubscribers.delete(mailbox as Mailbox.Mailbox<Gen.Generation, FatalError | SlowConsumerError>)
    },
    emit,
    idle
  }
}
