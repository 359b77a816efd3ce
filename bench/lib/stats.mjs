// Small statistics and table helpers shared by the benchmarks.

/** Median of a list of numbers. */
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  return n === 0 ? NaN : n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

/** Nearest-rank percentile (p in 0..100) of a list of numbers. */
export const percentile = (xs, p) => {
  const s = Float64Array.from(xs).sort()
  if (s.length === 0) return NaN
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))
  return s[rank]
}

/** Formats a number with `digits` decimals (or "n/a"). */
export const fmt = (x, digits = 1) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "n/a")

/** Prints an aligned table: `header` is an array of column names, `rows` an array of arrays. */
export const table = (header, rows) => {
  const cells = [header, ...rows].map((r) => r.map((c) => String(c)))
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)))
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")
  console.log(line(cells[0]))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const r of cells.slice(1)) console.log(line(r))
}

/** Rejects after `ms` with a message, so a stuck client cannot hang a benchmark. */
export const withTimeout = (promise, ms, what) => {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
    })
  ])
}
