/** The in-process lease store: exclusive between owners; one gateway is one owner, so in practice it always grants. */
import type { LeaseStore } from './index.js'

/** In-process {@link LeaseStore}. */
export class MemoryLeaseStore implements LeaseStore {
  readonly #leases = new Map<string, { owner: string, expiresAt: number }>()
  readonly #now: () => number

  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  async acquire (trackcode: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.#now()
    const held = this.#leases.get(trackcode)
    if (held !== undefined && held.owner !== owner && held.expiresAt > now) return false
    this.#leases.set(trackcode, { owner, expiresAt: now + ttlMs })
    return true
  }

  async release (trackcode: string, owner: string): Promise<void> {
    if (this.#leases.get(trackcode)?.owner === owner) this.#leases.delete(trackcode)
  }
}
