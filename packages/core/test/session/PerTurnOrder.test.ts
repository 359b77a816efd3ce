// Per-turn wake-ups seen from the public API, with frames pushed from outside any fiber (as ws's
// 'message' callback does): order across a reply's streams, and fake timers.
import { assert, describe, it } from "@effect/vitest"
import { vi } from "vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { makeInbox, Transport, type Inbox } from "../../src/Transport.js"
import * as RealtimeSession from "../../src/RealtimeSession.js"
import { Resampler } from "../../src/Resampler.js"
import * as Xai from "../../src/Xai.js"

const realSetTimeout = globalThis.setTimeout

/** A transport whose frames are pushed by plain (non-fiber) code, like NodeTransport. */
const pushTransport = () => {
  const box: { inbox: Inbox | undefined; sent: Array<Record<string, unknown>> } = { inbox: undefined, sent: [] }
  const transport = Transport.of({
    open: () =>
      Effect.gen(function*() {
        const inbox = yield* makeInbox
        box.inbox = inbox
        inbox.offer(JSON.stringify({ type: "session.created", event_id: "e1", session: { id: "s1" } }))
        inbox.offer(JSON.stringify({ type: "conversation.created", event_id: "e2", conversation: { id: "c1" } }))
        return {
          send: (text: string) => Effect.sync(() => void box.sent.push(JSON.parse(text))),
          messages: inbox.messages,
          listen: inbox.listen,
          close: () => Effect.void
        }
      })
  })
  return { box, layer: Layer.succeed(Transport, transport) }
}

let n = 0
const frames = {
  created: (rid: string, replyId: string) => ({
    type: "response.created",
    event_id: `ev${n++}`,
    response: { id: rid, object: "realtime.response", status: "in_progress", output: [], metadata: { client_event_id: replyId } }
  }),
  added: (rid: string, item: string) => ({
    type: "response.output_item.added",
    event_id: `ev${n++}`,
    response_id: rid,
    output_index: 0,
    item: { id: item, object: "realtime.item", type: "message", status: "in_progress", role: "assistant", content: [] }
  }),
  text: (rid: string, item: string, delta: string) => ({
    type: "response.text.delta",
    event_id: `ev${n++}`,
    response_id: rid,
    item_id: item,
    output_index: 0,
    content_index: 0,
    delta
  }),
  itemDone: (rid: string, item: string) => ({
    type: "response.output_item.done",
    event_id: `ev${n++}`,
    response_id: rid,
    output_index: 0,
    item: { id: item, object: "realtime.item", type: "message", status: "completed", role: "assistant", content: [] }
  }),
  done: (rid: string) => ({
    type: "response.done",
    event_id: `ev${n++}`,
    response: { id: rid, object: "realtime.response", status: "completed", output: [] }
  })
}

/** Delivers frames from a plain callback (no current fiber), all in one turn. */
const deliver = (box: { inbox: Inbox | undefined }, ...events: Array<object>) =>
  Effect.promise(() =>
    new Promise<void>((resolve) =>
      realSetTimeout(() => {
        for (const e of events) box.inbox!.offer(JSON.stringify(e))
        resolve()
      }, 0)
    )
  )

const settle = Effect.promise(() => new Promise<void>((r) => realSetTimeout(r, 20)))

const withSession = <A, E>(
  body: (s: RealtimeSession.RealtimeSessionService, box: ReturnType<typeof pushTransport>["box"]) => Effect.Effect<A, E, Scope.Scope>
) =>
  Effect.gen(function*() {
    const { box, layer } = pushTransport()
    const model = Xai.layer({ apiKey: Redacted.make("k"), turnDetection: null }).pipe(Layer.orDie)
    return yield* Effect.gen(function*() {
      const session = yield* RealtimeSession.make()
      yield* settle
      return yield* body(session, box)
    }).pipe(Effect.provide(Layer.mergeAll(model, layer, Resampler.layerLinear)))
  })

/** generateReply, answered with response.created + a message from plain code. */
const startReply = (session: RealtimeSession.RealtimeSessionService, box: ReturnType<typeof pushTransport>["box"]) =>
  Effect.gen(function*() {
    const reply = yield* Effect.fork(session.generateReply())
    yield* settle
    const create = box.sent.find((e) => e["type"] === "response.create")!
    yield* deliver(box, frames.created("r1", create["event_id"] as string), frames.added("r1", "i1"))
    const gen = yield* Fiber.join(reply)
    const message = Option.getOrThrow(yield* Stream.runHead(gen.messages))
    return { gen, message }
  })

describe("per-turn wake-ups: order and fake timers", () => {
  it.live("the end of gen.messages does not overtake the last text of a message (frames from an I/O callback)", () =>
    withSession((session, box) =>
      Effect.gen(function*() {
        const { gen, message } = yield* startReply(session, box)
        const log: Array<string> = []
        yield* Effect.fork(Stream.runForEach(message.text, (d) => Effect.sync(() => void log.push(`text:${d.text}`))))
        yield* Effect.fork(Effect.zipRight(Stream.runDrain(gen.messages), Effect.sync(() => void log.push("messages end"))))
        yield* settle
        yield* deliver(box, frames.text("r1", "i1", "a"))
        yield* settle
        // One socket read: the last delta, the item's end and the response's end.
        yield* deliver(box, frames.text("r1", "i1", "b"), frames.itemDone("r1", "i1"), frames.done("r1"))
        yield* settle
        assert.deepStrictEqual(log, ["text:a", "text:b", "messages end"])
      })
    ).pipe(Effect.scoped))

  it("under vi.useFakeTimers (setImmediate faked) a reply's text still arrives", async () => {
    vi.useFakeTimers({ toFake: ["setImmediate", "clearImmediate"] })
    try {
      const result = await Effect.runPromise(
        withSession((session, box) =>
          Effect.gen(function*() {
            const run = Effect.gen(function*() {
              const { message } = yield* startReply(session, box)
              const text = yield* Effect.fork(Stream.runCollect(message.text))
              yield* deliver(box, frames.text("r1", "i1", "hi"), frames.itemDone("r1", "i1"), frames.done("r1"))
              return yield* Fiber.join(text).pipe(Effect.map((c) => [...c].map((d) => d.text).join("")))
            })
            return yield* run.pipe(
              Effect.raceFirst(Effect.promise(() => new Promise<string>((r) => realSetTimeout(() => r("HUNG"), 3000))))
            )
          })
        ).pipe(Effect.scoped)
      )
      assert.strictEqual(result, "hi")
    } finally {
      vi.useRealTimers()
    }
  })

  // After the test above: a wake-up held on a fake setImmediate would never run, and every later one
  // in the process would queue behind it, even one a fiber asks for.
  it.live("real timers again: a reply whose frames a fiber hands on still arrives", () =>
    withSession((session, box) =>
      Effect.gen(function*() {
        const reply = yield* Effect.fork(session.generateReply())
        yield* settle
        const create = box.sent.find((e) => e["type"] === "response.create")!
        yield* Effect.sync(() => {
          for (const e of [frames.created("r1", create["event_id"] as string), frames.added("r1", "i1")]) {
            box.inbox!.offer(JSON.stringify(e))
          }
        })
        const gen = yield* Fiber.join(reply).pipe(Effect.timeout("2 seconds"))
        assert.strictEqual(gen.responseId, "r1")
      })
    ).pipe(Effect.scoped))
})
