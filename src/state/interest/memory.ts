/** The in-process interest set (one instance: its own subscriptions). */
import type { InterestSet } from './index.js'

/** In-process {@link InterestSet}. */
export class MemoryInterestSet implements InterestSet {
  readonly #expiry = new Map<string, number>()
  readonly #now: () => number

  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  async touch (trackcodes: readonly string[], ttlMs: number): Promise<void> {
    const until = this.#now() + ttlMs
    for (const code of trackcodes) this.#expiry.set(code, Math.max(until, this.#expiry.get(code) ?? 0))
  }

  async list (): Promise<string[]> {
    const now = this.#now()
    const out: string[] = []
    for (const [code, until] of this.#expiry) {
      if (until <= now) this.#expiry.delete(code)
      else out.push(code)
    }
    return out
  }
}
