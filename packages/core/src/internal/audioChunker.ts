/** Cuts a stream of sample blocks into fixed-size chunks without losing or duplicating a sample. */

/** A chunker's state: the pending partial chunk. Not shared across fibers. */
export interface Chunker {
  /** Appends samples; returns every chunk completed by them (each exactly `size` samples). */
  readonly push: (samples: Int16Array) => ReadonlyArray<Int16Array>
  /**
   * Fills chunks straight from a source: calls `read(target, offset, max)` (which writes at most
   * `max` samples into `target` from `offset` and returns how many) until it gives fewer than asked;
   * returns every chunk completed. No intermediate array: the source writes into the chunk itself.
   */
  readonly pull: (read: (target: Int16Array, offset: number, max: number) => number) => ReadonlyArray<Int16Array>
  /**
   * `pull`, handing each chunk to `each` as it completes, in one buffer reused for the next chunk
   * (no allocation per chunk): `each` must be done with it before it returns.
   */
  readonly pullEach: (
    read: (target: Int16Array, offset: number, max: number) => number,
    each: (chunk: Int16Array) => void
  ) => void
  /** Returns the partial chunk (1..size-1 samples), or undefined when none, and empties it. */
  readonly flush: () => Int16Array | undefined
  /** Drops the partial chunk. */
  readonly clear: () => void
  /** Samples pending in the partial chunk. */
  readonly pending: () => number
}

const NONE: ReadonlyArray<Int16Array> = []

/**
 * A chunker of `size` samples. Chunks that lie wholly inside one pushed block are views of it (no
 * copy); samples that straddle blocks are copied once into a fresh chunk buffer.
 */
export const make = (size: number): Chunker => {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer: ${size}`)
  let buffer = new Int16Array(size)
  let filled = 0
  return {
    push: (samples) => {
      const n = samples.length
      if (n === 0) return NONE
      let offset = 0
      let chunks: Array<Int16Array> | undefined
      if (filled > 0) {
        const take = Math.min(size - filled, n)
        buffer.set(take === n ? samples : samples.subarray(0, take), filled)
        filled += take
        offset = take
        if (filled < size) return NONE
        chunks = [buffer]
        buffer = new Int16Array(size)
        filled = 0
      }
      while (n - offset >= size) {
        if (chunks === undefined) chunks = []
        chunks.push(samples.subarray(offset, offset + size))
        offset += size
      }
      if (offset < n) {
        buffer.set(offset === 0 ? samples : samples.subarray(offset), 0)
        filled = n - offset
      }
      return chunks ?? NONE
    },
    pull: (read) => {
      let chunks: Array<Int16Array> | undefined
      while (true) {
        const want = size - filled
        const got = read(buffer, filled, want)
        filled += got
        if (got < want) return chunks ?? NONE
        if (chunks === undefined) chunks = []
        chunks.push(buffer)
        buffer = new Int16Array(size)
        filled = 0
      }
    },
    pullEach: (read, each) => {
      while (true) {
        const want = size - filled
        const got = read(buffer, filled, want)
        filled += got
        if (got < want) return
        filled = 0
        each(buffer)
      }
    },
    flush: () => {
      if (filled === 0) return undefined
      const out = buffer.subarray(0, filled)
      buffer = new Int16Array(size)
      filled = 0
      return out
    },
    clear: () => {
      filled = 0
    },
    pending: () => filled
  }
}
