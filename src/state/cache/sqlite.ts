/**
 * The meta/prices cache in the state database (table `cache`), values stored as bytes
 * through a codec (`codec.ts`), so a restart does not spend quota reloading what is
 * still fresh. Entries at or past their `expires_at` are ignored on read and deleted
 * by {@link SqliteCacheStore.sweep}.
 *
 * Each entry read or written is also kept decoded in process, with its expiry (at most
 * {@link COPIES_KEPT} keys, oldest dropped first), and served from there without a query
 * until someone else writes the database (`../sqlite/external-writes.ts`: another
 * connection in this process at once, another process from the next event-loop turn);
 * then every copy is dropped and the rows are read again. A cached answer of
 * `/v1/meta*` or `/v1/prices` thus costs no SQL on the hot path.
 */
import type { CacheStore } from './index.js'
import type { CacheCodec } from './codec.js'
import type { StateDatabase } from '../sqlite/database.js'
import { ExternalWrites } from '../sqlite/external-writes.js'
import { ExpiringMap } from '../../lib/expiring-map.js'

/** Keys whose decoded value is kept at most. */
const COPIES_KEPT = 1000

export interface SqliteCacheStoreOptions<V> {
  db: StateDatabase
  codec: CacheCodec<V>
  now?: () => number
}

export class SqliteCacheStore<V> implements CacheStore<V> {
  readonly #db: StateDatabase
  readonly #codec: CacheCodec<V>
  readonly #now: () => number
  readonly #writes: ExternalWrites
  readonly #copies: ExpiringMap<V>

  constructor (opts: SqliteCacheStoreOptions<V>) {
    this.#db = opts.db
    this.#codec = opts.codec
    this.#now = opts.now ?? Date.now
    this.#writes = new ExternalWrites(opts.db)
    this.#copies = new ExpiringMap<V>(COPIES_KEPT, this.#now)
  }

  async get (key: string): Promise<V | undefined> {
    if (this.#writes.changed()) this.#copies.clear()
    const copy = this.#copies.get(key)
    if (copy !== undefined) return copy
    const row = this.#db.statement('SELECT value, expires_at FROM cache WHERE key = ? AND expires_at > ?').get(key, this.#now()) as { value: Buffer, expires_at: number } | undefined
    if (row === undefined) return undefined
    const value = this.#codec.decode(row.value)
    if (value !== undefined) this.#copies.setUntil(key, value, row.expires_at)
    return value
  }

  held (key: string): V | undefined {
    if (this.#writes.changed()) this.#copies.clear()
    return this.#copies.get(key)
  }

  async set (key: string, value: V, ttlMs: number): Promise<void> {
    if (this.#writes.changed()) this.#copies.clear()
    if (ttlMs <= 0) {
      this.#db.statement('DELETE FROM cache WHERE key = ?').run(key)
      this.#writes.committed()
      this.#copies.delete(key)
      return
    }
    const expiresAt = this.#now() + ttlMs
    const bytes = this.#codec.encode(value)
    this.#db.statement('INSERT OR REPLACE INTO cache (key, value, expires_at) VALUES (?, ?, ?)').run(key, bytes, expiresAt)
    this.#writes.committed()
    // What a read would decode (not the caller's object, which it may still change).
    const stored = this.#codec.decode(bytes)
    if (stored === undefined) this.#copies.delete(key)
    else this.#copies.setUntil(key, stored, expiresAt)
  }

  /** Deletes the expired entries; returns how many. */
  sweep (): number {
    return this.#db.statement('DELETE FROM cache WHERE expires_at <= ?').run(this.#now()).changes
  }
}
