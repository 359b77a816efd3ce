// The per-turn scheduler of a generation's output mailboxes: wake-ups asked for from an I/O callback
// (outside any fiber) run together once the event-loop turn is done; a fiber's go its own way.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Scheduler from "effect/Scheduler"
import * as Stream from "effect/Stream"
import { inOrder, perTurn } from "../../src/internal/session/wakeups.js"

const scheduler = perTurn!
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))
const microtasks = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

describe("per-turn wake-ups", () => {
  it("exists on Node", () => {
    assert.isDefined(perTurn)
  })

  it("outside a fiber: tasks of one turn run together, in order, after the turn's callbacks", async () => {
    const ran: Array<string> = []
    // As from a socket's data callbacks: three in a row, microtasks drained between them.
    await new Promise<void>((resolve) =>
      setTimeout(async () => {
        scheduler.scheduleTask(() => ran.push("a"), 0)
        await microtasks()
        scheduler.scheduleTask(() => ran.push("b"), 0)
        await microtasks()
        scheduler.scheduleTask(() => ran.push("c"), 0)
        assert.deepStrictEqual(ran, [], "nothing runs within the turn")
        resolve()
      }, 0)
    )
    await nextTurn()
    assert.deepStrictEqual(ran, ["a", "b", "c"])
  })

  it("a task asked for while the batch runs waits for the next turn", async () => {
    const ran: Array<string> = []
    scheduler.scheduleTask(() => {
      ran.push("first")
      scheduler.scheduleTask(() => ran.push("later"), 0)
    }, 0)
    await nextTurn()
    assert.deepStrictEqual(ran, ["first"])
    await nextTurn()
    assert.deepStrictEqual(ran, ["first", "later"])
  })

  it.effect("inside a running fiber: the fiber's own scheduler takes the task", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const mine = Scheduler.make((task, priority) => {
        seen.push(priority)
        Scheduler.defaultScheduler.scheduleTask(task, priority)
      })
      let ran = false
      yield* Effect.sync(() => scheduler.scheduleTask(() => void (ran = true), 3)).pipe(Effect.withScheduler(mine))
      assert.deepStrictEqual(seen, [3])
      yield* Effect.yieldNow()
      assert.isTrue(ran)
    }))

  it.effect("a mailbox on it: offers from outside a fiber reach a waiting consumer as one chunk", () =>
    Effect.gen(function*() {
      const mailbox = yield* Effect.withScheduler(Mailbox.make<number>(), scheduler)
      const chunks: Array<ReadonlyArray<number>> = []
      const consumer = yield* Mailbox.toStream(mailbox).pipe(
        Stream.runForEachChunk((chunk) => Effect.sync(() => void chunks.push([...chunk]))),
        Effect.fork
      )
      yield* Effect.yieldNow()
      yield* Effect.promise(() =>
        new Promise<void>((resolve) =>
          setTimeout(async () => {
            for (let i = 1; i <= 3; i++) {
              mailbox.unsafeOffer(i)
              await microtasks()
            }
            mailbox.unsafeDone(Exit.void)
            resolve()
          }, 0)
        )
      )
      yield* consumer.await
      assert.deepStrictEqual(chunks, [[1, 2, 3]])
    }))

  it("inOrder outside a fiber: after the wake-ups already held, at the end of the turn", async () => {
    const ran: Array<string> = []
    scheduler.scheduleTask(() => ran.push("wake"), 0)
    inOrder(() => ran.push("done"))
    assert.deepStrictEqual(ran, [])
    await nextTurn()
    assert.deepStrictEqual(ran, ["wake", "done"])
  })

  it.effect("inOrder in a fiber: at once when nothing is held, in line behind what is", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      yield* Effect.sync(() => inOrder(() => ran.push("at once")))
      assert.deepStrictEqual(ran, ["at once"])
      // Held from an I/O callback, then a fiber's completion and wake-up in the same turn.
      yield* Effect.promise(() => new Promise<void>((resolve) => setTimeout(() => {
        scheduler.scheduleTask(() => ran.push("io wake"), 0)
        resolve()
      }, 0)))
      yield* Effect.sync(() => {
        inOrder(() => ran.push("fiber done"))
        scheduler.scheduleTask(() => ran.push("fiber wake"), 0)
      })
      assert.deepStrictEqual(ran, ["at once"])
      yield* Effect.promise(nextTurn)
      assert.deepStrictEqual(ran, ["at once", "io wake", "fiber done", "fiber wake"])
    }))
})
