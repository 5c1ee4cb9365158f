/**
 * Per-key daily quota over a rolling 24 h window of simulated time. Only accepted
 * authenticated calls count; a refused call (429) does not use quota, so a client that
 * keeps trying recovers as soon as its oldest call leaves the window.
 */

/** Length of the quota window: 24 h. */
export const QUOTA_WINDOW_MS = 24 * 3_600_000

/** Rolling-window call counter per API key. */
export class QuotaTracker {
  readonly limit: number
  readonly #calls = new Map<string, number[]>()

  constructor (limit: number) {
    this.limit = limit
  }

  #window (key: string, now: number): number[] {
    const calls = this.#calls.get(key) ?? []
    let drop = 0
    while (drop < calls.length && (calls[drop] as number) <= now - QUOTA_WINDOW_MS) drop++
    if (drop > 0) calls.splice(0, drop)
    this.#calls.set(key, calls)
    return calls
  }

  /** Counts a call for `key` at `now`; false (and nothing counted) when the quota is used up. */
  take (key: string, now: number): boolean {
    const calls = this.#window(key, now)
    if (calls.length >= this.limit) return false
    calls.push(now)
    return true
  }

  /** Calls counted for `key` in the window ending at `now`. */
  used (key: string, now: number): number {
    return this.#window(key, now).length
  }

  /** Calls counted per key in the window ending at `now` (keys with none are left out). */
  snapshot (now: number): Record<string, number> {
    const out: Record<string, number> = {}
    for (const key of [...this.#calls.keys()]) {
      const n = this.used(key, now)
      if (n > 0) out[key] = n
    }
    return out
  }

  /** Forgets every counted call. */
  reset (): void {
    this.#calls.clear()
  }
}
