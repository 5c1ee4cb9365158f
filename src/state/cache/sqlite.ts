/**
 * The meta/prices cache in the state database (table `cache`), values stored as bytes
 * through a codec (`codec.ts`), so a restart does not spend quota reloading what is
 * still fresh. Entries at or past their `expires_at` are ignored on read and deleted
 * by {@link SqliteCacheStore.sweep}.
 *
 * The last value decoded for each key is kept with its bytes (at most
 * {@link MEMO_ENTRIES} keys, oldest dropped first): while the row holds the same bytes
 * (another instance may have replaced them, so the row is still read), the decoded
 * value is reused instead of parsing the answer again on every request.
 */
import type { CacheStore } from './index.js'
import type { CacheCodec } from './codec.js'
import type { StateDatabase } from '../sqlite/database.js'

/** Keys whose decoded value is kept at most. */
const MEMO_ENTRIES = 1000

export interface SqliteCacheStoreOptions<V> {
  db: StateDatabase
  codec: CacheCodec<V>
  now?: () => number
}

export class SqliteCacheStore<V> implements CacheStore<V> {
  readonly #db: StateDatabase
  readonly #codec: CacheCodec<V>
  readonly #now: () => number
  readonly #decoded = new Map<string, { bytes: Buffer, value: V }>()

  constructor (opts: SqliteCacheStoreOptions<V>) {
    this.#db = opts.db
    this.#codec = opts.codec
    this.#now = opts.now ?? Date.now
  }

  async get (key: string): Promise<V | undefined> {
    const row = this.#db.statement('SELECT value FROM cache WHERE key = ? AND expires_at > ?').get(key, this.#now()) as { value: Buffer } | undefined
    if (row === undefined) return undefined
    const memo = this.#decoded.get(key)
    if (memo !== undefined && memo.bytes.equals(row.value)) return memo.value
    const value = this.#codec.decode(row.value)
    if (value !== undefined) {
      this.#decoded.delete(key)
      if (this.#decoded.size >= MEMO_ENTRIES) {
        const oldest = this.#decoded.keys().next().value
        if (oldest !== undefined) this.#decoded.delete(oldest)
      }
      this.#decoded.set(key, { bytes: row.value, value })
    }
    return value
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
