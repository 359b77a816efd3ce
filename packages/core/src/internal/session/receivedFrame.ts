/** A received audio frame, made by a constructor so that V8 does not pretenure it. */
import type * as AudioFrame from "../../AudioFrame.js"
import { OUTPUT_RATE } from "./state.js"

// V8 tracks where object literals are allocated. When nearly all objects of one literal it checked
// survived a young-generation GC, every later one is allocated straight in the old generation
// ("pretenuring"). In some processes with hundreds of sessions V8 did that to the frame literal
// (probably because the first frames of many replies wait a moment for their consumer); from then
// on every frame, dropped at once by its consumer, died in the old generation, which was marked about
// every 500 ms, at about three times the CPU (BENCHMARKS.md, Results). Objects made by `new` are not
// pretenured.

/** A frame of 24 kHz mono as handed to a message's audio consumer. */
export class ReceivedFrame implements AudioFrame.AudioFrame {
  declare readonly data: Int16Array
  declare readonly sampleRate: number
  declare readonly channels: number
  constructor(data: Int16Array) {
    this.data = data
    this.sampleRate = OUTPUT_RATE
    this.channels = 1
  }
}
