/**
 * The fake server's voice activity detector: a pure state machine over 10 ms frame levels.
 *
 * Mapping from `threshold` (0..1) to level: a frame is speech when its RMS level is above
 * `-60 + 40 * threshold` dBFS (0.5 → -40 dBFS, 0 → -60 dBFS, 1 → -20 dBFS).
 *
 * @internal
 */

/** VAD settings (the `server_vad` turn detection fields). */
export interface VadConfig {
  readonly threshold: number
  readonly prefixPaddingMs: number
  readonly silenceDurationMs: number
}

/** Detector state; `speaking` with `speechStartMs`/`lastSpeechEndMs` in input-audio milliseconds. */
export interface VadState {
  readonly speaking: boolean
  readonly speechStartMs: number
  readonly lastSpeechEndMs: number
}

/** What one frame produced. */
export type VadEvent =
  | { readonly _tag: "SpeechStarted"; readonly audioStartMs: number; readonly speechStartMs: number }
  | { readonly _tag: "SpeechStopped"; readonly audioEndMs: number }

/** Frame length the detector expects. */
export const FRAME_MS = 10

/** The initial (silent) state. */
export const initial: VadState = { speaking: false, speechStartMs: 0, lastSpeechEndMs: 0 }

/** The speech level threshold in dBFS for a `threshold` setting. */
export const thresholdDbfs = (threshold: number): number => -60 + 40 * Math.min(1, Math.max(0, threshold))

/**
 * Advances the detector by one frame that starts at `frameStartMs` (input-audio time) with level
 * `levelDbfs`. Speech starts on the first loud frame; `audio_start_ms` is that frame's start minus
 * the prefix padding (not before 0). Speech stops once `silenceDurationMs` of quiet frames follow the
 * last loud one; `audio_end_ms` is the moment that silence window completes.
 */
export const step = (
  config: VadConfig,
  state: VadState,
  frameStartMs: number,
  levelDbfs: number
): readonly [VadState, VadEvent | undefined] => {
  const loud = levelDbfs > thresholdDbfs(config.threshold)
  const frameEndMs = frameStartMs + FRAME_MS
  if (!state.speaking) {
    if (!loud) return [state, undefined]
    const audioStartMs = Math.max(0, frameStartMs - config.prefixPaddingMs)
    return [
      { speaking: true, speechStartMs: frameStartMs, lastSpeechEndMs: frameEndMs },
      { _tag: "SpeechStarted", audioStartMs, speechStartMs: frameStartMs }
    ]
  }
  if (loud) return [{ ...state, lastSpeechEndMs: frameEndMs }, undefined]
  if (frameEndMs - state.lastSpeechEndMs >= config.silenceDurationMs) {
    return [{ ...state, speaking: false }, { _tag: "SpeechStopped", audioEndMs: frameEndMs }]
  }
  return [state, undefined]
}
