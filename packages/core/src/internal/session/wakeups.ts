/**
 * When a generation's output streams wake their consumers: once per turn of the host's event loop
 * for what a transport's I/O callback delivers.
 *
 * @since 0.2.0
 */
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scheduler from "effect/Scheduler"

// Taken once, when the module loads: a test's fake timers, installed later, would otherwise hold
// every wake-up for ever.
const setImmediate = (globalThis as { readonly setImmediate?: ((run: () => void) => unknown) | undefined })
  .setImmediate

/**
 * A scheduler for mailbox wake-ups. A wake-up asked for outside any fiber (an offer from a
 * transport's receive callback) waits until that turn of Node's event loop has run its I/O
 * callbacks (`setImmediate`), with the others of the turn: a burst of frames read in one turn (a
 * reply arriving faster than real time) wakes each consumer once, not once per socket read. One
 * asked for by a running fiber (an Effect program, a test double pushing frames) goes through that
 * fiber's scheduler, as usual, unless some are held (then it keeps its place in line). `undefined`
 * where the host has no `setImmediate` (browsers).
 *
 * @since 0.2.0
 */
export const perTurn: Scheduler.Scheduler | undefined = setImmediate === undefined
  ? undefined
  : Scheduler.make((task, priority) => {
    const fiber = unheld()
    if (Option.isSome(fiber)) fiber.value.currentScheduler.scheduleTask(task, priority)
    else later(task)
  })

let pending: Array<Scheduler.Task> = []

/** The running fiber, when nothing is held: what it asks for may then go the usual way. */
const unheld = () => (pending.length === 0 ? Fiber.getCurrentFiber() : Option.none())

const flush = () => {
  // What is asked for while these run waits for the next turn.
  const tasks = pending
  pending = []
  for (const task of tasks) task()
}

const later = (task: Scheduler.Task): void => {
  if (pending.length === 0) setImmediate!(flush)
  pending.push(task)
}

/**
 * Runs `complete` (a Deferred's completion) in order with the wake-ups `perTurn` holds: after them
 * when called outside any fiber on Node or while any are held, at once otherwise. A fiber waiting
 * for a reply's end then never runs before the consumers of what the reply sent before it, and a
 * session's end decided in a fiber never overtakes a reply that started in the same turn.
 *
 * @since 0.2.0
 */
export const inOrder = (complete: () => void): void => {
  if (perTurn === undefined || Option.isSome(unheld())) complete()
  else later(complete)
}
