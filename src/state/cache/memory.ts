/** The in-process cache store of one gateway. */
import { ExpiringMap } from '../../lib/expiring-map.js'
import type { CacheStore } from './index.js'

/** In-process store with lazy expiry and a bound on entries (oldest evicted first). */
export class MemoryCacheStore<V> implements CacheStore<V> {
  readonly #entries: ExpiringMap<V>

  constructor (opts: { maxEntries?: number, now?: () => number } = {}) {
    this.#entries = new ExpiringMap<V>(opts.maxEntries ?? 1000, opts.now)
  }

  async get (key: string): Promise<V | undefined> {
    return this.#entries.get(key)
  }

  held (key: string): V | undefined {
    return this.#entries.get(key)
  }

  async set (key: string, value: V, ttlMs: number): Promise<void> {
    this.#entries.set(key, value, ttlMs)
  }
}
