import { assert, describe, it } from "@effect/vitest"
import { Transport, type TransportRequest } from "@realtime-fx/core/Transport"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Crypto from "node:crypto"
import * as Net from "node:net"
import type { AddressInfo } from "node:net"
import { WebSocketServer } from "ws"
import * as NodeTransport from "../src/NodeTransport.js"
import * as Wav from "../src/Wav.js"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

// Regression tests for defects found in review (fixed); each comment names the rule and the defect. 127.0.0.1 only, bounded.

const request = (url: string): TransportRequest => ({ url, headers: {}, protocols: [] })

const open = (req: TransportRequest) => Effect.flatMap(Transport, (transport) => transport.open(req))

const provide = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.timeoutFail({ duration: "8 seconds", onTimeout: () => new Error("test timed out") }),
    Effect.provide(NodeTransport.layerWith({ openTimeout: "3 seconds" }))
  )

/**
 * A hand-written WebSocket server on a raw TCP socket, so a test controls exactly what the peer does:
 * it completes the upgrade, and `sendClose` sends a close frame WITHOUT ending the TCP connection
 * (a slow or misbehaving peer: the client then sits in CLOSING until ws's 30 s close timer).
 */
const rawServer = Effect.gen(function*() {
  const peers = yield* Queue.unbounded<{
    readonly socket: Net.Socket
    readonly afterUpgrade: Queue.Queue<Buffer>
  }>()
  const server = yield* Effect.acquireRelease(
    Effect.async<Net.Server>((resume) => {
      const s = Net.createServer((socket) => {
        const afterUpgrade = Effect.runSync(Queue.unbounded<Buffer>())
        let head = Buffer.alloc(0)
        let upgraded = false
        socket.on("data", (data) => {
          if (upgraded) {
            afterUpgrade.unsafeOffer(data)
            return
          }
          head = Buffer.concat([head, data])
          const text = head.toString("latin1")
          if (!text.includes("\r\n\r\n")) return
          const key = /sec-websocket-key:\s*(\S+)/i.exec(text)![1]!
          const accept = Crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest(
            "base64"
          )
          socket.write(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              `Sec-WebSocket-Accept: ${accept}\r\n\r\n`
          )
          upgraded = true
          peers.unsafeOffer({ socket, afterUpgrade })
        })
        socket.on("error", () => {})
      })
      s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
    }),
    (s) =>
      Effect.async<void>((resume) => {
        s.close(() => resume(Effect.void))
        ;(s as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
      })
  )
  const port = (server.address() as AddressInfo).port
  return { url: `ws://127.0.0.1:${port}/v1/realtime`, peers }
})

describe("NodeTransport regressions", () => {
  // Rule (Transport.ts, `send`): "Fails with a retryable ConnectionError if the connection is gone";
  // DESIGN: "nothing is sent on a dead socket, nothing is silently dropped".
  // Was: once the server's close frame has arrived, `ws` is CLOSING; the Socket writer calls
  // `ws.send(text)` with no callback, which `ws` silently discards (sendAfterClose), and
  // `state.ended` is only set by the later 'close' event (up to 30 s away). So `send` SUCCEEDS and
  // the frame is lost: the Outbox counts it as delivered.
  it.scopedLive("a send after the server's close frame fails instead of being silently dropped", () =>
    provide(Effect.gen(function*() {
      const server = yield* rawServer
      const conn = yield* open(request(server.url))
      const peer = yield* Queue.take(server.peers)
      yield* Effect.addFinalizer(() => Effect.sync(() => peer.socket.destroy()))
      // close frame, code 1000, unmasked (server to client); TCP stays open
      peer.socket.write(Buffer.from([0x88, 0x02, 0x03, 0xe8]))
      // the client's close reply proves it has processed our close frame (readyState CLOSING)
      const reply = yield* Queue.take(peer.afterUpgrade)
      assert.strictEqual(reply[0], 0x88)
      const sent = yield* Effect.exit(conn.send("this frame would be lost"))
      // nothing but the close reply ever reaches the peer...
      assert.strictEqual(yield* Queue.size(peer.afterUpgrade), 0)
      // ...so the send must not report success
      assert.isTrue(Exit.isFailure(sent), "send succeeded although the frame was dropped")
    })))

  // Rule (Transport.ts): `close: (code?, reason?) => Effect<void>` cannot fail; it must not die either.
  // Was: wsConnection.ts `close` writes a CloseEvent that `ws.close` rejects by THROWING
  // (a reason over 123 bytes: RangeError; a reserved code such as 1006: TypeError) inside the
  // Socket writer's Effect.sync, so it is a defect that `Effect.ignore` does not catch; and
  // `state.ended` is already true, so the socket stays open while every send fails.
  it.scopedLive("close with a long reason does not die and still closes the connection", () =>
    provide(Effect.gen(function*() {
      const wss = yield* Effect.acquireRelease(
        Effect.async<WebSocketServer>((resume) => {
          const s: WebSocketServer = new WebSocketServer({ host: "127.0.0.1", port: 0 }, () =>
            resume(Effect.succeed(s)))
        }),
        (s) =>
          Effect.async<void>((resume) => {
            for (const c of s.clients) c.terminate()
            s.close(() => resume(Effect.void))
          })
      )
      const closed = yield* Deferred.make<number>()
      wss.on("connection", (ws) => ws.on("close", (code) => Deferred.unsafeDone(closed, Exit.succeed(code))))
      const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`
      const conn = yield* open(request(url))
      const exit = yield* Effect.exit(conn.close(1000, "x".repeat(200)))
      assert.isTrue(Exit.isSuccess(exit), `close died: ${Exit.isFailure(exit) ? String(exit.cause) : ""}`)
      const code = yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"), Effect.option)
      assert.isTrue(code._tag === "Some", "the server never saw the connection close")
    })))

})

// --- WAV ------------------------------------------------------------------------------------------

const ascii = (t: string) => Array.from(t, (c) => c.charCodeAt(0))
const u16 = (n: number) => [n & 255, (n >> 8) & 255]
const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255]

/** A RIFF/WAVE file from a fmt chunk body and the data bytes (odd data gets its RIFF pad byte). */
const riff = (fmtBody: ReadonlyArray<number>, data: ReadonlyArray<number>): Uint8Array => {
  const fmt = [...ascii("fmt "), ...u32(fmtBody.length), ...fmtBody]
  const chunk = [...ascii("data"), ...u32(data.length), ...data, ...(data.length % 2 === 1 ? [0] : [])]
  const body = [...ascii("WAVE"), ...fmt, ...chunk]
  return new Uint8Array([...ascii("RIFF"), ...u32(body.length), ...body])
}

const pcmFmt = (format: number, channels: number, rate: number, bits: number) => {
  const block = (channels * bits) / 8
  return [...u16(format), ...u16(channels), ...u32(rate), ...u32(rate * block), ...u16(block), ...u16(bits)]
}

describe("Wav regressions", () => {
  // Rule (RIFF): a chunk of odd size is followed by one pad byte that is NOT part of the chunk.
  // Was: Wav.ts fromBytes (Wav.ts:52-73) trusts wavefile, whose riff-file.js getSubChunkIndex_
  // ends chunkData at size+1 for odd sizes, so the pad byte becomes an extra sample: an 8-bit mono
  // file with 3 samples reads as 4, the 4th a full-scale -32768 click (0x00 in unsigned 8-bit).
  it.effect("an 8-bit mono file with an odd sample count reads exactly its samples (no pad byte)", () =>
    Effect.gen(function*() {
      const frame = yield* Wav.fromBytes(riff(pcmFmt(1, 1, 16000, 8), [0x80, 0x80, 0x80]))
      assert.strictEqual(frame.data.length, 3)
      assert.deepStrictEqual(Array.from(frame.data), [0, 0, 0])
    }))

  // Rule (fromBytes doc): "float 32/64-bit" WAV input is read as PCM16. WAVE_FORMAT_EXTENSIBLE
  // (0xFFFE, what ffmpeg/soundfile write for float or >2 channels) carries the real format in the
  // sub-format GUID. Was: wavefile's bitDepthFromFmt_ only maps audioFormat 3 to "32f", so an
  // extensible float file gets bitDepth "32" and Wav.ts (fromBytes, the `depth === "32f"` test)
  // converts the IEEE bit patterns as int32: 0.5 becomes 16127, -0.5 becomes -16640 (noise).
  it.effect("a WAVE_FORMAT_EXTENSIBLE float32 file reads as the float samples", () =>
    Effect.gen(function*() {
      const floats = new Float32Array([0.5, -0.5, 0.25])
      const fmt = [
        ...pcmFmt(0xfffe, 1, 16000, 32),
        ...u16(22), // cbSize
        ...u16(32), // valid bits
        ...u32(4), // channel mask: front centre
        // KSDATAFORMAT_SUBTYPE_IEEE_FLOAT {00000003-0000-0010-8000-00aa00389b71}
        ...u16(3),
        ...[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]
      ]
      const frame = yield* Wav.fromBytes(riff(fmt, Array.from(new Uint8Array(floats.buffer))))
      assert.deepStrictEqual(Array.from(frame.data), [16384, -16384, 8192])
    }))

  // Rule (Wav.write doc + AudioFrame): what `write` writes, `read` reads back; an invalid frame
  // fails with WavError "InvalidAudio" (as it already does when several frames are given).
  // Was: Wav.ts concatFrames returns a single frame as it is (`frames.length === 1` shortcut)
  // without AudioFrame.validate, so a stereo frame of 3 samples is written as a WAV whose data is
  // not block-aligned, and `read` of that very file then fails.
  it.scoped("write rejects a ragged single frame instead of writing a file read cannot read", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "review-wav-"))),
        (d) => Effect.sync(() => Fs.rmSync(d, { recursive: true, force: true }))
      )
      const path = Path.join(dir, "ragged.wav")
      const written = yield* Effect.either(Wav.write(path, { data: new Int16Array(3), sampleRate: 24000, channels: 2 }))
      if (written._tag === "Right") {
        const back = yield* Effect.either(Wav.read(path))
        assert.fail(`write succeeded; read of the same file: ${back._tag === "Left" ? back.left.message : "ok"}`)
      }
      assert.strictEqual(written.left.reason, "InvalidAudio")
    }))

  // Was: a header value ws refuses (here a line break) made a retryable ConnectionError, so the
  // supervisor retried a configuration error; the error must also not quote the secret.
  it.effect("NodeTransport: a request ws refuses is a non-retryable error that does not quote the header", () =>
    Effect.gen(function*() {
      const transport = yield* NodeTransport.make()
      const exit = yield* Effect.exit(Effect.scoped(transport.open({
        url: "ws://127.0.0.1:9/v1/realtime",
        headers: { Authorization: Redacted.make("Bearer top-secret\nX-Injected: 1") },
        protocols: []
      })))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = Option.getOrThrow(Cause.failureOption(exit.cause))
        assert.strictEqual(error._tag, "ConnectionError")
        assert.isFalse(error._tag === "ConnectionError" && error.retryable)
        assert.notInclude(error.message, "top-secret")
      }
    }))
})
