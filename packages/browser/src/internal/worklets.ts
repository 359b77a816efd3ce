/**
 * The AudioWorklet processors' sources (capture and playback), built from the tested chunker and
 * jitter buffer classes and loaded from a `blob:` URL, so that no bundler setup or extra file is needed.
 *
 * @since 0.2.0
 */
import { FrameChunker } from "./chunker.js"
import { JitterBuffer } from "./jitter.js"

/** @internal */
export const captureProcessorName = "realtime-fx-capture"

/** @internal */
export const playbackProcessorName = "realtime-fx-playback"

/**
 * Messages to the playback worklet.
 *
 * @internal
 */
export type PlaybackCommand =
  | { readonly type: "pcm"; readonly samples: Int16Array; readonly seq: number }
  | { readonly type: "end" }
  | { readonly type: "reset" }
  | { readonly type: "interrupt"; readonly id: number }

/**
 * Messages from the playback worklet: `progress` about every `reportFrames` rendered frames while
 * playing, `drained` once an ended stream has played out, `interrupted` answering an interrupt.
 * Counts are frames (at the context's rate) played since the last reset; `seq` is the last `pcm`
 * message the worklet had when it drained.
 *
 * @internal
 */
export type PlaybackReport =
  | { readonly type: "progress"; readonly played: number; readonly rms: number; readonly underruns: number }
  | { readonly type: "drained"; readonly played: number; readonly seq: number }
  | { readonly type: "interrupted"; readonly id: number; readonly played: number }

/**
 * The capture processor: posts each completed mono PCM16 frame (its buffer transferred).
 * processorOptions: `{ frameSamples }`. The message `"stop"` ends it.
 *
 * @internal
 */
export const captureSource: string = `
const FrameChunker = (${FrameChunker.toString()});
class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.chunker = new FrameChunker(options.processorOptions.frameSamples);
    this.stopped = false;
    this.port.onmessage = (event) => { if (event.data === "stop") this.stopped = true; };
  }
  process(inputs) {
    if (this.stopped) return false;
    const input = inputs[0];
    if (input !== undefined && input.length > 0) {
      for (const frame of this.chunker.push(input)) this.port.postMessage(frame, [frame.buffer]);
    }
    return true;
  }
}
registerProcessor(${JSON.stringify(captureProcessorName)}, CaptureProcessor);
`

/**
 * The playback processor: a jitter buffer rendered to every output channel, reporting what it played.
 * processorOptions: `{ startFrames, reportFrames }`.
 *
 * @internal
 */
export const playbackSource: string = `
const JitterBuffer = (${JitterBuffer.toString()});
class PlaybackProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.jitter = new JitterBuffer(options.processorOptions.startFrames);
    this.reportFrames = options.processorOptions.reportFrames;
    this.sinceReport = 0;
    this.drainedSent = true;
    this.seq = 0;
    this.port.onmessage = (event) => {
      const m = event.data;
      if (m.type === "pcm") { this.jitter.push(m.samples); this.seq = m.seq; this.drainedSent = false; }
      else if (m.type === "end") { this.jitter.end(); }
      else if (m.type === "reset") { this.jitter.reset(); }
      else if (m.type === "interrupt") {
        const played = this.jitter.clear();
        this.drainedSent = true;
        this.port.postMessage({ type: "interrupted", id: m.id, played });
      }
    };
  }
  process(_inputs, outputs) {
    const output = outputs[0];
    if (output === undefined || output.length === 0) return true;
    const n = this.jitter.render(output[0]);
    for (let c = 1; c < output.length; c++) output[c].set(output[0]);
    if (n > 0) {
      this.sinceReport += n;
      if (this.sinceReport >= this.reportFrames) {
        this.sinceReport = 0;
        this.port.postMessage({ type: "progress", played: this.jitter.played, rms: this.jitter.lastRms, underruns: this.jitter.underruns });
      }
    }
    if (!this.drainedSent && this.jitter.drained) {
      this.drainedSent = true;
      this.sinceReport = 0;
      this.port.postMessage({ type: "progress", played: this.jitter.played, rms: 0, underruns: this.jitter.underruns });
      this.port.postMessage({ type: "drained", played: this.jitter.played, seq: this.seq });
    }
    return true;
  }
}
registerProcessor(${JSON.stringify(playbackProcessorName)}, PlaybackProcessor);
`

/**
 * Loads a processor source into a context's worklet (from a `blob:` URL, revoked once loaded).
 *
 * @internal
 */
export const addModule = async (context: BaseAudioContext, source: string): Promise<void> => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }))
  try {
    await context.audioWorklet.addModule(url)
  } finally {
    URL.revokeObjectURL(url)
  }
}
