/** A received audio frame, made by a constructor so that V8 never allocates it in the old generation. */
import type * as AudioFrame from "../../AudioFrame.js"
import { OUTPUT_RATE } from "./state.js"

// V8 tracks where object literals are allocated. When objects from one literal were found alive at
// young-generation GCs often enough, every later one is allocated straight in the old generation
// ("pretenuring"). Frames held for a moment (the first ones of many replies, waiting for their
// consumer) made V8 pretenure the frame literal in some processes; from then on every frame, dropped
// at once by its consumer, died in the old generation: at 500 sessions such a process ran a
// mark-compact about every 500 ms, at two to three times the CPU (BENCHMARKS.md, W3). Objects made
// by `new` are never pretenured.

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
