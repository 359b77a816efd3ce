// A session end to end over the Node transport against the loopback fake server: a drop in the
// middle of a reply fails that reply's streams, the session reconnects, replays its history, and the
// next reply plays.
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { ChatContext, RealtimeSession, Resampler, Xai } from "@realtime-fx/core"
import { FakeServer } from "@realtime-fx/test-kit"
import { NodeTransport } from "@realtime-fx/node"

const until = (check: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    while (!(yield* check)) yield* Effect.sleep("10 millis")
  }).pipe(Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("condition not met in 5 s") }))

describe("RealtimeSession over NodeTransport (loopback fake server)", () => {
  it.live("a drop mid-reply fails that reply, the session reconnects with its history, and the next reply plays", () =>
    Effect.gen(function*() {
      // The server forgets conversations: the reconnect cannot resume (xAI conversation_id) and replays the history.
      const fake = yield* FakeServer.make({
        pacing: "realtime",
        reply: { audioMs: 1500, text: "A long answer." },
        faults: { forgetConversations: true }
      })
      const model = Xai.layer({ apiKey: Redacted.make("e2e-secret"), baseUrl: fake.url, turnDetection: null })
      yield* Effect.gen(function*() {
        const session = yield* RealtimeSession.make()
        const events = yield* session.subscribeEvents
        const tags: Array<string> = []
        yield* events.pipe(Stream.runForEach((e) => Effect.sync(() => tags.push(e._tag))), Effect.forkScoped)

        // History the server acknowledges.
        yield* session.updateChatContext(ChatContext.make([ChatContext.message("u_blue", "user", "My favourite colour is blue.")]))

        // A reply that is cut off after its first audio frame.
        const first = yield* session.generateReply()
        const message = Option.getOrThrow(yield* Stream.runHead(first.messages))
        const audio = yield* Stream.toPull(message.audio)
        yield* audio
        yield* fake.terminateAll
        const rest = yield* Stream.runDrain(Stream.fromPull(Effect.succeed(audio))).pipe(Effect.either)
        assert.isTrue(Either.isLeft(rest) && rest.left._tag === "ConnectionError", "the cut reply fails, it does not hang")
        assert.isTrue(Either.isLeft(yield* Effect.either(first.done)))

        // Reconnected (emitted once the replay is written): the history is replayed on the new
        // connection, after the session.update.
        yield* until(Effect.sync(() => tags.includes("Reconnected")))
        // Read only once the new connection's session.update has arrived (the first connection's
        // create of u_blue must not count as a replay).
        yield* until(fake.received.pipe(Effect.map((r) => r.filter((e) => e["type"] === "session.update").length === 2)))
        const replayed = fake.received.pipe(Effect.map((received) => {
          const lastUpdate = received.map((e) => e["type"]).lastIndexOf("session.update")
          return received.slice(lastUpdate).filter((e) => e["type"] === "conversation.item.create")
            .map((e) => (e["item"] as { id: string }).id)
        }))
        yield* until(replayed.pipe(Effect.map((ids) => ids.length >= 2)))
        // Both sides: the user's message and what the cut reply had said.
        assert.deepStrictEqual(yield* replayed, ["u_blue", message.messageId])

        // The next reply plays in full.
        const second = yield* session.generateReply()
        const frames = yield* second.messages.pipe(Stream.flatMap((m) => m.audio), Stream.runCollect)
        assert.strictEqual(Chunk.size(frames), 15)
        assert.strictEqual((yield* second.done).status, "completed")
        assert.deepStrictEqual(tags.filter((t) => t === "Disconnected" || t === "Reconnected"), ["Disconnected", "Reconnected"])
      }).pipe(Effect.provide(Layer.mergeAll(model, NodeTransport.layer, Resampler.Resampler.layer)), Effect.scoped)
    }).pipe(Effect.scoped, Effect.timeout("20 seconds")), 30_000)
})
