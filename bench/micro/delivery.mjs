// The hand-off from the session to a consumer's Stream: one element per macrotask (real-time pacing:
// every delta wakes the consumer), the consumer draining with Stream.runForEach. Compares
// Mailbox.toStream (what a generation's streams are built on), Queue + Stream.fromQueue, the
// purpose-built pull below (a plain array, the consumer takes all of it per wake-up), and a plain fiber loop on Mailbox.takeAll without
// any Stream (the floor of a fiber hand-off). Prints microseconds per element, CPU included.
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"

const count = Number(process.env.DELIVERY_N ?? 20_000)
const tick = () => new Promise((resolve) => setImmediate(resolve))

/** Offers `n` items one per macrotask through `offer`, then `end`; resolves when the consumer saw all. */
const drive = async (n, offer, end, consumed) => {
  for (let i = 0; i < n; i++) {
    offer(i)
    await tick()
  }
  end()
  await consumed
}


/** The purpose-built alternative: offers push onto an array; the consumer takes all of it as one chunk per wake-up. */
const makeHandoff = () => {
  let items = []
  let exit
  let wake
  const takeNow = () => {
    if (items.length > 0) {
      const batch = items
      items = []
      return Effect.succeed(Chunk.unsafeFromArray(batch))
    }
    return Exit.isSuccess(exit) ? Effect.succeed(undefined) : Effect.failCause(exit.cause)
  }
  const waitForItems = Effect.async((resume) => {
    wake = resume
    return Effect.sync(() => void (wake = undefined))
  })
  const take = Effect.suspend(() => (items.length > 0 || exit !== undefined ? takeNow() : waitForItems))
  const pull = Channel.flatMap(take, (batch) => (batch === undefined ? Channel.void : Channel.zipRight(Channel.write(batch), pull)))
  const notify = () => {
    const resume = wake
    if (resume === undefined) return
    wake = undefined
    resume(takeNow())
  }
  return {
    offer: (item) => {
      items.push(item)
      notify()
    },
    done: (end) => {
      exit = end
      notify()
    },
    stream: Stream.fromChannel(pull)
  }
}

const cases = {
  "Mailbox.toStream": () => {
    const box = Effect.runSync(Mailbox.make())
    const consumed = Effect.runPromise(Stream.runForEach(Mailbox.toStream(box), () => Effect.void))
    return { offer: (i) => box.unsafeOffer(i), end: () => box.unsafeDone(Exit.void), consumed }
  },
  "Queue + Stream.fromQueue": () => {
    const queue = Effect.runSync(Queue.unbounded())
    let stop
    const consumed = Effect.runPromise(
      Stream.runForEach(Stream.fromQueue(queue).pipe(Stream.takeWhile((x) => x !== -1)), () => Effect.void)
    )
    stop = () => Queue.unsafeOffer(queue, -1)
    return { offer: (i) => Queue.unsafeOffer(queue, i), end: stop, consumed }
  },
  "purpose-built pull (array + wake)": () => {
    const h = makeHandoff()
    const consumed = Effect.runPromise(Stream.runForEach(h.stream, () => Effect.void))
    return { offer: (i) => h.offer(i), end: () => h.done(Exit.void), consumed }
  },
  "fiber loop on takeAll (no Stream)": () => {
    const box = Effect.runSync(Mailbox.make())
    const consumed = Effect.runPromise(Effect.gen(function*() {
      while (true) {
        const [, done] = yield* box.takeAll
        if (done) return
      }
    }))
    return { offer: (i) => box.unsafeOffer(i), end: () => box.unsafeDone(Exit.void), consumed }
  }
}

/** Runs every case, interleaved round by round; `smoke`: fewer elements and rounds. */
export async function run({ smoke }) {
  const n = smoke ? 2_000 : count
  // Rounds interleave the cases; figures are medians over the rounds after the first (warm-up).
  const rounds = smoke ? 2 : Number(process.env.DELIVERY_ROUNDS ?? 7)
  const samples = new Map(Object.keys(cases).map((name) => [name, []]))
  for (let round = 0; round < rounds; round++) {
    for (const [name, make] of Object.entries(cases)) {
      const { offer, end, consumed } = make()
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      await drive(n, offer, end, consumed)
      const ms = performance.now() - t0
      const cpu = process.cpuUsage(c0)
      if (round > 0) samples.get(name).push({ us: (ms * 1000) / n, cpuUs: (cpu.user + cpu.system) / n })
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  const results = [...samples].map(([name, xs]) => ({ name, us: median(xs.map((x) => x.us)), cpuUs: median(xs.map((x) => x.cpuUs)) }))
  const floor = results.find((r) => r.name.startsWith("fiber loop"))
  const empty = await (async () => {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) await tick()
    return ((performance.now() - t0) * 1000) / n
  })()
  console.log(`${n} elements, one per macrotask (an empty macrotask costs ${empty.toFixed(2)} us here)`)
  for (const r of results) {
    console.log(`  ${r.name.padEnd(36)} ${r.us.toFixed(2).padStart(7)} us/element wall, ${r.cpuUs.toFixed(2).padStart(7)} us CPU, ${(r.cpuUs / floor.cpuUs).toFixed(2)}x the plain fiber loop`)
  }
}
