/** The in-process leader lease: exclusive between owners (one gateway is one owner, so it always leads). */
import type { LeaderLease, LeaderStore } from './index.js'

/** In-process {@link LeaderStore}. */
export class MemoryLeaderStore implements LeaderStore {
  #held: (LeaderLease & { expiresAt: number }) | null = null
  #terms = 0
  readonly #now: () => number

  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  async campaign (owner: string, ttlMs: number): Promise<number | null> {
    const now = this.#now()
    const held = this.#live(now)
    if (held !== null && held.owner !== owner) return null
    const term = held?.term ?? ++this.#terms
    this.#held = { owner, term, expiresAt: now + ttlMs }
    return term
  }

  async holds (owner: string, term: number): Promise<boolean> {
    const held = this.#live(this.#now())
    return held !== null && held.owner === owner && held.term === term
  }

  async resign (owner: string): Promise<void> {
    if (this.#held?.owner === owner) this.#held = null
  }

  async current (): Promise<LeaderLease | null> {
    const held = this.#live(this.#now())
    return held === null ? null : { owner: held.owner, term: held.term }
  }

  #live (now: number): (LeaderLease & { expiresAt: number }) | null {
    if (this.#held !== null && this.#held.expiresAt <= now) this.#held = null
    return this.#held
  }
}
