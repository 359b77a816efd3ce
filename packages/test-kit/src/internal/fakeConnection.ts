/**
 * One connection of the fake realtime server: the xAI-dialect protocol engine (session, input
 * buffer with server VAD, conversation, responses, function calls, faults and quirks).
 *
 * All state of a connection is owned by its fibers on the single JS thread; every mutation happens
 * inside one synchronous step, so no locking is needed.
 *
 * @internal
 */
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type { WebSocket, WebSocketServer } from "ws"
import * as Xai from "@realtime-fx/core/Xai"
import type { FakeFaults, FakeRequest, FakeServerOptions } from "../FakeServer.js"
import * as Audio from "./fakeAudio.js"
import * as Vad from "./fakeVad.js"

type Json = Record<string, unknown>
type Item = Json & { id: string }

/** What a server shares with its connections. */
export interface ServerContext {
  readonly options: FakeServerOptions
  faults: FakeFaults
  readonly received: Array<Json>
  readonly requests: Array<FakeRequest>
  readonly open: Set<ConnectionHandle>
  /** Conversations by id, kept for `?conversation_id=` resumption. */
  readonly conversations: Map<string, Array<Item>>
  /** Client secrets minted by `POST .../realtime/client_secrets`, accepted as the subprotocol. */
  readonly clientSecrets: Set<string>
  readonly nextId: (prefix: string) => string
}

/** The server-side view of an open connection. */
export interface ConnectionHandle {
  readonly sendRaw: (text: string) => void
  readonly close: (code: number, reason: string) => void
  readonly terminate: () => void
}

/** Model reported when the URL carries no `?model=` (xAI silently falls back to a deprecated one). */
export const FALLBACK_MODEL = "grok-voice-fast-1.0"
/** Default reply text. */
export const DEFAULT_REPLY = "Hello! This is the fake realtime server. How can I help you today?"
/** Default transcript of a user audio turn. */
export const DEFAULT_TRANSCRIPT = "Hello, can you hear me?"

/** The server's turn detection until the client sets one: xAI's default. */
const DEFAULT_VAD = Xai.defaultTurnDetection
const CHUNK_SAMPLES = 2400 // 100 ms at 24 kHz
const MAX_MANUAL_BUFFER_SAMPLES = Audio.msToSamples(10 * 60 * 1000)

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** Deep merge: plain objects merge recursively, anything else (arrays, null, scalars) replaces. */
const deepMerge = (base: unknown, patch: unknown): unknown => {
  if (!isObject(base) || !isObject(patch)) return patch
  const out: Json = { ...base }
  for (const [k, v] of Object.entries(patch)) out[k] = deepMerge(base[k], v)
  return out
}

/**
 * Merges a `session.update` payload into the session, accepting the xAI shape (`voice`,
 * `turn_detection` top-level) and the GA nested one (`audio.output.voice`,
 * `audio.input.turn_detection`), which is moved to the top level. `model` is ignored (xAI reads it
 * from the URL only).
 */
export const mergeSession = (session: Json, update: Json): Json => {
  const u: Json = { ...update }
  delete u.model
  delete u.id
  delete u.object
  if (isObject(u.audio)) {
    const audio: Json = { ...u.audio }
    if (isObject(audio.output) && "voice" in audio.output) {
      const { voice, ...rest } = audio.output
      if (!("voice" in u)) u.voice = voice
      audio.output = rest
    }
    if (isObject(audio.input) && "turn_detection" in audio.input) {
      const { turn_detection, ...rest } = audio.input
      if (!("turn_detection" in u)) u.turn_detection = turn_detection
      audio.input = rest
    }
    u.audio = audio
  }
  if ("modalities" in u) {
    if (!("output_modalities" in u)) u.output_modalities = u.modalities
    delete u.modalities
  }
  const merged = deepMerge(session, u) as Json
  if (isObject(merged.turn_detection) && merged.turn_detection.type === "server_vad") {
    merged.turn_detection = { ...DEFAULT_VAD, ...merged.turn_detection }
  }
  return merged
}

/** Placeholder arguments for a JSON Schema `parameters` object (first enum value, else by type). */
export const placeholderArguments = (parameters: unknown): Json => {
  const out: Json = {}
  if (!isObject(parameters) || !isObject(parameters.properties)) return out
  const required = Array.isArray(parameters.required) ? (parameters.required as Array<unknown>) : undefined
  for (const [name, schema] of Object.entries(parameters.properties)) {
    if (required !== undefined && !required.includes(name)) continue
    const s = isObject(schema) ? schema : {}
    if (Array.isArray(s.enum) && s.enum.length > 0) out[name] = s.enum[0]
    else if (s.type === "number" || s.type === "integer") out[name] = 1
    else if (s.type === "boolean") out[name] = true
    else if (s.type === "array") out[name] = []
    else if (s.type === "object") out[name] = {}
    else out[name] = "fake"
  }
  return out
}

/** Splits text into word pieces that keep their trailing space ("Hello, " "world"). */
export const words = (text: string): Array<string> => text.match(/\S+\s*|\s+/g) ?? []

/** The text of a message item (input_text / text / output_text, or an audio transcript). */
const itemText = (item: Json): string => {
  const content = Array.isArray(item.content) ? (item.content as Array<unknown>) : []
  return content
    .map((c) => (isObject(c) ? (typeof c.text === "string" ? c.text : typeof c.transcript === "string" ? c.transcript : "") : ""))
    .join(" ")
    .trim()
}

/** Estimated spoken length of a text: 60 ms a character, in whole 100 ms chunks, at least 100 ms. */
export const spokenMs = (text: string): number => Math.max(100, Math.ceil((text.length * 60) / 100) * 100)

type Plan =
  | { readonly _tag: "Message"; readonly text: string; readonly audio: boolean }
  | { readonly _tag: "FunctionCall"; readonly name: string; readonly arguments: string }

interface ResponseRequest {
  readonly metadata: unknown
  readonly instructions?: string | undefined
  readonly modalities?: ReadonlyArray<string> | undefined
  readonly forcedText?: string | undefined
}

interface ActiveResponse {
  readonly id: string
  readonly base: Json
  readonly output: Array<Item>
  readonly inputTokens: { text: number; audio: number }
  outputText: number
  outputAudioMs: number
  fiber: Fiber.RuntimeFiber<void> | undefined
  cancelReason: string | undefined
}

/** A connection's protocol engine. */
class Connection {
  sent = 0
  closing = false
  session: Json
  conversationId: string
  items: Array<Item>
  readonly buffer = new Audio.PcmBuffer()
  carry: number | undefined = undefined
  vad: Vad.VadState = Vad.initial
  vadCursor = 0
  speech: { itemId: string; startSample: number } | undefined = undefined
  lastUserAudio: Int16Array | undefined = undefined
  active: ActiveResponse | undefined = undefined
  readonly audioMs = new Map<string, number>()

  constructor(
    readonly ctx: ServerContext,
    readonly ws: WebSocket,
    readonly fibers: FiberSet.FiberSet<void, never>,
    url: URL
  ) {
    const model = url.searchParams.get("model") ?? FALLBACK_MODEL
    this.session = {
      id: ctx.nextId("sess"),
      object: "realtime.session",
      model,
      voice: "ara",
      instructions: "",
      output_modalities: ["audio"],
      turn_detection: { ...DEFAULT_VAD },
      audio: {
        input: { format: { type: "audio/pcm", rate: Audio.SAMPLE_RATE } },
        output: { format: { type: "audio/pcm", rate: Audio.SAMPLE_RATE } }
      },
      tools: []
    }
    const resume = url.searchParams.get("conversation_id")
    const existing = resume !== null && ctx.faults.forgetConversations !== true ? ctx.conversations.get(resume) : undefined
    this.conversationId = existing !== undefined && resume !== null ? resume : ctx.nextId("conv")
    this.items = existing ?? []
    ctx.conversations.set(this.conversationId, this.items)
  }

  // ---------------------------------------------------------------- sending

  /** Sends one raw frame, counting it against `faults.closeAfterEvents`. */
  sendRaw(text: string): void {
    if (this.closing || this.ws.readyState !== this.ws.OPEN) return
    this.ws.send(text)
    this.sent++
    const f = this.ctx.faults
    if (f.closeAfterEvents !== undefined && this.sent >= f.closeAfterEvents) {
      this.shut(f.closeCode ?? 1011, f.closeReason ?? "fake server: closing after events")
    }
  }

  send(event: Json): void {
    this.sendRaw(JSON.stringify({ event_id: this.ctx.nextId("event"), ...event }))
  }

  shut(code: number | "terminate", reason: string): void {
    this.closing = true
    if (code === "terminate") this.ws.terminate()
    else this.ws.close(code, reason)
  }

  sendError(type: string, code: string | null, message: string, clientEventId?: unknown, param: string | null = null): void {
    this.send({
      type: "error",
      error: { type, code, message, param, event_id: typeof clientEventId === "string" ? clientEventId : null }
    })
  }

  /** The configured fault frames (garbage, unknown event), sent at connect and after response.created. */
  faultFrames(): void {
    const f = this.ctx.faults
    if (f.garbageFrames) this.sendRaw(f.garbageText ?? "this is not JSON {")
    if (f.unknownEvents) this.send({ type: "fake.unknown_event", detail: "an event type no client knows" })
  }

  faultError(): void {
    const e = this.ctx.faults.errorEvent
    if (e === undefined) return
    this.sendError(e.type ?? "server_error", e.code ?? null, e.message ?? "fake server: injected error")
    if (e.closeCode !== undefined) this.shut(e.closeCode, e.message ?? "fake server: injected error")
  }

  // ---------------------------------------------------------------- conversation

  lastItemId(): string | null {
    return this.items.length > 0 ? this.items[this.items.length - 1]!.id : null
  }

  previousIdFor(index: number): string | null {
    if (this.ctx.faults.unknownPreviousItemId) return this.ctx.nextId("item_never_announced")
    if (this.ctx.faults.nullPreviousItemId) return null
    return index > 0 ? this.items[index - 1]!.id : null
  }

  /** Inserts an item at `index` (default: the end) and announces it with `conversation.item.added`. */
  addItem(item: Item, index = this.items.length): void {
    this.items.splice(index, 0, item)
    this.send({ type: "conversation.item.added", previous_item_id: this.previousIdFor(index), item: structuredClone(item) })
  }

  // ---------------------------------------------------------------- connect

  greet(): void {
    this.send({ type: "session.created", session: this.session })
    this.send({ type: "conversation.created", conversation: { id: this.conversationId, object: "realtime.conversation" } })
    this.items.forEach((item, i) =>
      this.send({ type: "conversation.item.created", previous_item_id: i > 0 ? this.items[i - 1]!.id : null, item })
    )
    this.faultFrames()
    if (this.ctx.faults.errorEvent !== undefined && (this.ctx.faults.errorEvent.when ?? "connect") === "connect") {
      this.faultError()
    }
  }

  // ---------------------------------------------------------------- client events

  handleFrame(text: string): Effect.Effect<void> {
    let event: unknown
    try {
      event = JSON.parse(text)
    } catch {
      this.sendError("invalid_request_error", "invalid_json", "The frame is not valid JSON.")
      return Effect.void
    }
    if (!isObject(event)) {
      this.sendError("invalid_request_error", "invalid_event", "An event must be a JSON object.")
      return Effect.void
    }
    if (this.ctx.options.recordReceived !== false) this.ctx.received.push(event)
    const id = event.event_id
    switch (event.type) {
      case "session.update":
        return Effect.sync(() => this.onSessionUpdate(event))
      case "input_audio_buffer.append":
        return this.onAppend(event)
      case "input_audio_buffer.commit":
        return Effect.sync(() => this.onCommit(event))
      case "input_audio_buffer.clear":
        return Effect.sync(() => this.onClear())
      case "conversation.item.create":
        return this.onItemCreate(event)
      case "conversation.item.delete":
        return Effect.sync(() => this.onItemDelete(event))
      case "conversation.item.truncate":
        return Effect.sync(() => this.onItemTruncate(event))
      case "response.create":
        return this.onResponseCreate(event)
      case "response.cancel":
        return this.onResponseCancel(event)
      case undefined:
        this.sendError("invalid_request_error", "invalid_event", "The 'type' field is missing.", id)
        return Effect.void
      default:
        this.sendError("invalid_request_error", "invalid_event", `Unknown event type: ${String(event.type)}`, id, "type")
        return Effect.void
    }
  }

  onSessionUpdate(event: Json): void {
    if (!isObject(event.session)) {
      this.sendError("invalid_request_error", "invalid_value", "session.update needs a session object.", event.event_id, "session")
      return
    }
    this.session = mergeSession(this.session, event.session)
    if (this.vadConfig() === undefined && this.speech !== undefined) {
      this.speech = undefined
      this.vad = Vad.initial
    }
    this.send({ type: "session.updated", session: this.session })
  }

  vadConfig(): (Vad.VadConfig & { createResponse: boolean; interruptResponse: boolean }) | undefined {
    const td = this.session.turn_detection
    if (!isObject(td) || td.type !== "server_vad") return undefined
    const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) ? v : d)
    return {
      threshold: num(td.threshold, 0.5),
      prefixPaddingMs: num(td.prefix_padding_ms, 300),
      silenceDurationMs: num(td.silence_duration_ms, 200),
      createResponse: td.create_response !== false,
      interruptResponse: td.interrupt_response !== false
    }
  }

  onAppend(event: Json): Effect.Effect<void> {
    if (typeof event.audio !== "string") {
      this.sendError("invalid_request_error", "invalid_value", "input_audio_buffer.append needs base64 audio.", event.event_id, "audio")
      return Effect.void
    }
    const { samples, carry } = Audio.decodePcm16(event.audio, this.carry)
    this.carry = carry
    this.buffer.append(samples)
    const config = this.vadConfig()
    if (config === undefined) {
      if (this.buffer.length > MAX_MANUAL_BUFFER_SAMPLES) this.buffer.dropBefore(this.buffer.end - MAX_MANUAL_BUFFER_SAMPLES)
      this.vadCursor = this.buffer.end
      return Effect.void
    }
    const frame = Audio.msToSamples(Vad.FRAME_MS)
    const events: Array<{ event: Vad.VadEvent }> = []
    while (this.vadCursor + frame <= this.buffer.end) {
      const level = Audio.rmsDbfs(this.buffer.slice(this.vadCursor, this.vadCursor + frame))
      const [next, ev] = Vad.step(config, this.vad, this.vadCursor / Audio.SAMPLES_PER_MS, level)
      this.vad = next
      this.vadCursor += frame
      if (ev !== undefined) events.push({ event: ev })
    }
    return Effect.forEach(events, ({ event: ev }) => this.onVadEvent(ev, config), { discard: true }).pipe(
      Effect.tap(() =>
        Effect.sync(() => {
          if (!this.vad.speaking) {
            this.buffer.dropBefore(this.vadCursor - Audio.msToSamples(config.prefixPaddingMs))
          }
        })
      )
    )
  }

  onVadEvent(
    ev: Vad.VadEvent,
    config: { createResponse: boolean; interruptResponse: boolean }
  ): Effect.Effect<void> {
    if (ev._tag === "SpeechStarted") {
      const itemId = this.ctx.nextId("item")
      this.speech = { itemId, startSample: Audio.msToSamples(ev.audioStartMs) }
      this.send({ type: "input_audio_buffer.speech_started", audio_start_ms: Math.floor(ev.audioStartMs), item_id: itemId })
      return config.interruptResponse ? this.cancelActive("turn_detected") : Effect.void
    }
    const speech = this.speech
    if (speech === undefined) return Effect.void
    this.speech = undefined
    this.send({ type: "input_audio_buffer.speech_stopped", audio_end_ms: Math.floor(ev.audioEndMs), item_id: speech.itemId })
    const end = Audio.msToSamples(ev.audioEndMs)
    const audio = this.buffer.slice(speech.startSample, end)
    this.buffer.dropBefore(end)
    this.commitUserAudio(speech.itemId, audio)
    if (!config.createResponse || this.active !== undefined) return Effect.void
    return this.startResponse({ metadata: null })
  }

  onCommit(event: Json): void {
    const audio = this.buffer.slice(this.buffer.start, this.buffer.end)
    if (audio.length < Audio.msToSamples(100)) {
      this.sendError(
        "invalid_request_error",
        "input_audio_buffer_commit_empty",
        `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${Audio.samplesToMs(audio.length)}ms of audio.`,
        event.event_id
      )
      return
    }
    this.buffer.clear()
    const itemId = this.speech?.itemId ?? this.ctx.nextId("item")
    this.speech = undefined
    this.vad = Vad.initial
    this.vadCursor = this.buffer.end
    this.commitUserAudio(itemId, audio)
  }

  onClear(): void {
    this.buffer.clear()
    this.carry = undefined
    this.speech = undefined
    this.vad = Vad.initial
    this.vadCursor = this.buffer.end
    this.send({ type: "input_audio_buffer.cleared" })
  }

  commitUserAudio(itemId: string, audio: Int16Array): void {
    this.send({ type: "input_audio_buffer.committed", previous_item_id: this.lastItemId(), item_id: itemId })
    const transcript = this.ctx.options.transcript ?? DEFAULT_TRANSCRIPT
    const item: Item = {
      id: itemId,
      object: "realtime.item",
      type: "message",
      status: "completed",
      role: "user",
      content: [{ type: "input_audio", transcript: null }]
    }
    this.addItem(item)
    this.lastUserAudio = audio
    this.audioMs.set(itemId, Audio.samplesToMs(audio.length))
    item.content = [{ type: "input_audio", transcript }]
    const completed = (text: string, extra: Json = {}) =>
      this.send({
        type: "conversation.item.input_audio_transcription.completed",
        item_id: itemId,
        content_index: 0,
        transcript: text,
        ...extra
      })
    if (this.ctx.faults.repeatedTranscriptions) {
      const pieces = words(transcript)
      let partial = ""
      for (const piece of pieces) {
        partial += piece
        this.send({ type: "conversation.item.input_audio_transcription.updated", item_id: itemId, content_index: 0, transcript: partial.trim() })
      }
      completed(pieces.slice(0, Math.max(1, Math.ceil(pieces.length / 2))).join("").trim(), { status: "in_progress" })
      completed(transcript)
      completed(transcript)
    } else {
      completed(transcript)
    }
  }

  onItemCreate(event: Json): Effect.Effect<void> {
    const item = event.item
    if (!isObject(item)) {
      this.sendError("invalid_request_error", "invalid_value", "conversation.item.create needs an item.", event.event_id, "item")
      return Effect.void
    }
    if (item.type === "force_message") {
      if (this.active !== undefined) {
        this.sendError("invalid_request_error", "conversation_already_has_active_response", "Conversation already has an active response in progress.", event.event_id)
        return Effect.void
      }
      return this.startResponse({ metadata: null, forcedText: itemText(item) })
    }
    const id = typeof item.id === "string" && item.id !== "" ? item.id : this.ctx.nextId("item")
    if (this.items.some((i) => i.id === id)) {
      this.sendError("invalid_request_error", "item_already_exists", `Item with id '${id}' already exists.`, event.event_id, "item.id")
      return Effect.void
    }
    let index = this.items.length
    const prev = event.previous_item_id
    if (prev === "root") index = 0
    else if (typeof prev === "string") {
      const at = this.items.findIndex((i) => i.id === prev)
      if (at < 0) {
        this.sendError("invalid_request_error", "item_not_found", `Previous item with id '${prev}' not found.`, event.event_id, "previous_item_id")
        return Effect.void
      }
      index = at + 1
    }
    this.addItem({ ...item, id, object: "realtime.item", status: "completed" }, index)
    return Effect.void
  }

  onItemDelete(event: Json): void {
    const id = event.item_id
    const at = this.items.findIndex((i) => i.id === id)
    if (at < 0) {
      this.sendError("invalid_request_error", "item_not_found", `Item with id '${String(id)}' not found.`, event.event_id, "item_id")
      return
    }
    this.items.splice(at, 1)
    this.send({ type: "conversation.item.deleted", item_id: this.ctx.faults.emptyDeleteItemId ? "" : id })
  }

  onItemTruncate(event: Json): void {
    const item = this.items.find((i) => i.id === event.item_id)
    const ms = event.audio_end_ms
    if (item === undefined) {
      this.sendError("invalid_request_error", "item_not_found", `Item with id '${String(event.item_id)}' not found.`, event.event_id, "item_id")
      return
    }
    const sentMs = this.audioMs.get(item.id)
    if (item.role !== "assistant" || sentMs === undefined) {
      this.sendError("invalid_request_error", "invalid_value", "Only assistant messages with audio can be truncated.", event.event_id, "item_id")
      return
    }
    if (typeof ms !== "number" || ms <= 0 || ms > sentMs) {
      this.sendError(
        "invalid_request_error",
        "invalid_value",
        `audio_end_ms must be greater than 0 and at most the audio length (${sentMs} ms).`,
        event.event_id,
        "audio_end_ms"
      )
      return
    }
    const full = itemText(item)
    const pieces = words(full)
    const transcript = pieces.slice(0, Math.round((pieces.length * ms) / sentMs)).join("").trim()
    item.content = [{ type: "output_audio", transcript }]
    this.audioMs.set(item.id, ms)
    this.send({ type: "conversation.item.truncated", item_id: item.id, content_index: event.content_index ?? 0, audio_end_ms: ms, transcript })
  }

  // ---------------------------------------------------------------- responses

  onResponseCreate(event: Json): Effect.Effect<void> {
    if (this.active !== undefined) {
      this.sendError(
        "invalid_request_error",
        "conversation_already_has_active_response",
        `Conversation already has an active response in progress: ${this.active.id}. Wait until the response is finished before creating a new one.`,
        event.event_id
      )
      return Effect.void
    }
    const r = isObject(event.response) ? event.response : {}
    const modalities = Array.isArray(r.output_modalities) ? r.output_modalities : Array.isArray(r.modalities) ? r.modalities : undefined
    return this.startResponse({
      metadata: r.metadata ?? null,
      instructions: typeof r.instructions === "string" ? r.instructions : undefined,
      modalities: modalities as ReadonlyArray<string> | undefined
    })
  }

  onResponseCancel(event: Json): Effect.Effect<void> {
    const active = this.active
    if (active === undefined || (typeof event.response_id === "string" && event.response_id !== active.id)) {
      this.sendError("invalid_request_error", "response_cancel_not_active", "Cancellation failed: no active response found.", event.event_id)
      return Effect.void
    }
    return this.cancelActive("client_cancelled")
  }

  cancelActive(reason: string): Effect.Effect<void> {
    const active = this.active
    if (active === undefined) return Effect.void
    active.cancelReason = reason
    return Effect.suspend(() => (active.fiber !== undefined ? Fiber.interrupt(active.fiber) : Effect.void)).pipe(
      Effect.andThen(Effect.sync(() => this.finish(active, "cancelled")))
    )
  }

  /** Decides what a response says: a function call, the reply to a tool output, or the reply text. */
  plan(req: ResponseRequest): Plan {
    const modalities = req.modalities ?? (Array.isArray(this.session.output_modalities) ? this.session.output_modalities : ["audio"])
    const audio = modalities.includes("audio")
    if (req.forcedText !== undefined) return { _tag: "Message", text: req.forcedText, audio }
    let userText: string | undefined
    let toolOutput: Item | undefined
    for (let i = this.items.length - 1; i >= 0; i--) {
      const item = this.items[i]!
      if (item.type === "function_call_output" && toolOutput === undefined) toolOutput = item
      if (item.type === "message" && item.role === "user") {
        userText = itemText(item)
        break
      }
    }
    if (toolOutput === undefined) {
      const call = this.findToolCall(`${userText ?? ""} ${req.instructions ?? ""}`.toLowerCase())
      if (call !== undefined) return call
    }
    const reply = this.ctx.options.reply?.text ?? DEFAULT_REPLY
    if (toolOutput !== undefined) {
      const call = this.items.find((i) => i.type === "function_call" && i.call_id === toolOutput.call_id)
      const output = String(toolOutput.output ?? "").slice(0, 200)
      const name = typeof call?.name === "string" ? call.name : "tool"
      return { _tag: "Message", text: `The ${name} tool returned ${output}.`, audio }
    }
    return { _tag: "Message", text: reply, audio }
  }

  findToolCall(hay: string): Plan | undefined {
    const tools = Array.isArray(this.session.tools) ? this.session.tools.filter(isObject) : []
    const configured = this.ctx.options.toolCall
    if (configured !== undefined && hay.includes((configured.trigger ?? configured.name).toLowerCase())) {
      const tool = tools.find((t) => t.name === configured.name)
      const args = configured.arguments ?? placeholderArguments(tool?.parameters)
      return { _tag: "FunctionCall", name: configured.name, arguments: JSON.stringify(args) }
    }
    for (const tool of tools) {
      if (tool.type !== "function" || typeof tool.name !== "string" || tool.name === "") continue
      const name = tool.name.toLowerCase()
      if (hay.includes(name) || hay.includes(name.replace(/_/g, " "))) {
        return { _tag: "FunctionCall", name: tool.name, arguments: JSON.stringify(placeholderArguments(tool.parameters)) }
      }
    }
    return undefined
  }

  startResponse(req: ResponseRequest): Effect.Effect<void> {
    const faults = this.ctx.faults
    if (faults.errorEvent !== undefined && faults.errorEvent.when === "response") {
      this.faultError()
      return Effect.void
    }
    const plan = this.plan(req)
    const modalities = plan._tag === "Message" && !plan.audio ? ["text"] : ["audio"]
    const inputTokens = this.inputTokens(req)
    const r: ActiveResponse = {
      id: this.ctx.nextId("resp"),
      base: {},
      output: [],
      inputTokens,
      outputText: 0,
      outputAudioMs: 0,
      fiber: undefined,
      cancelReason: undefined
    }
    Object.assign(r.base, {
      id: r.id,
      object: "realtime.response",
      conversation_id: this.conversationId,
      output_modalities: modalities,
      metadata: req.metadata ?? null
    })
    this.send({ type: "response.created", response: { ...r.base, status: "in_progress", status_details: null, output: [], usage: null } })
    this.faultFrames()
    if (faults.dropResponses) return Effect.void
    this.active = r
    const body = plan._tag === "FunctionCall" ? this.runFunctionCall(r, plan) : this.runMessage(r, plan)
    return FiberSet.run(
      this.fibers,
      body.pipe(Effect.andThen(Effect.sync(() => this.finish(r, "completed"))))
    ).pipe(
      Effect.tap((fiber) =>
        Effect.sync(() => {
          r.fiber = fiber
        })
      ),
      Effect.asVoid
    )
  }

  inputTokens(req: ResponseRequest): { text: number; audio: number } {
    let chars = String(this.session.instructions ?? "").length + (req.instructions?.length ?? 0)
    let audioMs = 0
    for (const item of this.items) {
      chars += itemText(item).length + (typeof item.output === "string" ? item.output.length : 0)
      if (item.role === "user") audioMs += this.audioMs.get(item.id) ?? 0
    }
    return { text: Math.ceil(chars / 4), audio: Math.ceil(audioMs / 100) }
  }

  /** Ends a response once: `response.done` with its status, output and usage. */
  finish(r: ActiveResponse, status: "completed" | "cancelled"): void {
    if (this.active !== r) return
    this.active = undefined
    for (const item of r.output) if (item.status === "in_progress") item.status = "incomplete"
    const text = r.outputText
    const audio = Math.ceil(r.outputAudioMs / 50)
    const input = r.inputTokens.text + r.inputTokens.audio
    this.send({
      type: "response.done",
      response: {
        ...r.base,
        status,
        status_details: status === "cancelled" ? { type: "cancelled", reason: r.cancelReason ?? "client_cancelled" } : null,
        output: structuredClone(r.output),
        usage: {
          total_tokens: input + text + audio,
          input_tokens: input,
          output_tokens: text + audio,
          input_token_details: {
            text_tokens: r.inputTokens.text,
            audio_tokens: r.inputTokens.audio,
            image_tokens: 0,
            cached_tokens: 0,
            cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 }
          },
          output_token_details: { text_tokens: text, audio_tokens: audio }
        }
      }
    })
  }

  /** Waits until chunk `i + 1` is due (realtime pacing) or just yields (fast pacing). */
  pace(start: number, i: number, chunkMs: number): Effect.Effect<void> {
    if (this.ctx.options.pacing !== "realtime") return Effect.yieldNow()
    return Clock.currentTimeMillis.pipe(
      Effect.flatMap((now) => Effect.sleep(Duration.millis(Math.max(0, start + (i + 1) * chunkMs - now))))
    )
  }

  replyAudio(text: string): Int16Array {
    const reply = this.ctx.options.reply
    if (reply?.voice === "echo" && this.lastUserAudio !== undefined && this.lastUserAudio.length > 0) return this.lastUserAudio
    return Audio.voice(Audio.msToSamples(reply?.audioMs ?? spokenMs(text)))
  }

  runMessage(r: ActiveResponse, plan: Extract<Plan, { _tag: "Message" }>): Effect.Effect<void> {
    return Effect.gen(this, function* () {
      const itemId = this.ctx.nextId("item")
      const item: Item = { id: itemId, object: "realtime.item", type: "message", status: "in_progress", role: "assistant", content: [] }
      const at = { response_id: r.id, item_id: itemId, output_index: 0, content_index: 0 }
      r.output.push(item)
      this.send({ type: "response.output_item.added", response_id: r.id, output_index: 0, item: structuredClone(item) })
      this.addItem(item)
      const pieces = words(plan.text)
      let spoken = ""
      const start = yield* Clock.currentTimeMillis
      if (plan.audio) {
        item.content = [{ type: "output_audio", transcript: "" }]
        this.send({ type: "response.content_part.added", ...at, part: { type: "audio", transcript: "" } })
        const audio = this.replyAudio(plan.text)
        const chunks = Math.ceil(audio.length / CHUNK_SAMPLES)
        let emitted = 0
        for (let i = 0; i < chunks; i++) {
          const upTo = Math.ceil(((i + 1) * pieces.length) / chunks)
          if (upTo > emitted) {
            const delta = pieces.slice(emitted, upTo).join("")
            emitted = upTo
            spoken += delta
            r.outputText += Math.ceil(delta.length / 4)
            this.send({ type: "response.output_audio_transcript.delta", ...at, delta })
          }
          const chunk = audio.subarray(i * CHUNK_SAMPLES, Math.min(audio.length, (i + 1) * CHUNK_SAMPLES))
          this.send({ type: "response.output_audio.delta", ...at, delta: Audio.encodePcm16(chunk) })
          r.outputAudioMs += Audio.samplesToMs(chunk.length)
          this.audioMs.set(itemId, r.outputAudioMs)
          item.content = [{ type: "output_audio", transcript: spoken }]
          if (i === 0 && this.ctx.faults.errorEvent?.when === "midReply") {
            // The reply stops here: the error (and the close, if configured), and no response.done.
            this.faultError()
            if (this.active === r) this.active = undefined
            return
          }
          if (i < chunks - 1) yield* this.pace(start, i, 100)
        }
        if (emitted < pieces.length) {
          const delta = pieces.slice(emitted).join("")
          spoken += delta
          this.send({ type: "response.output_audio_transcript.delta", ...at, delta })
        }
        item.content = [{ type: "output_audio", transcript: plan.text }]
        this.send({ type: "response.output_audio_transcript.done", ...at, transcript: plan.text })
        this.send({ type: "response.output_audio.done", ...at })
        this.send({ type: "response.content_part.done", ...at, part: { type: "audio", transcript: plan.text } })
      } else {
        const ga = this.ctx.options.textEvents === "ga"
        item.content = [{ type: "text", text: "" }]
        this.send({ type: "response.content_part.added", ...at, part: { type: "text", text: "" } })
        for (let i = 0; i < pieces.length; i++) {
          spoken += pieces[i]
          r.outputText += Math.ceil(pieces[i]!.length / 4)
          item.content = [{ type: "text", text: spoken }]
          this.send({ type: ga ? "response.output_text.delta" : "response.text.delta", ...at, delta: pieces[i] })
          if (i < pieces.length - 1) yield* this.pace(start, i, 50)
        }
        this.send({ type: ga ? "response.output_text.done" : "response.text.done", ...at, text: plan.text })
        this.send({ type: "response.content_part.done", ...at, part: { type: "text", text: plan.text } })
      }
      item.status = "completed"
      this.send({ type: "response.output_item.done", response_id: r.id, output_index: 0, item: structuredClone(item) })
    })
  }

  runFunctionCall(r: ActiveResponse, plan: Extract<Plan, { _tag: "FunctionCall" }>): Effect.Effect<void> {
    return Effect.gen(this, function* () {
      const itemId = this.ctx.nextId("item")
      const callId = this.ctx.nextId("call")
      const item: Item = { id: itemId, object: "realtime.item", type: "function_call", status: "in_progress", call_id: callId, name: plan.name, arguments: "" }
      const at = { response_id: r.id, item_id: itemId, output_index: 0, call_id: callId }
      r.output.push(item)
      this.send({ type: "response.output_item.added", response_id: r.id, output_index: 0, item: structuredClone(item) })
      this.addItem(item)
      const half = Math.ceil(plan.arguments.length / 2)
      for (const delta of [plan.arguments.slice(0, half), plan.arguments.slice(half)]) {
        if (delta === "") continue
        yield* Effect.yieldNow()
        this.send({ type: "response.function_call_arguments.delta", ...at, delta })
      }
      item.arguments = plan.arguments
      item.status = "completed"
      r.outputText += Math.ceil(plan.arguments.length / 4)
      this.send({ type: "response.function_call_arguments.done", ...at, name: plan.name, arguments: plan.arguments })
      this.send({ type: "response.output_item.done", response_id: r.id, output_index: 0, item: structuredClone(item) })
    })
  }
}

const headersOf = (req: IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v
  }
  return out
}

const reject = (socket: Duplex, status: number, message: string): void => {
  const body = JSON.stringify({ error: { message, type: status === 401 ? "invalid_request_error" : "server_error" } })
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? "Unauthorized" : status === 403 ? "Forbidden" : "Error"}\r\n` +
      "Content-Type: application/json\r\nConnection: close\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  )
  socket.destroy()
}

const authorized = (ctx: ServerContext, token: string, req: IncomingMessage): boolean => {
  if (req.headers.authorization === `Bearer ${token}`) return true
  const protocols = String(req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim())
  return protocols.some((p) =>
    p.startsWith("xai-client-secret.") &&
    (p === `xai-client-secret.${token}` || ctx.clientSecrets.has(p.slice("xai-client-secret.".length)))
  )
}

/**
 * Serves one upgrade request: records it, applies the handshake faults and auth, then runs the
 * connection until it closes or the enclosing Scope closes (which terminates the socket).
 */
export const serveUpgrade = (
  ctx: ServerContext,
  wss: WebSocketServer,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer
): Effect.Effect<void> =>
  Effect.gen(function* () {
    socket.on("error", () => {})
    ctx.requests.push({ url: req.url ?? "/", headers: headersOf(req) })
    const faults = ctx.faults
    if (faults.blackholeHandshake) return yield* Effect.never
    if (faults.handshakeDelayMs !== undefined && faults.handshakeDelayMs > 0) {
      yield* Effect.sleep(Duration.millis(faults.handshakeDelayMs))
    }
    if (faults.rejectHandshake !== undefined) return reject(socket, faults.rejectHandshake, "fake server: handshake rejected")
    const token = ctx.options.requireAuth
    if (token !== undefined && !authorized(ctx, token, req)) return reject(socket, 401, "Incorrect API key provided.")

    const queue = yield* Queue.unbounded<string>()
    const closed = yield* Deferred.make<void>()
    const ws = yield* Effect.acquireRelease(
      Effect.async<WebSocket>((resume) => {
        wss.handleUpgrade(req, socket, head, (ws) => {
          // Listeners go on synchronously, before any frame can arrive.
          ws.on("message", (data, isBinary) => {
            if (!isBinary) Queue.unsafeOffer(queue, data.toString())
          })
          ws.on("close", () => Deferred.unsafeDone(closed, Exit.void))
          ws.on("error", () => {})
          resume(Effect.succeed(ws))
        })
      }),
      (ws) => Effect.sync(() => ws.terminate())
    )
    const fibers = yield* FiberSet.make<void, never>()
    const conn = new Connection(ctx, ws, fibers, new URL(req.url ?? "/", "http://127.0.0.1"))
    const handle: ConnectionHandle = {
      sendRaw: (text) => conn.sendRaw(text),
      close: (code, reason) => conn.shut(code, reason),
      terminate: () => conn.shut("terminate", "")
    }
    ctx.open.add(handle)
    yield* Effect.addFinalizer(() => Effect.sync(() => ctx.open.delete(handle)))
    conn.greet()
    const pingMs = ctx.options.pingIntervalMs
    if (pingMs !== undefined && pingMs > 0) {
      yield* FiberSet.run(
        fibers,
        Clock.currentTimeMillis.pipe(
          Effect.flatMap((timestamp) => Effect.sync(() => conn.send({ type: "ping", timestamp }))),
          Effect.repeat(Schedule.spaced(Duration.millis(pingMs))),
          Effect.delay(Duration.millis(pingMs)),
          Effect.asVoid
        )
      )
    }
    const loop = Effect.forever(
      Effect.flatMap(Queue.take(queue), (text) =>
        conn.handleFrame(text).pipe(
          Effect.catchAllDefect((defect) =>
            Effect.sync(() => conn.sendError("server_error", "fake_server_defect", `fake server defect: ${String(defect)}`))
          )
        )
      )
    )
    yield* Effect.raceFirst(loop, Deferred.await(closed))
  }).pipe(
    Effect.scoped,
    Effect.ensuring(Effect.sync(() => socket.destroy()))
  )
