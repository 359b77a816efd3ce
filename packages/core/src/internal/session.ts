/** The session engine: one dispatcher fiber owns all session state; everything else sends it commands. */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberMap from "effect/FiberMap"
import * as FiberSet from "effect/FiberSet"
import * as Mailbox from "effect/Mailbox"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as AudioFrame from "../AudioFrame.js"
import * as AudioInput from "../AudioInput.js"
import * as Chat from "../ChatContext.js"
import * as Connection from "../Connection.js"
import {
  ConnectionError,
  type FatalError,
  ResponseFailedError,
  ServerError,
  SessionClosedError,
  TimeoutError
} from "../Errors.js"
import * as Gen from "../Generation.js"
import * as Protocol from "../Protocol.js"
import { RealtimeModel, type RealtimeModelOptions } from "../RealtimeModel.js"
import type * as RS from "../RealtimeSession.js"
import * as Tool from "../Tool.js"
import * as items from "./items.js"

type ServerEvent = Protocol.ServerEvent
type ServerEventOf<T extends ServerEvent["type"]> = Extract<ServerEvent, { readonly type: T }>

// ---------------------------------------------------------------------------
// Commands: the only way other fibers reach the session state.
// ---------------------------------------------------------------------------

type Ack = Deferred.Deferred<void, ConnectionError>

type Command =
  | Connection.ConnectionEvent
  | { readonly _tag: "Fatal"; readonly error: FatalError }
  | {
    readonly _tag: "GenerateReply"
    readonly id: string
    readonly instructions: string | undefined
    readonly userInitiated: boolean
    readonly deferred: Deferred.Deferred<GenState, FatalError | TimeoutError> | undefined
  }
  | { readonly _tag: "ReplyTimeout"; readonly id: string }
  | { readonly _tag: "ReplyAbandoned"; readonly id: string }
  | { readonly _tag: "GenerationReleased"; readonly responseId: string }
  | { readonly _tag: "Interrupt" }
  | { readonly _tag: "ForgetAcks"; readonly acks: ReadonlyArray<Ack> }
  | { readonly _tag: "Truncate"; readonly options: RS.TruncateOptions; readonly deferred: Deferred.Deferred<ReadonlyArray<Ack>> }
  | {
    readonly _tag: "SyncChat"
    readonly wanted: Chat.ChatContext
    readonly deferred: Deferred.Deferred<ReadonlyArray<Ack>>
  }
  | {
    readonly _tag: "ToolOutputs"
    readonly responseId: string
    readonly outputs: ReadonlyArray<{ readonly call: Gen.FunctionCall; readonly output: string }>
    readonly reply: boolean
  }

interface MessageState {
  readonly id: string
  readonly text: Mailbox.Mailbox<Gen.TextDelta, Gen.GenerationError>
  readonly audio: Mailbox.Mailbox<AudioFrame.AudioFrame, Gen.GenerationError>
  readonly modalities: Deferred.Deferred<Gen.Modalities, Gen.GenerationError>
  modalitiesKnown: boolean
}

interface GenState {
  readonly responseId: string
  readonly userInitiated: boolean
  readonly generation: Gen.Generation
  readonly messages: Mailbox.Mailbox<Gen.MessageGeneration, Gen.GenerationError>
  readonly functionCalls: Mailbox.Mailbox<Gen.FunctionCall, Gen.GenerationError>
  readonly done: Deferred.Deferred<Gen.ResponseSummary, Gen.GenerationError>
  readonly open: Map<string, MessageState>
  readonly calls: Array<Gen.FunctionCall>
  readonly createdAtMs: number
  firstTokenAtMs: number | undefined
  spoken: boolean
  interrupted: boolean
  toolsRun: boolean
}

interface PendingReply {
  readonly id: string
  readonly instructions: string | undefined
  readonly userInitiated: boolean
  readonly deferred: Deferred.Deferred<GenState, FatalError | TimeoutError> | undefined
}

const DEFAULT_TIMEOUT = Duration.seconds(5)
const OUTPUT_RATE = 24_000
/** Bound of the bookkeeping sets and maps that only grow with the conversation. */
const MAX_TRACKED = 1024

/** @internal */
export const make = (
  sessionOptions: RS.SessionOptions = {}
) =>
  Effect.gen(function*() {
    const model = yield* RealtimeModel
    const scope = yield* Effect.scope
    const replyTimeout = Duration.decode(sessionOptions.replyTimeout ?? DEFAULT_TIMEOUT)
    const ackTimeout = Duration.decode(sessionOptions.ackTimeout ?? DEFAULT_TIMEOUT)
    const toolTimeout = Duration.decode(sessionOptions.toolTimeout ?? Duration.seconds(30))
    const debug = sessionOptions.debugEvents === true
    const isXai = model.options.provider === "xai"

    // State readable by other fibers; written only by the dispatcher (or the update methods that own them).
    const optionsRef = yield* Ref.make<RealtimeModelOptions>(model.options)
    const initialTools = Tool.partition(model.tools)
    const toolsRef = yield* Ref.make<ReadonlyArray<Tool.Tool>>(initialTools.tools)
    const remoteRef = yield* Ref.make<Chat.ChatContext>(Chat.empty)
    const idle = yield* SubscriptionRef.make(true)
    const closed = yield* Deferred.make<never, FatalError>()

    const eventsHub = yield* PubSub.unbounded<RS.SessionEvent>()
    // `undefined` is the end marker: streams end after it, so no consumer loses what preceded it.
    const generationsHub = yield* PubSub.unbounded<Gen.Generation | undefined>()
    const commands = yield* Queue.unbounded<Command>()
    const fibers = yield* FiberSet.make()
    const replyTimers = yield* FiberMap.make<string>()

    const emit = (event: RS.SessionEvent) => PubSub.publish(eventsHub, event)

    const sessionUpdate = (session: Protocol.SessionConfig): Protocol.ClientEvent => ({
      type: "session.update",
      session
    })

    const toolDefinitions = (tools: ReadonlyArray<Tool.Tool>) => Tool.partition(tools).definitions

    const replay = Effect.gen(function*() {
      const options = yield* Ref.get(optionsRef)
      const tools = yield* Ref.get(toolsRef)
      const remote = yield* Ref.get(remoteRef)
      const events: Array<Protocol.ClientEvent> = [
        sessionUpdate({ ...model.sessionConfig(options), tools: [...toolDefinitions(tools)] })
      ]
      for (const item of Chat.forReplay(remote)) {
        events.push({ type: "conversation.item.create", item: items.toProtocol(item) })
      }
      return events
    })

    const connection = yield* Connection.make({
      request: Effect.sync(() => model.request()),
      retry: model.options.connOptions,
      maxSessionDuration: model.options.maxSessionDuration,
      replay,
      awaitIdle: idle.changes.pipe(Stream.filter((b) => b), Stream.take(1), Stream.runDrain),
      isRecycleError: model.isRecycleError,
      // Connection events go straight into the dispatcher's queue, in order.
      sink: {
        offerAll: (events) => Queue.offerAll(commands, events),
        fail: (error) => Queue.offer(commands, { _tag: "Fatal", error })
      }
    })

    const send = (event: Protocol.ClientEvent) =>
      debug ? Effect.zipRight(connection.send(event), emit({ _tag: "ClientEvent", event })) : connection.send(event)

    // -----------------------------------------------------------------------
    // The dispatcher: the only fiber that reads or writes the state below.
    // -----------------------------------------------------------------------
    let current: GenState | undefined
    const pending = new Map<string, PendingReply>() // sent, waiting for response.created
    const waiting: Array<PendingReply> = [] // not sent yet: another response is active
    const abandoned = new Set<string>() // timed out or abandoned: cancel their response on arrival
    const abandon = (id: string) => {
      abandoned.add(id)
      if (abandoned.size > MAX_TRACKED) abandoned.delete(abandoned.values().next().value!)
    }
    const createAcks = new Map<string, Array<Deferred.Deferred<void, ConnectionError>>>()
    const deleteAcks: Array<{ readonly id: string; readonly deferred: Deferred.Deferred<void, ConnectionError> }> = []
    const audioMsByItem = new Map<string, number>()
    let remote: Chat.ChatContext = Chat.empty
    let heldTranscript: { readonly itemId: string; readonly transcript: string } | undefined
    let nextId = 0

    const setRemote = (ctx: Chat.ChatContext) => {
      remote = ctx
      return Ref.set(remoteRef, ctx)
    }
    const updateIdle = () => SubscriptionRef.set(idle, current === undefined && pending.size === 0 && waiting.length === 0)

    const flushTranscript = Effect.suspend(() => {
      const held = heldTranscript
      if (held === undefined) return Effect.void
      heldTranscript = undefined
      return Effect.zipRight(
        setRemote(Chat.setTranscript(remote, held.itemId, held.transcript)),
        emit({ _tag: "InputTranscription", itemId: held.itemId, transcript: held.transcript, isFinal: true })
      )
    })

    const newGeneration = (responseId: string, userInitiated: boolean) =>
      Effect.gen(function*() {
        const messages = yield* Mailbox.make<Gen.MessageGeneration, Gen.GenerationError>()
        const functionCalls = yield* Mailbox.make<Gen.FunctionCall, Gen.GenerationError>()
        const done = yield* Deferred.make<Gen.ResponseSummary, Gen.GenerationError>()
        const state: GenState = {
          responseId,
          userInitiated,
          messages,
          functionCalls,
          done,
          open: new Map(),
          calls: [],
          createdAtMs: yield* Clock.currentTimeMillis,
          firstTokenAtMs: undefined,
          spoken: false,
          interrupted: false,
          toolsRun: false,
          generation: {
            responseId,
            userInitiated,
            messages: Mailbox.toStream(messages),
            functionCalls: Mailbox.toStream(functionCalls),
            done: Deferred.await(done)
          }
        }
        return state
      })

    const setModalities = (msg: MessageState, modalities: Gen.Modalities) => {
      if (msg.modalitiesKnown) return Effect.void
      msg.modalitiesKnown = true
      return Deferred.succeed(msg.modalities, modalities)
    }

    const closeMessage = (msg: MessageState, exit: Exit.Exit<void, Gen.GenerationError>) =>
      Effect.all([
        msg.text.done(exit),
        msg.audio.done(exit),
        Exit.isSuccess(exit) ? setModalities(msg, ["text"]) : Deferred.failCause(msg.modalities, exit.cause)
      ], { discard: true })

    /** Ends a generation: its streams end (or fail), `done` completes, it is no longer current. */
    const finish = (
      gen: GenState,
      outcome: Exit.Exit<Gen.ResponseSummary, Gen.GenerationError>,
      replyAfterTools = false
    ) =>
      Effect.gen(function*() {
        const streamsExit: Exit.Exit<void, Gen.GenerationError> = Exit.isSuccess(outcome) ? Exit.void : Exit.failCause(outcome.cause)
        for (const msg of gen.open.values()) yield* closeMessage(msg, streamsExit)
        gen.open.clear()
        yield* gen.messages.done(streamsExit)
        yield* gen.functionCalls.done(streamsExit)
        yield* Deferred.done(gen.done, outcome)
        if (current === gen) current = undefined
        // Function calls always get their outputs, even when the response was cut short
        // (otherwise the model waits for ever); only a completed response asks for a reply.
        if (Exit.isSuccess(outcome) && gen.calls.length > 0 && !gen.toolsRun) {
          gen.toolsRun = true
          yield* runTools(gen, replyAfterTools)
        }
        yield* updateIdle()
        yield* sendNextWaiting
      })

    const summary = (gen: GenState, status: Gen.ResponseSummary["status"], metrics?: Gen.GenerationMetrics): Gen.ResponseSummary => ({
      responseId: gen.responseId,
      status,
      metrics,
      functionCalls: [...gen.calls]
    })

    /** Drops a response that has not spoken (xAI may leave it running). */
    const discard = (gen: GenState) => finish(gen, Exit.succeed(summary(gen, "discarded")))

    const sendReply = (reply: PendingReply) =>
      Effect.gen(function*() {
        pending.set(reply.id, reply)
        yield* send({
          type: "response.create",
          response: {
            ...(reply.instructions !== undefined ? { instructions: reply.instructions } : {}),
            metadata: { client_event_id: reply.id }
          }
        })
        yield* updateIdle()
      })

    const responseActive = () => current !== undefined || pending.size > 0

    const sendNextWaiting: Effect.Effect<void, FatalError> = Effect.suspend(() => {
      if (responseActive()) return Effect.void
      const next = waiting.shift()
      return next === undefined ? Effect.void : sendReply(next)
    })

    const failReply = (reply: PendingReply, error: FatalError | TimeoutError) =>
      reply.deferred === undefined ? Effect.void : Deferred.fail(reply.deferred, error)

    const messageOf = (gen: GenState, itemId: string) =>
      Effect.gen(function*() {
        const existing = gen.open.get(itemId)
        if (existing !== undefined) return existing
        const msg: MessageState = {
          id: itemId,
          text: yield* Mailbox.make<Gen.TextDelta, Gen.GenerationError>(),
          audio: yield* Mailbox.make<AudioFrame.AudioFrame, Gen.GenerationError>(),
          modalities: yield* Deferred.make<Gen.Modalities, Gen.GenerationError>(),
          modalitiesKnown: false
        }
        gen.open.set(itemId, msg)
        yield* gen.messages.offer({
          messageId: itemId,
          text: Mailbox.toStream(msg.text),
          audio: Mailbox.toStream(msg.audio),
          modalities: Deferred.await(msg.modalities)
        })
        return msg
      })

    /** The live generation for an event's response id, or undefined when it is stale or dropped. */
    const genFor = (responseId: string | undefined) =>
      current !== undefined && (responseId === undefined || current.responseId === responseId) ? current : undefined

    const firstToken = (gen: GenState) =>
      Effect.gen(function*() {
        if (!gen.spoken) {
          gen.spoken = true
          yield* flushTranscript
        }
        if (gen.firstTokenAtMs === undefined) gen.firstTokenAtMs = yield* Clock.currentTimeMillis
      })

    // --- server events -------------------------------------------------------

    const onResponseCreated = (event: ServerEventOf<"response.created">) =>
      Effect.gen(function*() {
        const response = event.response
        const responseId = response.id ?? `response_${nextId++}`
        const clientEventId = clientEventIdOf(response.metadata)
        if (clientEventId !== undefined && abandoned.has(clientEventId)) {
          // Its request timed out or was abandoned: it must not play.
          abandoned.delete(clientEventId)
          pending.delete(clientEventId)
          yield* send({ type: "response.cancel", response_id: responseId })
          yield* updateIdle()
          return yield* sendNextWaiting
        }
        if (current !== undefined) {
          // A new response while another is current: one that has not spoken is discarded (xAI).
          yield* current.spoken ? finish(current, Exit.succeed(summary(current, "cancelled"))) : discard(current)
        }
        const reply = clientEventId === undefined ? undefined : pending.get(clientEventId)
        if (reply !== undefined) {
          pending.delete(reply.id)
          yield* FiberMap.remove(replyTimers, reply.id)
        }
        const gen = yield* newGeneration(responseId, reply?.userInitiated ?? false)
        current = gen
        yield* updateIdle()
        if (reply?.deferred !== undefined) yield* Deferred.succeed(reply.deferred, gen)
        yield* PubSub.publish(generationsHub, gen.generation)
        yield* emit({ _tag: "GenerationCreated", responseId, userInitiated: gen.userInitiated })
      })

    const onOutputItemAdded = (event: ServerEventOf<"response.output_item.added">) =>
      Effect.gen(function*() {
        const gen = genFor(event.response_id)
        const item = event.item
        if (gen === undefined || !Protocol.isMessageItem(item) || item.id === undefined) return
        const msg = yield* messageOf(gen, item.id)
        const modalities = (yield* Ref.get(optionsRef)).modalities
        if (!modalities.includes("audio")) {
          yield* msg.audio.end
          yield* setModalities(msg, ["text"])
        }
      })

    const onContentPartAdded = (event: ServerEventOf<"response.content_part.added">) =>
      Effect.gen(function*() {
        const gen = genFor(event.response_id)
        if (gen === undefined) return
        const msg = yield* messageOf(gen, event.item_id)
        const partType = event.part.type
        if (partType === "text" || partType === "output_text") {
          yield* msg.audio.end
          yield* setModalities(msg, ["text"])
        } else if (partType === "audio" || partType === "output_audio") {
          yield* setModalities(msg, ["audio", "text"])
        }
      })

    const trackAudio = (itemId: string, samples: number) => {
      const before = audioMsByItem.get(itemId)
      if (before === undefined && audioMsByItem.size >= MAX_TRACKED) audioMsByItem.delete(audioMsByItem.keys().next().value!)
      audioMsByItem.set(itemId, (before ?? 0) + (samples * 1000) / OUTPUT_RATE)
    }

    /**
     * The hot path, without building an Effect: a delta for a message that is already streaming.
     * Returns false when the general handler must run (first delta, unknown message, debug events).
     */
    const deliverDelta = (event: Protocol.DecodedServerEvent): boolean => {
      if (debug || Protocol.isUnknownServerEvent(event)) return false
      switch (event.type) {
        case "response.output_audio.delta":
        case "response.output_audio_transcript.delta":
        case "response.output_text.delta": {
          const gen = genFor(event.response_id)
          if (gen === undefined || !gen.spoken || gen.firstTokenAtMs === undefined) return false
          const msg = gen.open.get(event.item_id)
          if (msg === undefined || !msg.modalitiesKnown) return false
          if (event.type === "response.output_audio.delta") {
            const frame = AudioFrame.fromBase64(event.delta, OUTPUT_RATE, 1)
            trackAudio(event.item_id, frame.data.length)
            msg.audio.unsafeOffer(frame)
          } else {
            const startTime = startTimeOf(event)
            msg.text.unsafeOffer(startTime === undefined ? { text: event.delta } : { text: event.delta, startTime })
          }
          return true
        }
        default:
          return false
      }
    }

    const onAudioDelta = (event: ServerEventOf<"response.output_audio.delta">) =>
      Effect.gen(function*() {
        const gen = genFor(event.response_id)
        if (gen === undefined) return
        yield* firstToken(gen)
        const msg = yield* messageOf(gen, event.item_id)
        const frame = AudioFrame.fromBase64(event.delta, OUTPUT_RATE, 1)
        trackAudio(event.item_id, frame.data.length)
        yield* setModalities(msg, ["audio", "text"])
        msg.audio.unsafeOffer(frame)
      })

    const onTextDelta = (
      responseId: string | undefined,
      itemId: string,
      delta: string,
      startTime: number | undefined,
      isTranscript: boolean
    ) =>
      Effect.gen(function*() {
        const gen = genFor(responseId)
        if (gen === undefined) return
        const modalities = (yield* Ref.get(optionsRef)).modalities
        if (!isTranscript || !modalities.includes("audio")) yield* firstToken(gen)
        else if (!gen.spoken) {
          gen.spoken = true
          yield* flushTranscript
        }
        const msg = yield* messageOf(gen, itemId)
        msg.text.unsafeOffer(startTime === undefined ? { text: delta } : { text: delta, startTime })
      })

    const onOutputItemDone = (event: ServerEventOf<"response.output_item.done">) =>
      Effect.gen(function*() {
        const gen = genFor(event.response_id)
        const item = event.item
        if (gen === undefined) return
        if (Protocol.isFunctionCallItem(item)) {
          const call: Gen.FunctionCall = {
            itemId: item.id ?? "",
            callId: item.call_id,
            name: item.name,
            arguments: item.arguments
          }
          gen.calls.push(call)
          yield* gen.functionCalls.offer(call)
        } else if (Protocol.isMessageItem(item) && item.id !== undefined) {
          const msg = gen.open.get(item.id)
          if (msg !== undefined) {
            gen.open.delete(item.id)
            yield* closeMessage(msg, Exit.void)
          }
        }
      })

    const onResponseDone = (event: ServerEventOf<"response.done">) =>
      Effect.gen(function*() {
        const response = event.response
        const gen = current !== undefined && (response.id === undefined || response.id === current.responseId)
          ? current
          : undefined
        if (gen === undefined) return // response.done without (a live) response.created: ignored
        const status = response.status ?? "completed"
        const metrics = Gen.computeMetrics({
          responseId: gen.responseId,
          status,
          usage: response.usage,
          createdAtMs: gen.createdAtMs,
          firstTokenAtMs: gen.firstTokenAtMs,
          doneAtMs: yield* Clock.currentTimeMillis,
          model: model.options.model,
          provider: model.options.provider
        })
        if (status === "failed") {
          yield* emit({
            _tag: "Error",
            error: new ResponseFailedError({
              message: `response ${gen.responseId} failed: ${JSON.stringify(response.status_details ?? {})}`,
              responseId: gen.responseId
            }),
            recoverable: true
          })
        }
        yield* emit({ _tag: "Metrics", metrics })
        yield* Metric.increment(Gen.responsesMetric)
        yield* Metric.incrementBy(Gen.outputTokensMetric, metrics.outputTokens)
        if (metrics.ttftMs >= 0) yield* Metric.update(Gen.ttftMetric, metrics.ttftMs)
        const interrupted = gen.interrupted || status === "cancelled"
        yield* finish(gen, Exit.succeed(summary(gen, status, metrics)), !interrupted)
      })

    /** Runs the model's function calls in a fiber, then hands the outputs back to the dispatcher. */
    const runTools = (gen: GenState, reply: boolean) =>
      Effect.gen(function*() {
        const tools = yield* Ref.get(toolsRef)
        const run = Effect.forEach(
          gen.calls,
          (call) =>
            Tool.executeCall(tools, call).pipe(
              // A handler that never answers must not hold back the outputs (the model would wait for ever).
              Effect.timeoutTo({
                duration: toolTimeout,
                onSuccess: (output) => output,
                onTimeout: () => Option.some(`Tool "${call.name}" did not finish within ${Duration.format(toolTimeout)}`)
              }),
              Effect.map(Option.map((output) => ({ call, output })))
            ),
          { concurrency: "unbounded" }
        ).pipe(
          Effect.flatMap((results) =>
            Queue.offer(commands, {
              _tag: "ToolOutputs",
              responseId: gen.responseId,
              outputs: results.flatMap(Option.toArray),
              reply
            })
          )
        )
        yield* FiberSet.run(fibers, run)
      })

    const onItemAdded = (previousId: string | null | undefined, item: Protocol.ConversationItem) =>
      Effect.gen(function*() {
        const chatItem = items.fromProtocol(item)
        if (chatItem === undefined) return
        yield* setRemote(Chat.insertAfter(remote, previousId, chatItem))
        const acks = createAcks.get(chatItem.id)
        if (acks !== undefined) {
          createAcks.delete(chatItem.id)
          for (const d of acks) yield* Deferred.succeed(d, undefined)
        }
      })

    const onItemDeleted = (itemId: string) =>
      Effect.gen(function*() {
        // xAI acknowledges with an EMPTY item id: match it to the oldest pending delete.
        const index = itemId === "" ? (deleteAcks.length > 0 ? 0 : -1) : deleteAcks.findIndex((a) => a.id === itemId)
        const id = index >= 0 ? deleteAcks[index]!.id : itemId
        if (index >= 0) {
          const [ack] = deleteAcks.splice(index, 1)
          yield* Deferred.succeed(ack!.deferred, undefined)
        }
        if (id !== "") yield* setRemote(Chat.remove(remote, id))
      })

    const onTranscription = (itemId: string, transcript: string, final: boolean) =>
      Effect.gen(function*() {
        if (!isXai || final) {
          yield* setRemote(Chat.appendTranscript(remote, itemId, transcript))
          yield* emit({ _tag: "InputTranscription", itemId, transcript, isFinal: true })
          return
        }
        // xAI: every completion and partial is non-final; the last completion is held and emitted
        // once as final later.
        yield* emit({ _tag: "InputTranscription", itemId, transcript, isFinal: false })
      })

    const onServerEvent = (event: Protocol.DecodedServerEvent): Effect.Effect<void, FatalError> =>
      Effect.gen(function*() {
        if (debug) yield* emit({ _tag: "ServerEvent", event })
        if (Protocol.isUnknownServerEvent(event)) {
          if (!debug) yield* emit({ _tag: "ServerEvent", event })
          return
        }
        switch (event.type) {
          case "input_audio_buffer.speech_started": {
            if (heldTranscript !== undefined && heldTranscript.itemId !== event.item_id) yield* flushTranscript
            // xAI drops a response the user talks over before it spoke, with no response.done.
            if (isXai && current !== undefined && !current.spoken) yield* discard(current)
            return yield* emit({ _tag: "SpeechStarted", itemId: event.item_id, audioStartMs: event.audio_start_ms })
          }
          case "input_audio_buffer.speech_stopped": {
            const options = yield* Ref.get(optionsRef)
            return yield* emit({
              _tag: "SpeechStopped",
              itemId: event.item_id,
              audioEndMs: event.audio_end_ms,
              userTranscriptionEnabled: options.inputAudioTranscription !== null
            })
          }
          case "response.created":
            return yield* onResponseCreated(event)
          case "response.output_item.added":
            return yield* onOutputItemAdded(event)
          case "response.content_part.added":
            return yield* onContentPartAdded(event)
          case "response.output_audio.delta":
            return yield* onAudioDelta(event)
          case "response.output_audio_transcript.delta":
            return yield* onTextDelta(event.response_id, event.item_id, event.delta, startTimeOf(event), true)
          case "response.output_text.delta":
            return yield* onTextDelta(event.response_id, event.item_id, event.delta, startTimeOf(event), false)
          case "response.output_item.done":
            return yield* onOutputItemDone(event)
          case "response.done":
            return yield* onResponseDone(event)
          case "conversation.item.added":
          case "conversation.item.created": // beta name; xAI replays resumed history with it
            return yield* onItemAdded(event.previous_item_id, event.item)
          case "conversation.item.deleted":
            return yield* onItemDeleted(event.item_id ?? "")
          case "conversation.item.input_audio_transcription.completed": {
            if (isXai) {
              yield* onTranscription(event.item_id, event.transcript, false)
              heldTranscript = { itemId: event.item_id, transcript: event.transcript }
              return
            }
            return yield* onTranscription(event.item_id, event.transcript, true)
          }
          case "conversation.item.input_audio_transcription.updated":
            return yield* onTranscription(event.item_id, event.transcript, false)
          case "conversation.item.input_audio_transcription.failed":
            return yield* Effect.logWarning(`input transcription failed for item ${event.item_id}`)
          case "error": {
            const detail = event.error
            const message = detail.message ?? "server error"
            if (message.startsWith("Cancellation failed")) return yield* Effect.logDebug(message)
            // Fatal codes end the session: the connection reports them once, as non-recoverable.
            if (detail.code != null && Connection.fatalErrorCodes.has(detail.code)) return
            return yield* emit({
              _tag: "Error",
              error: new ServerError({
                message,
                code: detail.code ?? undefined,
                errorType: detail.type ?? undefined,
                param: detail.param ?? undefined,
                eventId: detail.event_id ?? undefined,
                fatal: false
              }),
              recoverable: true
            })
          }
          case "input_audio_buffer.timeout_triggered": {
            // xAI's idle timeout (turn detection's idle_timeout_ms) concerns the app, not only debugging
            // (with debugEvents it was published above already).
            if (!debug) yield* emit({ _tag: "ServerEvent", event })
            return
          }
          default:
            return
        }
      })

    // --- connection lifecycle --------------------------------------------------

    const lostConnection = (error: ConnectionError | ServerError | undefined) =>
      Effect.gen(function*() {
        const reason = error ?? new ConnectionError({ message: "the connection was recycled", retryable: true })
        const lost = new ConnectionError({ message: `connection lost: ${reason.message}`, retryable: true })
        // The old connection's response is gone: pending replies fail, the current generation fails.
        for (const reply of pending.values()) {
          // Its response.create may still be re-sent from the Outbox: if it plays, cancel it.
          abandon(reply.id)
          yield* FiberMap.remove(replyTimers, reply.id)
          yield* failReply(reply, lost)
        }
        pending.clear()
        // Acknowledgements from the old connection will never come.
        for (const acks of createAcks.values()) for (const d of acks) yield* Deferred.fail(d, lost)
        for (const { deferred } of deleteAcks) yield* Deferred.fail(deferred, lost)
        createAcks.clear()
        deleteAcks.length = 0
        if (current !== undefined) {
          yield* finish(current, Exit.fail(lost))
        }
        yield* flushTranscript
        yield* updateIdle()
        yield* emit({ _tag: "Disconnected", error })
        yield* sendNextWaiting
      })

    const onInbound = (event: Connection.ConnectionEvent) => {
      switch (event._tag) {
        case "Message":
          return onServerEvent(event.event)
        case "Malformed":
          return emit({ _tag: "Error", error: event.error, recoverable: true })
        case "Disconnected":
          return lostConnection(event.error)
        case "Connected":
          return Effect.gen(function*() {
            if (event.reconnected) {
              // A new server session: its conversation is what the replay re-creates. Kept in the
              // mirror right away, so a second drop before the server echoes them loses nothing.
              yield* setRemote(Chat.make(Chat.forReplay(remote)))
              audioMsByItem.clear()
              yield* emit({ _tag: "Reconnected", connection: event.connection })
            } else {
              yield* emit({ _tag: "Connected", connection: event.connection })
            }
          })
      }
    }

    // --- commands ------------------------------------------------------------

    const onGenerateReply = (cmd: Extract<Command, { _tag: "GenerateReply" }>) =>
      Effect.gen(function*() {
        const reply: PendingReply = {
          id: cmd.id,
          instructions: cmd.instructions,
          userInitiated: cmd.userInitiated,
          deferred: cmd.deferred
        }
        // Every reply, the session's own included, is bounded: one that never comes must not block the rest.
        yield* FiberMap.run(
          replyTimers,
          cmd.id,
          Effect.sleep(replyTimeout).pipe(Effect.zipRight(Queue.offer(commands, { _tag: "ReplyTimeout", id: cmd.id })))
        )
        if (responseActive()) {
          waiting.push(reply)
          return yield* updateIdle()
        }
        yield* sendReply(reply)
      })

    const dropReply = (id: string, error: TimeoutError | undefined) =>
      Effect.gen(function*() {
        const queued = waiting.findIndex((r) => r.id === id)
        if (queued >= 0) {
          const [reply] = waiting.splice(queued, 1)
          if (error !== undefined) yield* failReply(reply!, error)
          return yield* updateIdle()
        }
        const sent = pending.get(id)
        if (sent === undefined) return
        // Sent but not matched yet: if its response arrives later it is cancelled.
        pending.delete(id)
        abandon(id)
        if (error !== undefined) yield* failReply(sent, error)
        yield* updateIdle()
        yield* sendNextWaiting
      })

    const onInterrupt = Effect.gen(function*() {
      yield* send({ type: "response.cancel" })
      const gen = current
      if (gen === undefined) return
      gen.interrupted = true
      if (!gen.spoken) yield* discard(gen)
    })

    const onTruncate = (options: RS.TruncateOptions) =>
      Effect.gen(function*() {
        const received = audioMsByItem.get(options.messageId)
        // An item with no audio on this connection (restored as text after a reconnect) keeps its
        // text: rewrite it with the transcript heard instead of deleting it.
        const hasAudio = options.modalities.includes("audio") && (received !== undefined || options.transcript === undefined)
        if (hasAudio) {
          const end = Math.floor(Math.min(Math.max(0, options.audioEndMs), received ?? 0))
          if (end <= 0) {
            const ack = yield* Deferred.make<void, ConnectionError>()
            deleteAcks.push({ id: options.messageId, deferred: ack })
            yield* send({ type: "conversation.item.delete", item_id: options.messageId })
            return [ack]
          }
          yield* send({
            type: "conversation.item.truncate",
            item_id: options.messageId,
            content_index: 0,
            audio_end_ms: end
          })
          return []
        }
        // Text only: replace the item's text with the transcript via the chat-context sync.
        const wanted = Chat.setContent(remote, options.messageId, [{ type: "text", text: options.transcript ?? "" }])
        return yield* onSyncChat(wanted)
      })

    const onSyncChat = (wanted: Chat.ChatContext) =>
      Effect.gen(function*() {
        const d = Chat.diff(remote, wanted)
        const acks: Array<Ack> = []
        for (const id of d.toRemove) {
          const ack = yield* Deferred.make<void, ConnectionError>()
          deleteAcks.push({ id, deferred: ack })
          acks.push(ack)
          yield* send({ type: "conversation.item.delete", item_id: id })
        }
        for (const { item, previousId } of d.toCreate) {
          const ack = yield* Deferred.make<void, ConnectionError>()
          createAcks.set(item.id, [...(createAcks.get(item.id) ?? []), ack])
          acks.push(ack)
          yield* send({
            type: "conversation.item.create",
            previous_item_id: previousId ?? "root",
            item: items.toProtocol(item)
          })
        }
        return acks
      })

    const onToolOutputs = (cmd: Extract<Command, { _tag: "ToolOutputs" }>) =>
      Effect.gen(function*() {
        // Outputs are always recorded, even when the response was interrupted meanwhile.
        for (const { call, output } of cmd.outputs) {
          yield* send({
            type: "conversation.item.create",
            item: { type: "function_call_output", call_id: call.callId, output }
          })
          yield* emit({ _tag: "FunctionCallExecuted", call, output })
        }
        if (cmd.reply && cmd.outputs.length > 0) {
          yield* onGenerateReply({
            _tag: "GenerateReply",
            id: `tool_reply_${cmd.responseId}`,
            instructions: undefined,
            userInitiated: false,
            deferred: undefined
          })
        }
      })

    const dispatch = (cmd: Command): Effect.Effect<void, FatalError> => {
      switch (cmd._tag) {
        case "Connected":
        case "Message":
        case "Malformed":
        case "Disconnected":
          return onInbound(cmd)
        case "Fatal":
          return Effect.fail(cmd.error)
        case "GenerateReply":
          return onGenerateReply(cmd)
        case "ReplyTimeout":
          return dropReply(
            cmd.id,
            new TimeoutError({
              message: `no response.created within ${Duration.format(replyTimeout)}`,
              operation: "generateReply"
            })
          )
        case "ReplyAbandoned":
          return dropReply(cmd.id, undefined)
        case "GenerationReleased": {
          const gen = current
          if (gen === undefined || gen.responseId !== cmd.responseId) return Effect.void
          // The caller's scope closed before response.done: cancel that response.
          gen.interrupted = true
          return Effect.zipRight(
            send({ type: "response.cancel", response_id: gen.responseId }),
            Effect.suspend(() => finish(gen, Exit.succeed(summary(gen, "cancelled"))))
          )
        }
        case "Interrupt":
          return onInterrupt
        case "ForgetAcks":
          return Effect.sync(() => {
            const forget = new Set(cmd.acks)
            const kept = deleteAcks.filter((a) => !forget.has(a.deferred))
            deleteAcks.length = 0
            deleteAcks.push(...kept)
            for (const [id, list] of createAcks) {
              const rest = list.filter((d) => !forget.has(d))
              if (rest.length === 0) createAcks.delete(id)
              else createAcks.set(id, rest)
            }
          })
        case "Truncate":
          return onTruncate(cmd.options).pipe(Effect.flatMap((acks) => Deferred.succeed(cmd.deferred, acks)))
        case "SyncChat":
          return onSyncChat(cmd.wanted).pipe(Effect.flatMap((acks) => Deferred.succeed(cmd.deferred, acks)))
        case "ToolOutputs":
          return onToolOutputs(cmd)
      }
    }

    /** Ends everything the state holds with `error`. */
    const shutdown = (error: FatalError) =>
      Effect.gen(function*() {
        yield* Deferred.fail(closed, error)
        yield* flushTranscript
        for (const reply of [...pending.values(), ...waiting]) yield* failReply(reply, error)
        pending.clear()
        waiting.length = 0
        if (current !== undefined) yield* finish(current, Exit.fail(error))
        for (const acks of createAcks.values()) for (const d of acks) yield* Deferred.interrupt(d)
        for (const { deferred } of deleteAcks) yield* Deferred.interrupt(deferred)
        for (const cmd of yield* Queue.takeAll(commands)) {
          if (cmd._tag === "GenerateReply" && cmd.deferred !== undefined) yield* Deferred.fail(cmd.deferred, error)
          if (cmd._tag === "Truncate" || cmd._tag === "SyncChat") yield* Deferred.succeed(cmd.deferred, [])
        }
        yield* emit({ _tag: "Closed", reason: error })
        yield* PubSub.publish(generationsHub, undefined)
      }).pipe(Effect.catchAll(() => Effect.void))

    const dispatcher = Effect.gen(function*() {
      while (true) {
        const batch = yield* Queue.takeBetween(commands, 1, 256)
        for (const cmd of batch) {
          if (cmd._tag === "Message" && deliverDelta(cmd.event)) continue
          yield* dispatch(cmd)
        }
      }
    }).pipe(
      Effect.catchAll((error) =>
        Effect.zipRight(
          error._tag === "SessionClosedError" ? Effect.void : emit({ _tag: "Error", error, recoverable: false }),
          shutdown(error)
        )
      ),
      Effect.onInterrupt(() => shutdown(new SessionClosedError({ message: "the session was closed" })))
    )


    yield* Effect.forkIn(dispatcher, scope)

    // -----------------------------------------------------------------------
    // The public methods.
    // -----------------------------------------------------------------------

    /** Waits for `effect`, or fails with the session's fatal error if the session ends first. */
    const orClosed = <A, E>(effect: Effect.Effect<A, E>) => Effect.raceFirst(effect, Deferred.await(closed))

    const ask = <A>(make: (deferred: Deferred.Deferred<A>) => Command) =>
      Effect.gen(function*() {
        const deferred = yield* Deferred.make<A>()
        yield* Queue.offer(commands, make(deferred))
        return yield* orClosed(Deferred.await(deferred))
      })

    const awaitAcks = (acks: ReadonlyArray<Ack>, operation: string) =>
      orClosed(Effect.all(acks.map(Deferred.await), { discard: true })).pipe(
        Effect.timeoutFail({
          duration: ackTimeout,
          onTimeout: () => new TimeoutError({ message: `no acknowledgement within ${Duration.format(ackTimeout)}`, operation })
        }),
        // Expired waiters must not linger: a stale delete would take a later empty-id acknowledgement.
        Effect.tapError(() => Queue.offer(commands, { _tag: "ForgetAcks", acks }))
      )

    const guarded = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | FatalError, R> =>
      Deferred.isDone(closed).pipe(
        Effect.flatMap((done): Effect.Effect<A, E | FatalError, R> => done ? Deferred.await(closed) : effect)
      )

    // Audio input: its own small state, guarded by a semaphore (pushAudio may be called from any fiber).
    const audioInput = yield* AudioInput.make
    const audioLock = yield* Effect.makeSemaphore(1)
    let pushedMs = 0

    const appendChunk = (chunk: Int16Array) => {
      pushedMs += (chunk.length * 1000) / OUTPUT_RATE
      return send({ type: "input_audio_buffer.append", audio: AudioFrame.encodeBase64(chunk) })
    }

    const pushAudio = (frame: AudioFrame.AudioFrame) =>
      guarded(Effect.suspend((): Effect.Effect<void, FatalError | AudioFrame.AudioFrameError> => {
        // A frame that cannot be audio is refused with a typed error before it touches the pipeline.
        const valid = AudioFrame.validate(frame.data, frame.sampleRate, frame.channels)
        if (Either.isLeft(valid)) return Effect.fail(valid.left)
        return audioLock.withPermits(1)(
          audioInput.push(frame).pipe(Effect.flatMap((chunks) => Effect.forEach(chunks, appendChunk, { discard: true })))
        )
      }))

    const commitAudio = guarded(audioLock.withPermits(1)(Effect.gen(function*() {
      const rest = yield* audioInput.flush
      if (rest !== undefined && rest.length > 0) yield* appendChunk(rest)
      if (pushedMs > 100) {
        yield* send({ type: "input_audio_buffer.commit" })
        pushedMs = 0
      }
    })))

    const clearAudio = guarded(audioLock.withPermits(1)(Effect.gen(function*() {
      yield* audioInput.clear
      yield* send({ type: "input_audio_buffer.clear" })
      pushedMs = 0
    })))

    const generateReply = (options?: { readonly instructions?: string | undefined }) =>
      guarded(Effect.acquireRelease(
        // Interruptible: the wait races the session's end, and the caller may give up meanwhile.
        Effect.interruptible(Effect.gen(function*() {
          const id = `reply_${crypto.randomUUID()}`
          const deferred = yield* Deferred.make<GenState, FatalError | TimeoutError>()
          yield* Queue.offer(commands, {
            _tag: "GenerateReply",
            id,
            instructions: options?.instructions,
            userInitiated: true,
            deferred
          })
          const gen = yield* orClosed(Deferred.await(deferred)).pipe(
            Effect.onInterrupt(() => Queue.offer(commands, { _tag: "ReplyAbandoned", id }))
          )
          return gen
        })),
        (gen) =>
          Deferred.isDone(gen.done).pipe(
            Effect.flatMap((done) => done ? Effect.void : Queue.offer(commands, { _tag: "GenerationReleased", responseId: gen.responseId }))
          )
      )).pipe(Effect.map((gen) => gen.generation))

    const updateOptions = (partial: Partial<RealtimeModelOptions>) =>
      guarded(Effect.gen(function*() {
        yield* Ref.update(optionsRef, (o) => ({ ...o, ...partial }))
        yield* send(sessionUpdate(model.sessionConfig(partial)))
      }))

    const updateTools = (tools: ReadonlyArray<Tool.Tool>) =>
      guarded(Effect.gen(function*() {
        const result = Tool.partition(tools)
        for (const r of result.rejected) {
          yield* emit({ _tag: "Warning", message: `tool ${r.name} dropped: ${r.reason}` })
        }
        yield* Ref.set(toolsRef, result.tools)
        yield* send(sessionUpdate({ tools: [...result.definitions] }))
        return { tools: result.tools, rejected: result.rejected }
      }))

    /** Subscribes now; a subscriber that arrives after the end gets an empty stream. */
    const subscribe = <A>(hub: PubSub.PubSub<A>) =>
      Effect.gen(function*() {
        const queue = yield* PubSub.subscribe(hub)
        return (yield* Deferred.isDone(closed)) ? Stream.empty : Stream.fromQueue(queue)
      })
    const subscribeEvents = subscribe(eventsHub).pipe(
      Effect.map(Stream.takeUntil((e: RS.SessionEvent) => e._tag === "Closed"))
    )
    const subscribeGenerations = subscribe(generationsHub).pipe(
      Effect.map((s) => s.pipe(Stream.takeWhile((g): g is Gen.Generation => g !== undefined)))
    )

    const service: RS.RealtimeSessionService = {
      pushAudio,
      pushVideo: (frame) =>
        guarded(send({
          type: "conversation.item.create",
          item: { type: "message", role: "user", content: [{ type: "input_image", image_url: frame.imageUrl }] }
        })),
      commitAudio,
      clearAudio,
      generateReply,
      interrupt: guarded(Queue.offer(commands, { _tag: "Interrupt" })).pipe(Effect.asVoid),
      truncate: (options) =>
        guarded(ask<ReadonlyArray<Ack>>((deferred) => ({ _tag: "Truncate", options, deferred })).pipe(
          Effect.flatMap((acks) => awaitAcks(acks, "truncate"))
        )),
      say: (text) =>
        guarded(send({
          type: "conversation.item.create",
          item: { type: "force_message", role: "assistant", content: [{ type: "output_text", text }] }
        })),
      updateInstructions: (instructions) => updateOptions({ instructions }),
      updateChatContext: (ctx) =>
        guarded(ask<ReadonlyArray<Ack>>((deferred) => ({ _tag: "SyncChat", wanted: ctx, deferred })).pipe(
          Effect.flatMap((acks) => awaitAcks(acks, "updateChatContext"))
        )),
      updateTools,
      updateOptions,
      chatContext: Ref.get(remoteRef),
      tools: Ref.get(toolsRef),
      sendEvent: (event) => guarded(send(event)),
      events: Stream.unwrapScoped(subscribeEvents),
      generations: Stream.unwrapScoped(subscribeGenerations),
      subscribeEvents,
      subscribeGenerations,
      awaitClosed: Deferred.await(closed)
    }
    for (const r of initialTools.rejected) {
      yield* Effect.logWarning(`tool ${r.name} dropped: ${r.reason}`)
    }
    return service
  })

const clientEventIdOf = (metadata: unknown): string | undefined => {
  if (typeof metadata !== "object" || metadata === null) return undefined
  const id = (metadata as Record<string, unknown>)["client_event_id"]
  return typeof id === "string" ? id : undefined
}

const startTimeOf = (event: object): number | undefined => {
  const t = (event as { readonly start_time?: unknown }).start_time
  return typeof t === "number" ? t : undefined
}

