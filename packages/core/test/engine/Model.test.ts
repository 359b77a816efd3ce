/**
 * A model-based property test of the pure session engine: random interleavings of server events
 * (from a simulated server that answers the engine's client events, with xAI quirks), connection
 * drops and reconnects, and commands, checked against invariants after every step.
 *
 * Invariants: every OpenGeneration ends in exactly one FinishGeneration (Close at the latest); no
 * response.create while another is in flight or a response is current; FailReply/ResolveReply only
 * for requested replies, once; no OpenMessage twice, no delta or close after a message closed; each
 * Complete for an issued op, once, and every op completed by Close; commands while disconnected still
 * send; the mirror's ids equal the simulated server's conversation whenever nothing is in flight.
 *
 * What it found (shrunk; the first three are fixed in `fix(engine):` commits with rule tests):
 * 1. [generate, abandon, generate]: a request abandoned by its caller after it was sent let the next
 *    response.create out at once (replies.ts giveUp; now drains).
 * 2. [created, generate, created]: a response.created replacing the current response sent the waiting
 *    request while the new response was active (generation.ts created; finish(next=false)).
 * 3. xAI: a refused resumption re-sends the history; a user item announced before its echo, then the
 *    echo with previous_item_id null, left the replayed item in place instead of at the tail.
 * 4. [created, outputItem, truncate(0 ms), serverProcess, itemDone]: an assistant message deleted while
 *    it streams re-entered the mirror (at the tail) when it completed (fixed: deleted ids stay out).
 * 5. There was one drain slot: a release, or another abandoned request's late response, while an
 *    abandoned request drained replaced that drain (fixed: a list of draining responses; the model
 *    still tracks one request in flight, so its check is relaxed after such an overlap: `knownOverlap`).
 * 6. xAI: the history re-sent after a refused resumption was not acknowledged; a drop before the server
 *    took it, then a resumption of the new (empty) conversation, left the mirror holding history the
 *    server never got (fixed: a conversation becomes resumable once the re-sent history is all echoed;
 *    the property checks it with no relaxation).
 * Known and left (the mirror checks stop for a run once it occurs: `knownDivergence`):
 * 7. xAI: an empty delete id is attributed to the oldest pending delete ack; after an AckTimeout (or with
 *    several deletes in flight) the mirror keeps an item the server deleted.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Chat from "../../src/ChatContext.js"
import { AuthenticationError, SessionClosedError } from "../../src/Errors.js"
import type * as Gen from "../../src/Generation.js"
import type * as Protocol from "../../src/Protocol.js"
import { replay } from "../../src/internal/session/conversation.js"
import type { Action, Input, SessionState } from "../../src/internal/session/state.js"
import { step } from "../../src/internal/session/step.js"
import { type DialectName, makeState, REPLY_TIMEOUT, S } from "./helpers.js"

/** One random operation; `a` and `b` pick among what makes sense at the time. */
type Op = readonly [kind: Kind, a: number, b: number]
type Kind = (typeof kinds)[number]
const kinds = [
  "generate", "serverProcess", "serverProcess", "serverProcess", "created", "outputItem", "delta", "delta", "itemDone",
  "callDone", "done", "done", "userSpeech", "error", "unknown", "drop", "reconnect", "replyTimeout", "abandon",
  "release", "interrupt", "sync", "truncate", "toolOutputs", "sendToolOutput", "drainTimeout", "ackTimeout",
  "advance", "updateOptions"
] as const

const arbOp: fc.Arbitrary<Op> = fc.tuple(fc.constantFrom(...kinds), fc.nat(1000), fc.nat(1000))

const pick = <A>(list: ReadonlyArray<A>, n: number): A | undefined => (list.length === 0 ? undefined : list[n % list.length])

interface ServerResponse {
  readonly id: string
  readonly items: Array<string>
  open: Array<string>
}

/** The simulated server and the checker's bookkeeping. */
class World {
  state: SessionState
  now = 0
  connection = 1
  open = true
  // --- the simulated server
  truth: Array<string> = []
  inbox: Array<Protocol.ClientEvent> = []
  /** Events sent while disconnected: the Outbox, written after the replay on the next connection. */
  outbox: Array<Protocol.ClientEvent> = []
  pendingCreates: Array<string> = []
  responses: Array<ServerResponse> = []
  conversationId = "conv_1"
  counter = 0
  // --- the checker
  opened = new Map<string, "open" | "finished">()
  inflightCreate: string | undefined = undefined
  /** When the in-flight request was given up on: the engine may stop waiting for it at this time. */
  inflightUntil: number | undefined = undefined
  requested = new Set<string>()
  replied = new Set<string>()
  messages = new Map<string, { responseId: string; closed: boolean }>()
  ops = new Set<number>()
  completed = new Set<number>()
  nextOp = 1
  runTools: Array<Extract<Action, { _tag: "RunTools" }>> = []
  /** A known divergence of the mirror (reported, not fixed): mirror checks stop for the run. */
  knownDivergence: string | undefined = undefined
  /** Known 3 (reported): a release while an abandoned request drains replaces its drain; the overlap check stops. */
  knownOverlap = false
  manual: Array<Gen.FunctionCall> = []

  constructor(readonly dialect: DialectName, readonly manualTools: boolean) {
    this.state = makeState(dialect, { toolExecution: manualTools ? "manual" : "auto" })
  }

  fresh(prefix: string) {
    return `${prefix}${++this.counter}`
  }

  /** Runs one input through `step` and checks every action against the invariants. */
  input(input: Input): ReadonlyArray<Action> {
    const phase = this.state.phase._tag
    const { actions, state } = step(this.state, input, this.now)
    this.state = state
    if (input._tag === "GenerateReply") this.requested.add(input.id)
    if (input._tag === "GenerationReleased" && this.inflightUntil !== undefined) this.knownOverlap = true
    if (input._tag === "Disconnected") {
      // What was in flight went with the connection; what is sent now waits in the Outbox.
      this.inflightCreate = undefined
      this.inflightUntil = undefined
    }
    if (input._tag === "ReplyAbandoned" && input.id === this.inflightCreate && this.inflightUntil === undefined) {
      this.inflightUntil = this.now + REPLY_TIMEOUT
    }
    if (input._tag === "ServerEvent" && this.inflightCreate !== undefined) {
      const event = input.event as { type?: string; response?: { id?: string; metadata?: { client_event_id?: string } } }
      if (
        event.type === "response.created" && this.inflightUntil !== undefined &&
        event.response?.metadata?.client_event_id === this.inflightCreate
      ) {
        // Cancelled on arrival (its request was given up on): in flight until its done or the bound.
        this.inflightCreate = `response:${event.response.id}`
        this.inflightUntil = this.now + REPLY_TIMEOUT
      } else if (
        event.type === "response.created" && this.inflightUntil !== undefined &&
        event.response?.metadata?.client_event_id !== undefined
      ) {
        this.knownOverlap = true // another abandoned request's late response replaces the drain (known 3)
      } else if (event.type === "response.done" && `response:${event.response?.id}` === this.inflightCreate) {
        this.inflightCreate = undefined
        this.inflightUntil = undefined
      }
    }
    for (const action of actions) this.check(action, phase)
    if (actions.some((a) => a._tag === "Send" && a.event.type === "response.create")) {
      // A request goes out only when no response is active (else: conversation_already_has_active_response).
      assert.isUndefined(this.state.current, "response.create sent while a response is current")
    }
    return actions
  }

  check(action: Action, phase: string) {
    switch (action._tag) {
      case "Send": {
        const event = action.event
        if (event.type === "response.create") {
          // A request given up on stays in flight until its (cancelled) response ends or the drain bound passes.
          if (this.inflightUntil !== undefined && this.now >= this.inflightUntil) this.inflightCreate = undefined
          if (!this.knownOverlap) {
            assert.isUndefined(this.inflightCreate, `response.create ${event.event_id} while ${this.inflightCreate} is in flight`)
          }
          this.inflightCreate = event.event_id
          this.inflightUntil = undefined
        }
        if (phase === "Closed") assert.fail(`sent ${event.type} after Close`)
        if (this.open) this.inbox.push(event)
        else this.outbox.push(event)
        break
      }
      case "OpenGeneration":
        assert.isFalse(this.opened.has(action.responseId), `generation ${action.responseId} opened twice`)
        this.opened.set(action.responseId, "open")
        break
      case "FinishGeneration":
        assert.strictEqual(this.opened.get(action.responseId), "open", `finish of ${action.responseId}`)
        this.opened.set(action.responseId, "finished")
        for (const m of this.messages.values()) if (m.responseId === action.responseId) m.closed = true
        break
      case "ResolveReply":
      case "FailReply":
        assert.isTrue(this.requested.has(action.replyId), `${action._tag} for unknown ${action.replyId}`)
        assert.isFalse(this.replied.has(action.replyId), `${action._tag} twice for ${action.replyId}`)
        this.replied.add(action.replyId)
        if (this.inflightCreate === action.replyId) {
          this.inflightCreate = undefined
          this.inflightUntil = undefined
        }
        break
      case "OpenMessage":
        assert.isFalse(this.messages.has(action.itemId), `message ${action.itemId} opened twice`)
        this.messages.set(action.itemId, { responseId: action.responseId, closed: false })
        break
      case "Text":
      case "Audio":
      case "CloseMessage": {
        const m = this.messages.get(action.itemId)
        assert.isDefined(m, `${action._tag} for unopened ${action.itemId}`)
        assert.isFalse(m!.closed, `${action._tag} for ${action.itemId} after it closed`)
        if (action._tag === "CloseMessage") m!.closed = true
        break
      }
      case "Complete":
        assert.isTrue(this.ops.has(action.opId), `Complete of unknown op ${action.opId}`)
        assert.isFalse(this.completed.has(action.opId), `op ${action.opId} completed twice`)
        this.completed.add(action.opId)
        break
      case "Emit":
        if (action.event._tag === "Disconnected") {
          this.inflightCreate = undefined
          this.inflightUntil = undefined
        }
        break
      case "RunTools":
        this.runTools.push(action)
        break
      case "FunctionCall":
        this.manual.push(action.call)
        break
      default:
        break
    }
  }

  command(make: (opId: number) => Input): ReadonlyArray<Action> {
    const opId = this.nextOp++
    this.ops.add(opId)
    return this.input(make(opId))
  }

  server(json: Input) {
    return this.input(json)
  }

  /** The mirror equals the server's conversation once nothing the server would echo is in flight. */
  checkMirror(context: string) {
    const pending = this.inbox.some((e) => e.type === "conversation.item.create" || e.type === "conversation.item.delete") ||
      this.outbox.length > 0 || !this.open || this.state.conversation.acks.length > 0 ||
      this.state.conversation.syncQueue.length > 0
    if (pending || this.knownDivergence !== undefined) return
    assert.deepStrictEqual(this.state.conversation.mirror.items.map((i) => i.id), this.truth, `mirror after ${context}`)
  }

  /** Where an echoed item goes: xAI may say `null` or name an unknown id for "after the last item". */
  echoPrevious(index: number, quirk: number): string | null {
    const previous = index === 0 ? null : this.truth[index - 1]!
    if (this.dialect !== "xai" || index !== this.truth.length - 1) return previous
    return quirk % 3 === 0 ? null : quirk % 3 === 1 ? "ghost_item" : previous
  }

  /** The server takes the oldest client event and answers it. */
  process(quirk: number) {
    const event = this.inbox.shift()
    if (event === undefined) return
    switch (event.type) {
      case "conversation.item.create": {
        const item = event.item as unknown as Record<string, unknown>
        const id = typeof item["id"] === "string" ? item["id"] : this.fresh("srv_")
        const prev = event.previous_item_id
        if (this.truth.includes(id)) {
          this.server(S.error("item already exists", { code: "item_exists" }))
          break
        }
        let at = this.truth.length
        if (prev === "root") at = this.dialect === "xai" && this.truth.length > 0 ? this.truth.length : 0
        else if (prev != null) {
          const k = this.truth.indexOf(prev)
          if (k < 0) {
            this.server(S.error("previous item not found", { code: "item_not_found" }))
            break
          }
          at = k + 1
        }
        this.truth.splice(at, 0, id)
        this.server(S.itemAdded(this.echoPrevious(at, quirk), { ...item, id }))
        this.checkMirror("an item echo")
        break
      }
      case "conversation.item.delete": {
        const k = this.truth.indexOf(event.item_id)
        if (k < 0) {
          this.server(S.error("no such item", { code: "item_not_found" }))
          break
        }
        this.truth.splice(k, 1)
        const emptyId = this.dialect === "xai" && quirk % 2 === 0
        // Known 1: an empty delete id after the engine's ack for it timed out cannot be attributed.
        // (and with several deletes in flight, ack timeouts and truncations, the oldest-pending rule can pick another).
        if (emptyId) this.knownDivergence ??= "empty delete id"
        this.server(S.itemDeleted(emptyId ? "" : event.item_id))
        this.checkMirror("a delete echo")
        break
      }
      case "response.create":
        this.pendingCreates.push(event.event_id ?? "")
        break
      default:
        break
    }
  }

  /** Adds an item at the end of the server's conversation and announces it. */
  announce(item: Record<string, unknown>, quirk: number) {
    this.truth.push(item["id"] as string)
    this.server(S.itemAdded(this.echoPrevious(this.truth.length - 1, quirk), item))
  }

  connect(reconnected: boolean, quirk: number) {
    const resume = reconnected && this.state.config.dialect.resumesConversations ? this.state.conversation.conversationId : undefined
    const accepted = resume !== undefined && quirk % 3 !== 0
    // The shell writes the replay (from the state before Connected), then the Outbox.
    const events = replay(this.state, resume !== undefined)
    if (!accepted) {
      this.truth = []
      this.conversationId = this.fresh("conv_")
    }
    this.inbox = [...events, ...this.outbox]
    this.outbox = []
    this.open = true
    this.responses = []
    this.pendingCreates = []
    this.input({ _tag: "Connected", connection: ++this.connection, reconnected, resumed: resume })
    this.server(S.conversationCreated(this.conversationId))
  }
}

const run = (dialect: DialectName, manualTools: boolean, ops: ReadonlyArray<Op>) => {
  const w = new World(dialect, manualTools)
  w.input({ _tag: "Connected", connection: 1, reconnected: false, resumed: undefined })
  w.server(S.conversationCreated(w.conversationId))
  for (const [kind, a, b] of ops) {
    if (w.state.phase._tag === "Closed") break
    const current = w.responses[w.responses.length - 1]
    switch (kind) {
      case "generate":
        w.input({ _tag: "GenerateReply", id: w.fresh("reply_"), instructions: undefined, userInitiated: a % 2 === 0 })
        break
      case "serverProcess":
        // Usually the server catches up with everything sent; sometimes with one event only.
        if (w.open) {
          let n = a % 4 === 0 ? 1 : w.inbox.length
          while (n-- > 0 && w.open) w.process(a + n)
        }
        break
      case "created": {
        if (!w.open) break
        // Usually the oldest request; sometimes the server's own (VAD) response.
        const replyId = a % 4 === 0 ? undefined : w.pendingCreates.shift()
        const id = w.fresh("resp_")
        w.responses.push({ id, items: [], open: [] })
        w.server(S.responseCreated(id, replyId))
        break
      }
      case "outputItem": {
        const r = pick(w.responses, a)
        if (r === undefined || !w.open) break
        const itemId = w.fresh("item_")
        r.items.push(itemId)
        r.open.push(itemId)
        w.server(S.outputItemAdded(r.id, itemId))
        w.announce(S.assistantItem(itemId), b)
        if (b % 2 === 0) w.server(S.partAdded(r.id, itemId, b % 4 === 0 ? "audio" : "text"))
        break
      }
      case "delta": {
        const r = a % 5 === 0 ? pick(w.responses, b) : current
        const itemId = r === undefined ? undefined : pick(r.open, b)
        if (r === undefined || itemId === undefined || !w.open) break
        const input = b % 3 === 0
          ? S.audioDelta(r.id, itemId)
          : b % 3 === 1
          ? S.transcriptDelta(r.id, itemId, "word ")
          : S.textDelta(r.id, itemId, "text ")
        w.server(input)
        break
      }
      case "itemDone": {
        const r = pick(w.responses, a)
        const itemId = r === undefined ? undefined : pick(r.open, b)
        if (r === undefined || itemId === undefined || !w.open) break
        r.open = r.open.filter((i) => i !== itemId)
        w.server(S.messageDone(r.id, itemId, b % 2 === 0 ? [{ type: "audio", transcript: "said" }] : []))
        break
      }
      case "callDone": {
        const r = a % 3 === 0 ? pick(w.responses, b) : current
        if (r === undefined || !w.open) break
        const itemId = w.fresh("fc_")
        w.announce({ id: itemId, type: "function_call", call_id: `call_${itemId}`, name: b % 4 === 0 ? "web_search" : "lookup", arguments: "{}" }, b)
        w.server(S.callDone(r.id, itemId, `call_${itemId}`, b % 4 === 0 ? "web_search" : "lookup"))
        break
      }
      case "done": {
        const r = a % 4 === 0 ? pick(w.responses, b) : current
        if (r === undefined || !w.open) break
        w.responses = w.responses.filter((x) => x !== r)
        w.server(S.responseDone(r.id, pick(["completed", "cancelled", "failed", "incomplete", "expired", undefined], b)))
        break
      }
      case "userSpeech": {
        if (!w.open) break
        const itemId = w.fresh("user_")
        w.server(S.speechStarted(itemId))
        w.announce({ id: itemId, type: "message", role: "user", content: [{ type: "input_audio" }] }, b)
        break
      }
      case "error":
        if (w.open) w.server(S.error("something", a % 2 === 0 ? { event_id: w.inflightCreate ?? "x" } : {}))
        break
      case "unknown":
        if (w.open) w.server(S.unknown("vendor.thing"))
        break
      case "drop": {
        if (!w.open) break
        w.open = false
        w.inbox = []
        w.input({ _tag: "Disconnected", error: a % 5 === 0 ? new AuthenticationError({ message: "401" }) : undefined })
        break
      }
      case "reconnect":
        if (!w.open) w.connect(true, a)
        break
      case "replyTimeout":
      case "abandon": {
        const id = pick([...w.requested], a)
        if (id !== undefined) w.input({ _tag: kind === "abandon" ? "ReplyAbandoned" : "ReplyTimeout", id })
        break
      }
      case "release": {
        const id = pick([...w.opened.keys()], a)
        if (id !== undefined) w.input({ _tag: "GenerationReleased", responseId: id })
        break
      }
      case "interrupt":
        w.input({ _tag: "Interrupt" })
        break
      case "sync": {
        const mirror = w.state.conversation.mirror.items
        const kept = mirror.filter((_, i) => ((a >> (i % 10)) & 1) === 0)
        const added = b % 3 === 0 ? [] : [Chat.message(w.fresh("chat_"), "user", "typed")]
        const wanted = b % 2 === 0 ? [...added, ...kept] : [...kept, ...added]
        w.command((opId) => ({ _tag: "SyncChat", opId, wanted: Chat.make(wanted) }))
        break
      }
      case "truncate": {
        const item = pick(w.state.conversation.mirror.items, a)
        if (item === undefined) break
        w.command((opId) => ({
          _tag: "Truncate",
          opId,
          options: { messageId: item.id, modalities: b % 2 === 0 ? ["audio", "text"] : ["text"], audioEndMs: b % 3 === 0 ? 0 : 40 }
        }))
        break
      }
      case "toolOutputs": {
        const ran = w.runTools.shift()
        if (ran === undefined) break
        const outputs = ran.calls.filter((c) => c.name !== "web_search").map((call) => ({ call, output: "ok" }))
        const sends = w.input({ _tag: "ToolOutputs", responseId: ran.responseId, outputs, reply: ran.reply })
        if (ran.reply && outputs.length > 0) w.requested.add(`tool_reply_${ran.responseId}`)
        // Not lost while disconnected: every output is sent (queued in the Outbox).
        assert.strictEqual(sends.filter((s) => s._tag === "Send" && s.event.type === "conversation.item.create").length, outputs.length)
        break
      }
      case "sendToolOutput": {
        const call = a % 4 === 0 ? undefined : pick(w.manual, b)
        const waiting = call !== undefined && w.state.manualCalls.some((m) => m.call.callId === call.callId)
        const actions = w.command((opId) => ({ _tag: "SendToolOutput", opId, callId: call?.callId ?? "nope", output: "out" }))
        const sends = actions.filter((s) => s._tag === "Send")
        assert.strictEqual(sends.length, waiting ? 1 : 0, "one output per waiting call, even while disconnected")
        break
      }
      case "drainTimeout":
        w.now += a % 3 === 0 ? 5_000 : 300
        w.input({ _tag: "DrainTimeout" })
        break
      case "ackTimeout": {
        const op = pick(w.state.conversation.acks, a)
        if (op !== undefined) w.input({ _tag: "AckTimeout", opId: op.opId })
        break
      }
      case "advance":
        w.now += a * 3
        break
      case "updateOptions": {
        const actions = w.command((opId) => ({ _tag: "UpdateOptions", opId, options: { instructions: `v${a}` } }))
        assert.deepStrictEqual(
          actions.filter((s) => s._tag === "Send").map((s) => s._tag === "Send" && s.event.type),
          ["session.update"],
          "sent even while disconnected"
        )
        break
      }
    }
    w.checkMirror(kind)
  }
  w.input({ _tag: "Close", error: new SessionClosedError({ message: "end" }), quiet: true })
  for (const [id, status] of w.opened) assert.strictEqual(status, "finished", `generation ${id} never finished`)
  for (const op of w.ops) assert.isTrue(w.completed.has(op), `op ${op} never completed`)
}

describe("engine model", () => {
  for (const dialect of ["xai", "openai"] as const) {
    it(`${dialect}: random interleavings keep the invariants`, () => {
      fc.assert(
        fc.property(fc.boolean(), fc.array(arbOp, { minLength: 10, maxLength: 120, size: "max" }), (manualTools, ops) => run(dialect, manualTools, ops)),
        { numRuns: Number(process.env.MODEL_RUNS ?? 300) }
      )
    })
  }
})
