import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Chat from "../src/ChatContext.js"

const textItem = (id: string, text: string, role: Chat.ChatMessage["role"] = "user") => Chat.message(id, role, text)

/** Arbitrary conversations over a small id space, so that remote and wanted share items. */
const arbContext = fc
  .uniqueArray(fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h"), { maxLength: 8 })
  .chain((ids) =>
    fc.tuple(...ids.map((id) => fc.constantFrom("hi", "there", "", "again").map((text) => textItem(id, text))))
  )
  .map((items) => Chat.make(items))

const ids = (ctx: Chat.ChatContext) => ctx.items.map((i) => i.id)

describe("ChatContext", () => {
  it("diff then apply gives the wanted conversation (ids, order, content of non-empty remote items)", () => {
    fc.assert(
      fc.property(arbContext, arbContext, (remote, wanted) => {
        const d = Chat.diff(remote, wanted)
        const result = Chat.applyDiff(remote, d)
        // Empty remote items (content not synced down) are never deleted, even when left out of `wanted`.
        const wantedIds = new Set(ids(wanted))
        const keptEmpty = remote.items.filter((i) => Chat.isEmpty(i) && !wantedIds.has(i.id)).map((i) => i.id)
        for (const id of keptEmpty) assert.isTrue(ids(result).includes(id), `empty remote item ${id} kept`)
        assert.deepStrictEqual(ids(result).filter((id) => !keptEmpty.includes(id)), ids(wanted))
        const remoteById = new Map(remote.items.map((i) => [i.id, i]))
        result.items.filter((i) => !keptEmpty.includes(i.id)).forEach((item, index) => {
          const before = remoteById.get(item.id)
          const kept = before !== undefined && Chat.isEmpty(before) && !d.toCreate.some((c) => c.item.id === item.id)
          // An empty remote item left in place keeps its remote content; everything else matches.
          assert.deepStrictEqual(item, kept ? before : wanted.items[index])
        })
      })
    )
  })

  it("diff is minimal: identical conversations need nothing, and untouched items are never re-sent", () => {
    fc.assert(
      fc.property(arbContext, (ctx) => {
        const d = Chat.diff(ctx, ctx)
        assert.strictEqual(d.toRemove.length, 0)
        assert.strictEqual(d.toCreate.length, 0)
      })
    )
    const remote = Chat.make([textItem("a", "one"), textItem("b", "two"), textItem("c", "three")])
    const wanted = Chat.make([textItem("a", "one"), textItem("c", "three"), textItem("d", "four")])
    const d = Chat.diff(remote, wanted)
    assert.deepStrictEqual(d.toRemove, ["b"])
    assert.deepStrictEqual(d.toCreate.map((c) => [c.previousId, c.item.id]), [["c", "d"]])
  })

  it("a changed item is deleted and created again after the same previous item", () => {
    const remote = Chat.make([textItem("a", "one"), textItem("b", "two")])
    const wanted = Chat.make([textItem("a", "one"), textItem("b", "TWO")])
    const d = Chat.diff(remote, wanted)
    assert.deepStrictEqual(d.toRemove, ["b"])
    assert.deepStrictEqual(d.toCreate.map((c) => [c.previousId, c.item.id]), [["a", "b"]])
  })

  it("an item whose remote content is empty (audio not synced down) is left alone", () => {
    const remote = Chat.make([{ type: "message", id: "u1", role: "user", content: [{ type: "audio", transcript: "" }] }])
    const wanted = Chat.make([textItem("u1", "what the user said")])
    const d = Chat.diff(remote, wanted)
    assert.deepStrictEqual(d, { toRemove: [], toCreate: [] })
  })

  it("insertAfter: after a known id, at the start for null, at the end for an unknown id", () => {
    let ctx = Chat.empty
    ctx = Chat.insertAfter(ctx, undefined, textItem("a", "1"))
    ctx = Chat.insertAfter(ctx, "a", textItem("c", "3"))
    ctx = Chat.insertAfter(ctx, "a", textItem("b", "2"))
    ctx = Chat.insertAfter(ctx, null, textItem("z", "0"))
    ctx = Chat.insertAfter(ctx, "never-announced", textItem("d", "4"))
    assert.deepStrictEqual(ids(ctx), ["z", "a", "b", "c", "d"])
    ctx = Chat.remove(ctx, "b")
    assert.deepStrictEqual(ids(ctx), ["z", "a", "c", "d"])
  })

  it("appendTranscript adds the transcript to the mirrored message", () => {
    const ctx = Chat.make([{ type: "message", id: "u1", role: "user", content: [{ type: "audio", transcript: "" }] }])
    const out = Chat.appendTranscript(ctx, "u1", "hello there")
    assert.strictEqual(Chat.textOf(out.items[0] as Chat.ChatMessage), "hello there")
  })

  it("forReplay keeps user and assistant messages with text, in order", () => {
    const ctx = Chat.make([
      textItem("s", "be nice", "system"),
      textItem("u", "hi"),
      { type: "function_call", id: "f", callId: "c1", name: "x", arguments: "{}" },
      textItem("e", ""),
      textItem("a", "hello", "assistant")
    ])
    assert.deepStrictEqual(Chat.forReplay(ctx).map((i) => i.id), ["u", "a"])
  })
})
