// Supervision of a session (MockTransport, TestClock): a dead reader, a dead writer or a defect in a
// transition ends the session at once with a typed error that reaches every waiter and stream, a
// `Closed` event is published, the socket is closed and no fiber is left; garbage frames and events
// that cannot be encoded never end it.
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as MockTransport from "@realtime-fx/test-kit/MockTransport"
import { MockServer } from "@realtime-fx/test-kit/MockTransport"
import * as RealtimeModel from "../../src/RealtimeModel.js"
import * as RealtimeSession from "../../src/RealtimeSession.js"
import type { SessionEvent } from "../../src/RealtimeSession.js"
import { Resampler } from "../../src/Resampler.js"
import { Transport, type TransportConnection } from "../../src/Transport.js"
import * as Xai from "../../src/Xai.js"
import { open, script, settle } from "./harness.js"

/** Switches a fault on; the transport and model below read it. */
interface Faults {
  readonly killReader: Deferred.Deferred<void>
  killWriter: boolean
}

/** The MockTransport, with a reader (`messages.takeAll`) that dies on `killReader` and a `send` that dies once `killWriter` is set. */
const faultyTransport = (faults: Faults) =>
  Layer.effect(
    Transport,
    Effect.map(Transport, (inner) =>
      Transport.of({
        open: (request) =>
          Effect.map(inner.open(request), (conn): TransportConnection => ({
            send: (text) => (faults.killWriter ? Effect.die(new Error("writer boom")) : conn.send(text)),
            close: conn.close,
            messages: new Proxy(conn.messages, {
              get: (target, key) =>
                key === "takeAll"
                  ? Effect.raceFirst(
                    target.takeAll,
                    Deferred.await(faults.killReader).pipe(Effect.zipRight(Effect.die(new Error("reader boom"))))
                  )
                  : Reflect.get(target, key)
            })
          }))
      }))
  )

/** An xAI model whose `sessionConfig` throws for the instructions "boom" (the engine calls it inside `step`). */
const throwingModel = Layer.effect(
  RealtimeModel.RealtimeModel,
  Effect.map(RealtimeModel.RealtimeModel, (model) => ({
    ...model,
    sessionConfig: (options: Parameters<typeof model.sessionConfig>[0]) => {
      if (options.instructions === "boom") throw new Error("sessionConfig boom")
      return model.sessionConfig(options)
    }
  }))
).pipe(Layer.provide(Xai.layer({ apiKey: Redacted.make("xai-test-key") }).pipe(Layer.orDie)))

const layerWith = (faults: Faults, model: Layer.Layer<RealtimeModel.RealtimeModel> = Xai.layer({ apiKey: Redacted.make("xai-test-key") }).pipe(Layer.orDie)) => {
  const mock = MockTransport.layer({
    greeting: (connection) => [
      { type: "session.created", event_id: "ev_s", session: { id: `sess_${connection}` } },
      { type: "conversation.created", event_id: "ev_c", conversation: { id: `conv_${connection}` } }
    ]
  })
  return Layer.mergeAll(faultyTransport(faults).pipe(Layer.provideMerge(mock)), model, Resampler.layerLinear)
}

const makeFaults = Effect.map(Deferred.make<void>(), (killReader): Faults => ({ killReader, killWriter: false }))

/** The error a finished fiber failed with (asserts it finished, with a failure). */
const failureOf = <E>(fiber: Fiber.RuntimeFiber<unknown, E>, what: string): E => {
  const exit = fiber.unsafePoll()
  assert.isNotNull(exit, `${what} has ended`)
  assert.isTrue(exit !== null && Exit.isFailure(exit), `${what} failed`)
  const error = exit !== null && Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
  assert.isDefined(error, `${what} failed with a typed error: ${exit !== null && Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`)
  return error as E
}

/**
 * Opens a session with a reply in flight (its audio stream open, one frame delivered), a pending
 * `generateReply`, a truncate waiting for its acknowledgement, and consumers of `events` and
 * `generations`; runs `fault` and checks that everything ends with one `SessionClosedError` carrying
 * the defect (mentioning `where`), that `Closed` is published, the socket closed and no fiber left.
 */
const supervised = <R>(
  where: string,
  defect: string,
  fault: (session: RealtimeSession.RealtimeSessionService) => Effect.Effect<unknown, unknown, R>
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const supervisor = yield* Supervisor.track
    const inScope = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Scope.extend(scope), Effect.supervised(supervisor))
    const { collected, gens, server, session } = yield* inScope(open())
    const events = yield* inScope(Effect.forkScoped(Stream.runDrain(session.events)))
    const generations = yield* inScope(Effect.forkScoped(Stream.runDrain(session.generations)))

    // A reply in flight: its first audio frame delivered, its stream still open.
    yield* script.responseCreated("resp_1")
    yield* script.messageAdded("resp_1", "item_1")
    yield* script.audioDelta("resp_1", "item_1")
    yield* settle
    assert.strictEqual(gens.length, 1)
    const audio = yield* inScope(Effect.forkScoped(Stream.runCollect(gens[0]!.messages.pipe(Stream.flatMap((m) => m.audio)))))
    // A reply request waiting behind it, and a truncate waiting for its acknowledgement (a delete).
    const reply = yield* inScope(Effect.forkScoped(Effect.scoped(session.generateReply())))
    const truncate = yield* inScope(Effect.forkScoped(session.truncate({ messageId: "item_old", modalities: ["audio"], audioEndMs: 100 })))
    yield* server.nextClientEventOfType("conversation.item.delete")
    yield* settle
    for (const [fiber, what] of [[audio, "audio"], [reply, "generateReply"], [truncate, "truncate"], [events, "events"], [generations, "generations"]] as const) {
      assert.isNull(fiber.unsafePoll(), `${what} is still waiting before the fault`)
    }

    yield* Effect.exit(fault(session))
    yield* settle

    const error = failureOf(audio, "the in-flight reply's audio")
    assert.strictEqual(error._tag, "SessionClosedError")
    assert.include(error._tag === "SessionClosedError" ? error.message : "", where)
    assert.include(error._tag === "SessionClosedError" ? error.defect ?? "" : "", defect)
    for (const [fiber, what] of [[reply, "generateReply"], [truncate, "truncate"], [events, "events"], [generations, "generations"]] as const) {
      assert.strictEqual<unknown>(failureOf<unknown>(fiber, what), error, `${what} fails with the session's end`)
    }
    assert.strictEqual(yield* Effect.flip(session.awaitClosed), error)
    assert.strictEqual(yield* Effect.flip(session.commitAudio), error, "methods after the end fail with it")
    const closed = collected.filter((e): e is Extract<SessionEvent, { _tag: "Closed" }> => e._tag === "Closed")
    assert.strictEqual(closed.length, 1)
    assert.strictEqual(closed[0]!.reason, error)
    assert.isFalse(yield* server.isConnected, "the socket is closed")
    // Nothing is left running, even before the session's scope closes; and closing it is quiet.
    assert.deepStrictEqual(yield* supervisor.value, [], "no fiber is left")
    yield* Scope.close(scope, Exit.void)
    assert.strictEqual(yield* server.attempts, 1, "no reconnect")
    return error
  })

/** An xAI model whose dialect's `isRecycleError` throws (the connection reader calls it on every server error). */
const throwingDialect = Layer.effect(
  RealtimeModel.RealtimeModel,
  Effect.map(RealtimeModel.RealtimeModel, (model) => ({
    ...model,
    dialect: {
      ...model.dialect,
      isRecycleError: () => {
        throw new Error("isRecycleError boom")
      }
    }
  }))
).pipe(Layer.provide(Xai.layer({ apiKey: Redacted.make("xai-test-key") }).pipe(Layer.orDie)))

describe("Supervision: a session never freezes", () => {
  it.effect("the connection reader dies: the session ends with SessionClosedError and everything sees it", () =>
    Effect.gen(function*() {
      const faults = yield* makeFaults
      yield* supervised("the connection reader", "reader boom", () => Deferred.succeed(faults.killReader, undefined)).pipe(
        Effect.provide(layerWith(faults))
      )
    }))

  it.effect("the connection writer dies: the session ends with SessionClosedError and everything sees it", () =>
    Effect.gen(function*() {
      const faults = yield* makeFaults
      yield* supervised("the connection writer", "writer boom", (session) =>
        Effect.gen(function*() {
          faults.killWriter = true
          yield* session.interrupt
        })).pipe(Effect.provide(layerWith(faults)))
    }))

  it.effect("a transition throws (the model's sessionConfig, called by updateOptions inside step): the session ends with it", () =>
    Effect.gen(function*() {
      const faults = yield* makeFaults
      const error = yield* supervised("the session engine (on UpdateOptions)", "sessionConfig boom", (session) =>
        session.updateOptions({ instructions: "boom" })).pipe(Effect.provide(layerWith(faults, throwingModel)))
      assert.strictEqual(error._tag, "SessionClosedError")
    }))

  it.effect("a dialect rule that throws in the connection reader ends the session like a dead reader", () =>
    Effect.gen(function*() {
      const faults = yield* makeFaults
      yield* supervised("the connection reader", "isRecycleError boom", () => script.error("not fatal", "some_code")).pipe(
        Effect.provide(layerWith(faults, throwingDialect))
      )
    }))
})

const ofTag = <T extends SessionEvent["_tag"]>(events: ReadonlyArray<SessionEvent>, tag: T) =>
  events.filter((e): e is Extract<SessionEvent, { _tag: T }> => e._tag === tag)

describe("Supervision: faults while a connection opens", () => {
  it.scoped("the writer dies on the events that open a connection: the session ends with SessionClosedError, nothing left", () =>
    Effect.gen(function*() {
      const faults: Faults = { killReader: Deferred.unsafeMake(FiberId.none), killWriter: true }
      yield* Effect.gen(function*() {
        const scope = yield* Scope.make()
        const supervisor = yield* Supervisor.track
        const session = yield* RealtimeSession.make().pipe(Scope.extend(scope), Effect.supervised(supervisor))
        const events = yield* Effect.fork(Stream.runCollect(session.events))
        const server = yield* MockServer
        yield* server.awaitConnection
        yield* settle
        const error = yield* Effect.flip(session.awaitClosed)
        assert.strictEqual(error._tag, "SessionClosedError")
        assert.include(error._tag === "SessionClosedError" ? error.defect ?? "" : "", "writer boom")
        assert.strictEqual(yield* Effect.flip(Fiber.join(events)), error)
        assert.isFalse(yield* server.isConnected)
        assert.deepStrictEqual(yield* supervisor.value, [], "no fiber is left")
        yield* Scope.close(scope, Exit.void)
        assert.strictEqual(yield* server.attempts, 1, "a defect is not retried")
      }).pipe(Effect.provide(layerWith(faults)))
    }))
})

describe("Supervision: faults that must not end a session", () => {
  it.scoped("garbage frames are recoverable Error events; later valid frames are still delivered", () =>
    Effect.gen(function*() {
      const { collected, gens, server } = yield* open()
      const deep = "[".repeat(100_000) + "]".repeat(100_000)
      const garbage = [
        "this is not JSON {",
        "",
        "null",
        "42",
        deep,
        JSON.stringify({ type: "response.created", response: "x".repeat(4_000_000) }),
        JSON.stringify({ type: "response.output_audio.delta", response_id: "r", item_id: "i", delta: { toString: {} } }),
        JSON.stringify({ type: "error", error: { message: { toString: {} } } }),
        '{"__proto__":{"type":"response.done"},"type":"response.done","response":[]}'
      ]
      for (const frame of garbage) yield* server.send(frame)
      yield* settle
      const errors = ofTag(collected, "Error")
      assert.strictEqual(errors.length, garbage.length, "one recoverable error per malformed frame")
      for (const e of errors) {
        assert.isTrue(e.recoverable)
        assert.strictEqual(e.error._tag, "ProtocolError")
        assert.isBelow(e.error.message.length, 5_000, "the error's text is bounded")
      }
      assert.strictEqual(ofTag(collected, "Closed").length, 0, "the session goes on")
      yield* script.responseCreated("resp_after")
      yield* settle
      assert.deepStrictEqual(gens.map((g) => g.responseId), ["resp_after"])
    }).pipe(Effect.provide(layerWith({ killReader: Deferred.unsafeMake(FiberId.none), killWriter: false }))))

  it.scoped("an event that cannot be encoded fails sendEvent with ProtocolError, sends nothing, and later events go out", () =>
    Effect.gen(function*() {
      const { collected, server, session } = yield* open()
      yield* server.nextClientEventOfType("session.update")
      const before = (yield* server.clientEvents).length
      const cyclic: Record<string, unknown> = { type: "function" }
      cyclic["self"] = cyclic
      const bigint = yield* Effect.flip(
        session.sendEvent({ type: "session.update", session: { instructions: 1n } } as never)
      )
      assert.strictEqual(bigint._tag, "ProtocolError")
      const cycle = yield* Effect.flip(
        session.sendEvent({ type: "session.update", session: { instructions: "x", tools: [cyclic] } } as never)
      )
      assert.strictEqual(cycle._tag, "ProtocolError")
      yield* settle
      assert.strictEqual((yield* server.clientEvents).length, before, "nothing was sent")
      yield* session.sendEvent({ type: "input_audio_buffer.clear" })
      const next = yield* server.nextClientEvent
      assert.strictEqual(next.type, "input_audio_buffer.clear")
      assert.strictEqual((yield* server.clientEvents).length, before + 1)
      assert.strictEqual(ofTag(collected, "Closed").length, 0, "the session goes on")
    }).pipe(Effect.provide(layerWith({ killReader: Deferred.unsafeMake(FiberId.none), killWriter: false }))))
})
