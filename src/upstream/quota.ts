/**
 * The upstream quota: `dailyQuota` authenticated calls per rolling 24 h, shared by
 * the REST pass-through and the tracking pollers, never exceeded.
 *
 * A part of the quota (`reserve`) is kept for order creation and deletion: ordinary
 * calls may use up to `dailyQuota - reserve`, creates the whole of it. A slot is taken
 * *before* the call is made, so concurrent callers can never overshoot.
 */

/** What an upstream call is for; decides which part of the quota it may use. */
export type QuotaPurpose = 'create' | 'rest' | 'poll'

export interface QuotaState {
  /** The configured daily quota. */
  limit: number
  /** Kept for `create`. */
  reserve: number
  /** Calls made in the current rolling window. */
  used: number
  /** Calls still possible in the window for ordinary (non-create) purposes. */
  remainingGeneral: number
  /** Calls still possible in the window for `create`. */
  remaining: number
  /** Epoch ms when upstream's own `TOO_MANY_REQUESTS` pause ends (0 when none). */
  pausedUntil: number
  /** Epoch ms when the oldest call leaves the window (0 when none counted). */
  nextFreeAt: number
  /**
   * Length of the rolling window, ms (24 h for the real quota). Optional so that
   * stores written before it existed still satisfy the interface; readers fall back
   * to {@link DAY_MS}.
   */
  windowMs?: number
}

export type QuotaDecision =
  | { granted: true }
  | { granted: false, /** Epoch ms from which a retry can succeed. */ retryAt: number }

/** A quota store. The in-process one is below; a shared one can live in Redis. */
export interface QuotaBudget {
  /** Takes one slot for `purpose` if the window allows it. */
  tryAcquire (purpose: QuotaPurpose): Promise<QuotaDecision>
  /** Upstream said TOO_MANY_REQUESTS: treat the quota as spent until `untilMs`. */
  pause (untilMs: number): Promise<void>
  state (): Promise<QuotaState>
}

export const DAY_MS = 24 * 60 * 60 * 1000

export interface QuotaOptions {
  limit: number
  reserve: number
  windowMs?: number
  now?: () => number
}

/** In-process rolling-window quota. Memory is bounded by `limit` timestamps. */
export class MemoryQuota implements QuotaBudget {
  readonly #limit: number
  readonly #reserve: number
  readonly #windowMs: number
  readonly #now: () => number
  /** Call times in ascending order; a ring would save shifts but `limit` is small. */
  readonly #calls: number[] = []
  #head = 0
  #pausedUntil = 0

  constructor (opts: QuotaOptions) {
    if (opts.reserve >= opts.limit) throw new RangeError('quota reserve must be below the limit')
    this.#limit = opts.limit
    this.#reserve = opts.reserve
    this.#windowMs = opts.windowMs ?? DAY_MS
    this.#now = opts.now ?? Date.now
  }

  #prune (now: number): number {
    const from = now - this.#windowMs
    while (this.#head < this.#calls.length && (this.#calls[this.#head] as number) <= from) this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#calls.length) {
      this.#calls.splice(0, this.#head)
      this.#head = 0
    }
    return this.#calls.length - this.#head
  }

  /** When the call `k` places from the oldest leaves the window. */
  #freeAt (k: number): number {
    const t = this.#calls[this.#head + k]
    return t === undefined ? this.#now() : t + this.#windowMs
  }

  async tryAcquire (purpose: QuotaPurpose): Promise<QuotaDecision> {
    const now = this.#now()
    const used = this.#prune(now)
    if (now < this.#pausedUntil) return { granted: false, retryAt: this.#pausedUntil }
    const cap = purpose === 'create' ? this.#limit : this.#limit - this.#reserve
    if (used < cap) {
      this.#calls.push(now)
      return { granted: true }
    }
    return { granted: false, retryAt: this.#freeAt(used - cap) }
  }

  async pause (untilMs: number): Promise<void> {
    this.#pausedUntil = Math.max(this.#pausedUntil, untilMs)
  }

  async state (): Promise<QuotaState> {
    const now = this.#now()
    const used = this.#prune(now)
    return {
      limit: this.#limit,
      reserve: this.#reserve,
      used,
      remaining: Math.max(0, this.#limit - used),
      remainingGeneral: Math.max(0, this.#limit - this.#reserve - used),
      pausedUntil: this.#pausedUntil > now ? this.#pausedUntil : 0,
      nextFreeAt: used > 0 ? this.#freeAt(0) : 0,
      windowMs: this.#windowMs
    }
  }
}
