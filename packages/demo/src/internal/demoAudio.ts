/**
 * The demo's input audio: a decoded WAV cut into short frames, followed by silence so that a
 * server-side voice-activity detector sees the end of speech.
 *
 * @internal
 */
import type * as AudioFrame from "@realtime-fx/core/AudioFrame"

/**
 * Cuts `audio` into frames of `frameMs` (views of its buffer, no copy; the last one may be shorter)
 * and appends `silenceMs` of silence in frames of the same length, at the same rate and channels.
 */
export const frames = (
  audio: AudioFrame.AudioFrame,
  frameMs: number,
  silenceMs: number
): ReadonlyArray<AudioFrame.AudioFrame> => {
  const perFrame = Math.max(1, Math.round((audio.sampleRate * frameMs) / 1000)) * audio.channels
  const out: Array<AudioFrame.AudioFrame> = []
  for (let offset = 0; offset < audio.data.length; offset += perFrame) {
    out.push({
      data: audio.data.subarray(offset, Math.min(audio.data.length, offset + perFrame)),
      sampleRate: audio.sampleRate,
      channels: audio.channels
    })
  }
  const silence = new Int16Array(perFrame)
  const silentFrames = Math.ceil(silenceMs / frameMs)
  for (let i = 0; i < silentFrames; i++) {
    out.push({ data: silence, sampleRate: audio.sampleRate, channels: audio.channels })
  }
  return out
}
