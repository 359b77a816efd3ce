// The half-band decimator's WebAssembly SIMD loop: built from halfband.wat (the committed bytes are
// what wabt makes of the text today), run on Node, and sample for sample the scalar loop's output.
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { readFileSync } from "node:fs"
import wabt from "wabt"
import * as Halfband from "../../src/internal/halfband.js"
import * as Simd from "../../src/internal/halfbandSimd.js"
import { base64 } from "../../src/internal/halfbandWasm.js"
import { concat } from "./signal.js"

describe("half-band decimator: the WebAssembly SIMD loop", () => {
  it("halfbandWasm.ts holds exactly what wabt compiles from halfband.wat (run npm run build after editing it)", async () => {
    const source = readFileSync(new URL("../../src/internal/halfband.wat", import.meta.url), "utf8")
    const w = await wabt()
    const module = w.parseWat("halfband.wat", source, { simd: true })
    try {
      module.validate()
      assert.strictEqual(Buffer.from(module.toBinary({}).buffer).toString("base64"), base64)
    } finally {
      module.destroy()
    }
  })

  it("runs on this host (Node 20 has WebAssembly SIMD), so the default decimator uses it", () => {
    assert.isTrue(Simd.available())
    const decimator = Halfband.make()
    decimator.processInterleaved(new Int16Array(2 * 48000), 2) // a second: the streams grow past their first size
    assert.isTrue(decimator.simd(), "the default decimator runs the SIMD loop")
    assert.isFalse(Halfband.make({ simd: false }).simd(), "simd: false forces the JavaScript loop")
  })

  it("gives exactly the scalar loop's output for any channels, block sizes, full-scale input and flushes (property)", () => {
    const pcm = fc.array(fc.oneof(fc.integer({ min: -32768, max: 32767 }), fc.constantFrom(-32768, 32767)), {
      maxLength: 3000
    })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.tuple(pcm, fc.boolean()), { minLength: 1, maxLength: 10 }),
        (channels, blocks) => {
          const simd = Halfband.make()
          const scalar = Halfband.make({ simd: false })
          const a: Array<Int16Array> = []
          const b: Array<Int16Array> = []
          for (const [samples, flush] of blocks) {
            const block = Int16Array.from(samples.slice(0, samples.length - (samples.length % channels)))
            a.push(simd.processInterleaved(block, channels))
            b.push(scalar.processInterleaved(block, channels))
            if (flush) {
              a.push(simd.flush())
              b.push(scalar.flush())
            }
          }
          a.push(simd.flush())
          b.push(scalar.flush())
          assert.deepStrictEqual(concat(a), concat(b))
        }
      ),
      { numRuns: 80 }
    )
  })

  it("a block far larger than the initial streams (10 s at once) grows them and still matches", () => {
    const input = new Int16Array(480_001)
    for (let i = 0; i < input.length; i++) input[i] = Math.round(20000 * Math.sin(i * 0.013) + ((i * 7919) % 3001) - 1500)
    const simd = Halfband.make()
    const scalar = Halfband.make({ simd: false })
    const a = concat([simd.process(input.subarray(0, 1000)), simd.process(input.subarray(1000)), simd.flush()])
    const b = concat([scalar.process(input), scalar.flush()])
    assert.strictEqual(a.length, 240_001)
    assert.deepStrictEqual(a, b)
  })

  it("stereo blocks longer than the SIMD mix takes at once (4,096 frames), at either parity, match", () => {
    const stereo = new Int16Array(2 * 20_003)
    for (let i = 0; i < stereo.length; i++) stereo[i] = ((i * 48271) % 65536) - 32768
    const simd = Halfband.make()
    const scalar = Halfband.make({ simd: false })
    // an odd first block puts the long one at odd parity
    const a = concat([simd.processInterleaved(stereo.subarray(0, 6), 2), simd.processInterleaved(stereo.subarray(6), 2), simd.flush()])
    const b = concat([scalar.processInterleaved(stereo, 2), scalar.flush()])
    assert.strictEqual(a.length, 10_002)
    assert.deepStrictEqual(a, b)
  })
})
