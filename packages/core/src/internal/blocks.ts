/** Long inputs through a block converter: in pieces of a bounded size, the outputs joined in order. */

/**
 * Runs `run` over `input` in pieces of at most `step` samples (a multiple of the channel count, so
 * no frame is split) and returns the outputs joined; one call when `input` fits.
 */
export const inBlocks = (input: Int16Array, step: number, run: (piece: Int16Array) => Int16Array): Int16Array => {
  if (input.length <= step) return run(input)
  const parts: Array<Int16Array> = []
  let total = 0
  for (let at = 0; at < input.length; at += step) {
    const part = run(input.subarray(at, at + step))
    parts.push(part)
    total += part.length
  }
  const out = new Int16Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
