/**
 * The in-process allowances of one gateway: the call times of each caller, for the
 * callers seen most recently (bounded: the least recently seen caller is forgotten
 * first, which only ever errs in its favour).
 */
import { DAY_MS } from '../quota/index.js'
import type { AllowanceDecision, AllowanceStore } from './index.js'

export interface MemoryAllowancesOptions {
  /** Most callers remembered. Default 100 000. */
  maxCallers?: number
  windowMs?: number
  now?: () => number
}

export class MemoryAllowances implements AllowanceStore {
  readonly #maxCallers: number
  readonly #windowMs: number
  readonly #now: () => number
  /** Call times by caller, ascending; the Map's order is the LRU order. */
  readonly #calls = new Map<string, number[]>()

  constructor (opts: MemoryAllowancesOptions = {}) {
    this.#maxCallers = opts.maxCallers ?? 100_000
    this.#windowMs = opts.windowMs ?? DAY_MS
    this.#now = opts.now ?? Date.now
  }

  async take (callerId: string, limit: number): Promise<AllowanceDecision> {
    const now = this.#now()
    const times = this.#times(callerId, now)
    if (times.length < limit) {
      times.push(now)
      return { granted: true }
    }
    const leaving = limit <= 0 ? undefined : times[times.length - limit]
    return { granted: false, retryAt: leaving === undefined ? now + this.#windowMs : leaving + this.#windowMs }
  }

  async used (callerId: string): Promise<number> {
    return this.#calls.has(callerId) ? this.#times(callerId, this.#now()).length : 0
  }

  /** The caller's calls still in the window (pruned), made the most recently used. */
  #times (callerId: string, now: number): number[] {
    const from = now - this.#windowMs
    const times = (this.#calls.get(callerId) ?? []).filter((t) => t > from)
    this.#calls.delete(callerId)
    this.#calls.set(callerId, times)
    while (this.#calls.size > this.#maxCallers) {
      const oldest = this.#calls.keys().next().value as string
      this.#calls.delete(oldest)
    }
    return times
  }
}
