/** The in-process registry of known orders of one gateway, bounded in entries. */
import { ExpiringMap } from '../../lib/expiring-map.js'
import type { KnownOrder, OrderRegistry } from './index.js'

export interface MemoryOrderRegistryOptions {
  /** Most orders kept; the least recently remembered go first. Default 100 000. */
  maxEntries?: number
  now?: () => number
}

export class MemoryOrderRegistry implements OrderRegistry {
  readonly #orders: ExpiringMap<KnownOrder>

  constructor (opts: MemoryOrderRegistryOptions = {}) {
    this.#orders = new ExpiringMap(opts.maxEntries ?? 100_000, opts.now)
  }

  async remember (trackcode: string, order: KnownOrder, ttlMs: number): Promise<void> {
    this.#orders.set(trackcode, { ...order }, ttlMs)
  }

  async get (trackcode: string): Promise<KnownOrder | undefined> {
    const order = this.#orders.get(trackcode)
    return order === undefined ? undefined : { ...order }
  }

  async forget (trackcode: string): Promise<void> {
    this.#orders.delete(trackcode)
  }

  async list (): Promise<Array<[string, KnownOrder]>> {
    return [...this.#orders.entries()].map(([code, order]) => [code, { ...order }])
  }
}
