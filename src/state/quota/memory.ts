/** The in-process quota of one gateway. */
import { DAY_MS, type QuotaBudget, type QuotaDecision, type QuotaPurpose, type QuotaState } from './index.js'

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
