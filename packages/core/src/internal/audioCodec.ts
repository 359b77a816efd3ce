/** PCM16 little-endian <-> base64 codecs: a Buffer fast path (Node) and a portable table-based one. */

/** True when the host stores multi-byte integers little-endian (every mainstream CPU). */
export const hostIsLittleEndian: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/** char code -> 6-bit value; 255 for characters outside the alphabet (base64url's - and _ accepted). */
const DECODE_TABLE: Uint8Array = (() => {
  const table = new Uint8Array(256).fill(255)
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i
  table["-".charCodeAt(0)] = 62
  table["_".charCodeAt(0)] = 63
  return table
})()

/** 12-bit value -> two ASCII codes packed as (hi << 8 | lo): one lookup per pair of output chars. */
const ENCODE_PAIRS: Uint16Array = (() => {
  const table = new Uint16Array(4096)
  for (let i = 0; i < 4096; i++) {
    table[i] = (ALPHABET.charCodeAt(i >> 6) << 8) | ALPHABET.charCodeAt(i & 63)
  }
  return table
})()

const latin1 = new TextDecoder("latin1")

/** Swaps the bytes of every 16-bit sample into a new array (big-endian hosts only). */
export const swapBytes = (pcm: Int16Array): Int16Array => {
  const out = new Int16Array(pcm.length)
  for (let i = 0; i < pcm.length; i++) {
    const v = pcm[i]!
    out[i] = ((v & 0xff) << 8) | ((v >> 8) & 0xff)
  }
  return out
}

/** Swaps the bytes of every 16-bit sample in place (big-endian hosts only). */
const swapInPlace = (pcm: Int16Array): void => {
  for (let i = 0; i < pcm.length; i++) {
    const v = pcm[i]!
    pcm[i] = ((v & 0xff) << 8) | ((v >> 8) & 0xff)
  }
}

/** Encodes bytes to standard padded base64 with the lookup tables (no platform API). */
export const encodeBytesTable = (bytes: Uint8Array): string => {
  const n = bytes.length
  const outLength = Math.ceil(n / 3) * 4
  const out = new Uint8Array(outLength)
  let o = 0
  let i = 0
  const whole = n - (n % 3)
  for (; i < whole; i += 3) {
    const triple = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    const hi = ENCODE_PAIRS[triple >> 12]!
    const lo = ENCODE_PAIRS[triple & 0xfff]!
    out[o] = hi >> 8
    out[o + 1] = hi & 0xff
    out[o + 2] = lo >> 8
    out[o + 3] = lo & 0xff
    o += 4
  }
  const rest = n - whole
  if (rest === 1) {
    const b0 = bytes[i]!
    out[o] = ALPHABET.charCodeAt(b0 >> 2)
    out[o + 1] = ALPHABET.charCodeAt((b0 & 3) << 4)
    out[o + 2] = 61
    out[o + 3] = 61
  } else if (rest === 2) {
    const b0 = bytes[i]!
    const b1 = bytes[i + 1]!
    out[o] = ALPHABET.charCodeAt(b0 >> 2)
    out[o + 1] = ALPHABET.charCodeAt(((b0 & 3) << 4) | (b1 >> 4))
    out[o + 2] = ALPHABET.charCodeAt((b1 & 15) << 2)
    out[o + 3] = 61
  }
  return latin1.decode(out)
}

/**
 * Decodes base64 (standard or url alphabet, padding optional) into `target`, returning the number of
 * bytes written. Characters outside the alphabet (whitespace, padding) are skipped.
 */
export const decodeBytesTableInto = (b64: string, target: Uint8Array): number => {
  let acc = 0
  let bits = 0
  let o = 0
  const cap = target.length
  for (let i = 0; i < b64.length; i++) {
    const code = b64.charCodeAt(i)
    const v = code < 256 ? DECODE_TABLE[code]! : 255
    if (v === 255) continue
    acc = ((acc << 6) | v) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      if (o < cap) target[o] = (acc >> bits) & 0xff
      o++
    }
  }
  return Math.min(o, cap)
}

/** Upper bound of the decoded byte length of a base64 string (exact for canonical input). */
export const decodedLength = (b64: string): number => {
  let n = b64.length
  while (n > 0 && b64.charCodeAt(n - 1) === 61) n--
  return Math.floor((n * 3) / 4)
}

interface BufferLike {
  readonly toString: (encoding: string) => string
  readonly write: (s: string, offset: number, length: number, encoding: string) => number
}
interface BufferCtor {
  readonly from: (buffer: ArrayBufferLike, byteOffset: number, length: number) => BufferLike
  readonly allocUnsafeSlow: (size: number) => { readonly buffer: ArrayBuffer }
}

/** Node's Buffer when the host has one (reached through globalThis, so core stays platform-free). */
export const nodeBuffer: BufferCtor | undefined = (() => {
  const candidate = (globalThis as { readonly Buffer?: unknown }).Buffer as BufferCtor | undefined
  return candidate !== undefined && typeof candidate.from === "function" ? candidate : undefined
})()

/** PCM16 -> little-endian bytes -> base64, through the table codec. */
export const encodePcmTable = (pcm: Int16Array): string => {
  const le = hostIsLittleEndian ? pcm : swapBytes(pcm)
  return encodeBytesTable(new Uint8Array(le.buffer, le.byteOffset, le.byteLength))
}

/** base64 -> little-endian bytes -> PCM16, through the table codec. A trailing odd byte is dropped. */
export const decodePcmTable = (b64: string): Int16Array => {
  const bytes = decodedLength(b64)
  const out = new Int16Array(bytes >> 1)
  const written = decodeBytesTableInto(b64, new Uint8Array(out.buffer, 0, out.byteLength))
  const result = written >> 1 === out.length ? out : out.subarray(0, written >> 1)
  if (!hostIsLittleEndian) swapInPlace(result)
  return result
}

/** PCM16 -> base64 through Buffer (no copy on little-endian hosts). */
export const encodePcmBuffer = (Buf: BufferCtor, pcm: Int16Array): string => {
  const le = hostIsLittleEndian ? pcm : swapBytes(pcm)
  return Buf.from(le.buffer, le.byteOffset, le.byteLength).toString("base64")
}

const fresh = (samples: number): Int16Array => new Int16Array(samples)

const zeroedSlab = (bytes: number): ArrayBuffer => new ArrayBuffer(bytes)

/** The shared slab decoded frames are carved from, and how much of it is taken. */
const SLAB_BYTES = 64 * 1024
let slab = new ArrayBuffer(0)
let slabUsed = 0

/**
 * Room for `samples` samples without an allocation of their own: small frames are carved, 8-byte
 * aligned, from a shared 64 KiB slab (one allocation per dozen 100 ms frames), so the frame's
 * `data.buffer` is the slab: read it through `byteOffset`/`byteLength` (as for Node's pooled
 * Buffers). A slab lives as long as one of its frames is held. Like Node's Buffer pool, the slab is
 * not zero-filled (`newSlab`): the decoder writes every sample it hands out before handing it out.
 */
export const allocSamples = (samples: number, newSlab: (bytes: number) => ArrayBuffer = zeroedSlab): Int16Array => {
  const bytes = samples * 2
  if (bytes > SLAB_BYTES / 4) return new Int16Array(samples)
  if (slabUsed + bytes > slab.byteLength) {
    slab = newSlab(SLAB_BYTES)
    slabUsed = 0
  }
  const out = new Int16Array(slab, slabUsed, samples)
  slabUsed += (bytes + 7) & ~7
  return out
}

/**
 * base64 -> PCM16 through Buffer: decodes straight into the sample array's memory (one pass,
 * aligned), a fresh array or, with `alloc = allocSamples`, slab memory.
 */
export const decodePcmBuffer = (Buf: BufferCtor, b64: string, alloc: (samples: number) => Int16Array = fresh): Int16Array => {
  const bytes = decodedLength(b64)
  const out = alloc(bytes >> 1)
  if (out.length === 0) return out
  const written = Buf.from(out.buffer, out.byteOffset, out.byteLength).write(b64, 0, out.byteLength, "base64")
  const result = written >> 1 === out.length ? out : out.subarray(0, written >> 1)
  if (!hostIsLittleEndian) swapInPlace(result)
  return result
}

/** Received audio: on Node decoded into slab memory (no buffer of its own per frame), else through the table codec. */
export const decodeReceived: (b64: string) => Int16Array = nodeBuffer === undefined
  ? decodePcmTable
  : ((Buf) => {
    const unzeroed = (bytes: number) => Buf.allocUnsafeSlow(bytes).buffer
    const alloc = (samples: number) => allocSamples(samples, unzeroed)
    return (b64: string) => decodePcmBuffer(Buf, b64, alloc)
  })(nodeBuffer)
