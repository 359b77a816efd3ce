// Shared inputs: W2's 48 kHz stereo frames and the message count of one bench-server reply.

/** `seconds` of 48 kHz stereo in 10 ms frames (Int16Array of 960), deterministic: two tones + noise. */
export const makeFrames = (seconds) => {
  const frames = []
  let seed = 7
  for (let k = 0; k < seconds * 100; k++) {
    const f = new Int16Array(960)
    for (let i = 0; i < 480; i++) {
      const t = k * 480 + i
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      const noise = (seed % 600) - 300
      f[2 * i] = Math.round(6000 * Math.sin(t * 0.029)) + noise
      f[2 * i + 1] = Math.round(6000 * Math.sin(t * 0.031)) - noise
    }
    frames.push(f)
  }
  return frames
}

/** Frames the bench server sends for one reply of `replyMs` (see bench/server.mjs). */
export const messagesPerReply = (replyMs) => {
  const deltas = Math.round(replyMs / 100)
  return 1 + 3 + deltas + Math.ceil(deltas / 5) + 5
}

/** Bytes of 24 kHz PCM16 in `ms` of audio. */
export const pcmBytes = (ms) => ms * 48
