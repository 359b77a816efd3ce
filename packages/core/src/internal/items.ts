/** Conversion between chat items (ChatContext) and the protocol's conversation items. */
import type * as Chat from "../ChatContext.js"
import type * as Protocol from "../Protocol.js"

type Part = { readonly type: string; readonly text?: unknown; readonly transcript?: unknown; readonly image_url?: unknown }

const str = (value: unknown): string => (typeof value === "string" ? value : "")

const contentOf = (part: Part): Chat.ChatContent | undefined => {
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text":
      return { type: "text", text: str(part.text) }
    case "input_audio":
    case "output_audio":
    case "audio":
      return { type: "audio", transcript: str(part.transcript) }
    case "input_image":
      return { type: "image", imageUrl: str(part.image_url) }
    default:
      return undefined
  }
}

/** The chat item for a protocol item, or undefined for kinds the chat context does not model. */
export const fromProtocol = (item: Protocol.ConversationItem): Chat.ChatItem | undefined => {
  const raw = item as unknown as Record<string, unknown>
  const id = str(raw["id"])
  if (id === "") return undefined
  switch (raw["type"]) {
    case "message": {
      const role = str(raw["role"])
      if (role !== "user" && role !== "assistant" && role !== "system" && role !== "developer") return undefined
      const parts = Array.isArray(raw["content"]) ? (raw["content"] as ReadonlyArray<Part>) : []
      const content = parts.flatMap((p) => {
        const c = contentOf(p)
        return c === undefined ? [] : [c]
      })
      return { type: "message", id, role, content }
    }
    case "function_call":
      return { type: "function_call", id, callId: str(raw["call_id"]), name: str(raw["name"]), arguments: str(raw["arguments"]) }
    case "function_call_output":
      return { type: "function_call_output", id, callId: str(raw["call_id"]), output: str(raw["output"]) }
    default:
      return undefined
  }
}

/** The protocol item that creates `item` on the server (same id). */
export const toProtocol = (item: Chat.ChatItem): Protocol.ConversationItem => {
  switch (item.type) {
    case "message": {
      const textType = item.role === "assistant" ? "output_text" : "input_text"
      const content = item.content.map((c) =>
        c.type === "text"
          ? { type: textType, text: c.text }
          : c.type === "audio"
          ? { type: textType, text: c.transcript }
          : { type: "input_image", image_url: c.imageUrl }
      )
      return { id: item.id, type: "message", role: item.role, content } as unknown as Protocol.ConversationItem
    }
    case "function_call":
      return {
        id: item.id,
        type: "function_call",
        call_id: item.callId,
        name: item.name,
        arguments: item.arguments
      } as unknown as Protocol.ConversationItem
    case "function_call_output":
      return { id: item.id, type: "function_call_output", call_id: item.callId, output: item.output } as unknown as Protocol.ConversationItem
  }
}
