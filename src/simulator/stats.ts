/**
 * Call counters, so tests can assert how many upstream calls were made (the `/_sim/…`
 * control routes are never counted).
 */

/** Counters since the last reset. */
export interface SimStats {
  /** Calls received (any route but `/_sim/…`, including faulted and refused ones). */
  total: number
  /** Calls per route, keyed `"METHOD /path"` (unknown routes by their literal path). */
  byRoute: Record<string, number>
  /** Answers per HTTP status; faults that send no status count under their mode (`reset`, `hang`, `truncated`). */
  byStatus: Record<string, number>
  /** Quota used per API key in the current rolling window (not cleared by a stats reset). */
  quotaUsed: Record<string, number>
}

/** Mutable counters behind {@link SimStats}. */
export class StatsRecorder {
  #total = 0
  #byRoute: Record<string, number> = {}
  #byStatus: Record<string, number> = {}

  /** Records an incoming call. */
  call (route: string): void {
    this.#total++
    this.#byRoute[route] = (this.#byRoute[route] ?? 0) + 1
  }

  /** Records how a call was answered. */
  outcome (status: number | string): void {
    const key = String(status)
    this.#byStatus[key] = (this.#byStatus[key] ?? 0) + 1
  }

  /** A copy of the counters. */
  snapshot (quotaUsed: Record<string, number>): SimStats {
    return { total: this.#total, byRoute: { ...this.#byRoute }, byStatus: { ...this.#byStatus }, quotaUsed }
  }

  reset (): void {
    this.#total = 0
    this.#byRoute = {}
    this.#byStatus = {}
  }
}
