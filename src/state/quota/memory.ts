/** The in-process quota of one gateway: one rolling window per partition. */
import { DAY_MS, DEFAULT_POLL_SHARE, QUOTA_PURPOSES, partitionLimits, partitionsOf, type QuotaBudget, type QuotaDecision, type QuotaPurpose, type QuotaState } from './index.js'

export interface QuotaOptions {
  limit: number
  /** The `create` partition. */
  reserve: number
  /** Fraction of `limit` that is the `poll` partition. Default {@link DEFAULT_POLL_SHARE}. */
  pollShare?: number
  windowMs?: number
  now?: () => number
}

/** Call times of one partition, ascending; memory bounded by the partition's cap. */
class Window {
  readonly #calls: number[] = []
  #head = 0

  /** Forgets calls at or before `from`; returns how many are left. */
  prune (from: number): number {
    while (this.#head < this.#calls.length && (this.#calls[this.#head] as number) <= from) this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#calls.length) {
      this.#calls.splice(0, this.#head)
      this.#head = 0
    }
    return this.#calls.length - this.#head
  }

  push (at: number): void {
    this.#calls.push(at)
  }

  /** The time of the call `k` places from the oldest, if any. */
  at (k: number): number | undefined {
    return this.#calls[this.#head + k]
  }
}

/** In-process rolling-window quota with strict partitions (see `index.ts`). */
export class MemoryQuota implements QuotaBudget {
  readonly #limit: number
  readonly #reserve: number
  readonly #caps: Record<QuotaPurpose, number>
  readonly #windowMs: number
  readonly #now: () => number
  readonly #windows: Record<QuotaPurpose, Window> = { poll: new Window(), create: new Window(), rest: new Window() }
  #pausedUntil = 0

  constructor (opts: QuotaOptions) {
    if (opts.reserve >= opts.limit) throw new RangeError('quota reserve must be below the limit')
    this.#caps = partitionLimits(opts.limit, opts.reserve, opts.pollShare ?? DEFAULT_POLL_SHARE)
    this.#limit = opts.limit
    this.#reserve = opts.reserve
    this.#windowMs = opts.windowMs ?? DAY_MS
    this.#now = opts.now ?? Date.now
  }

  async tryAcquire (purpose: QuotaPurpose): Promise<QuotaDecision> {
    const now = this.#now()
    const window = this.#windows[purpose]
    const used = window.prune(now - this.#windowMs)
    if (now < this.#pausedUntil) return { granted: false, retryAt: this.#pausedUntil }
    const cap = this.#caps[purpose]
    if (used < cap) {
      window.push(now)
      return { granted: true }
    }
    const leaving = window.at(used - cap)
    return { granted: false, retryAt: leaving === undefined ? now + this.#windowMs : leaving + this.#windowMs }
  }

  async pause (untilMs: number): Promise<void> {
    this.#pausedUntil = Math.max(this.#pausedUntil, untilMs)
  }

  async state (): Promise<QuotaState> {
    const now = this.#now()
    const from = now - this.#windowMs
    const used = { poll: 0, create: 0, rest: 0 }
    let oldest = Infinity
    for (const p of QUOTA_PURPOSES) {
      used[p] = this.#windows[p].prune(from)
      oldest = Math.min(oldest, this.#windows[p].at(0) ?? Infinity)
    }
    const total = used.poll + used.create + used.rest
    return {
      limit: this.#limit,
      reserve: this.#reserve,
      used: total,
      remaining: Math.max(0, this.#limit - total),
      remainingGeneral: Math.max(0, this.#caps.rest - used.rest),
      pausedUntil: this.#pausedUntil > now ? this.#pausedUntil : 0,
      nextFreeAt: oldest === Infinity ? 0 : oldest + this.#windowMs,
      windowMs: this.#windowMs,
      partitions: partitionsOf(this.#caps, used)
    }
  }
}
