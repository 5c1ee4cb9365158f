/**
 * Summary statistics of samples (latencies, set-up times).
 */

/** Distribution of a sample set, in the samples' unit. */
export interface Summary {
  count: number
  min: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

/**
 * The `q`-quantile (0..1) of ascending `sorted` by the nearest-rank method: the
 * smallest sample such that at least `q` of the samples are ≤ it. NaN when empty.
 */
export function quantile (sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  if (q <= 0) return sorted[0] as number
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)))
  return sorted[rank - 1] as number
}

/** Summarizes `samples` (not modified; NaN entries are ignored). */
export function summarize (samples: ArrayLike<number>): Summary {
  const values = Float64Array.from(Array.prototype.filter.call(samples, (v: number) => !Number.isNaN(v)) as number[])
  values.sort()
  let sum = 0
  for (const v of values) sum += v
  const n = values.length
  return {
    count: n,
    min: n === 0 ? Number.NaN : values[0] as number,
    mean: n === 0 ? Number.NaN : sum / n,
    p50: quantile(values, 0.5),
    p90: quantile(values, 0.9),
    p99: quantile(values, 0.99),
    max: n === 0 ? Number.NaN : values[n - 1] as number
  }
}

/** `value / base`, NaN when the base is 0 or either is not finite. */
export function ratio (value: number, base: number): number {
  if (!Number.isFinite(value) || !Number.isFinite(base) || base === 0) return Number.NaN
  return value / base
}

/** Rounds to `digits` decimals (for JSON results that stay readable). */
export function round (value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value
  const f = 10 ** digits
  return Math.round(value * f) / f
}
