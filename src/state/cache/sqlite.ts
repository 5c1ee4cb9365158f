/**
 * The meta/prices cache in the state database (table `cache`), values stored as bytes
 * through a codec (`codec.ts`), so a restart does not spend quota reloading what is
 * still fresh. Entries at or past their `expires_at` are ignored on read and deleted
 * by {@link SqliteCacheStore.sweep}.
 */
import type { CacheStore } from './index.js'
import type { CacheCodec } from './codec.js'
import type { StateDatabase } from '../sqlite/database.js'

export interface SqliteCacheStoreOptions<V> {
  db: StateDatabase
  codec: CacheCodec<V>
  now?: () => number
}

export class SqliteCacheStore<V> implements CacheStore<V> {
  readonly #db: StateDatabase
  readonly #codec: CacheCodec<V>
  readonly #now: () => number

  constructor (opts: SqliteCacheStoreOptions<V>) {
    this.#db = opts.db
    this.#codec = opts.codec
    this.#now = opts.now ?? Date.now
  }

  async get (key: string): Promise<V | undefined> {
    const row = this.#db.statement('SELECT value FROM cache WHERE key = ? AND expires_at > ?').get(key, this.#now()) as { value: Buffer } | undefined
    return row === undefined ? undefined : this.#codec.decode(row.value)
  }

  async set (key: string, value: V, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) {
      this.#db.statement('DELETE FROM cache WHERE key = ?').run(key)
      return
    }
    this.#db.statement('INSERT OR REPLACE INTO cache (key, value, expires_at) VALUES (?, ?, ?)').run(key, this.#codec.encode(value), this.#now() + ttlMs)
  }

  /** Deletes the expired entries; returns how many. */
  sweep (): number {
    return this.#db.statement('DELETE FROM cache WHERE expires_at <= ?').run(this.#now()).changes
  }
}
