/**
 * A bounded map with lazy expiry: entries vanish once their TTL has passed (noticed on
 * read), and past `max` entries the oldest-written one is evicted. Re-setting a key
 * moves it to the young end. The in-process stores (cache, snapshots) are built on it,
 * as are the SQLite stores' in-process copies of their rows.
 *
 * Not `lru-cache`: with an injected clock it never expires an entry written at time 0
 * and keeps one until its age *exceeds* the TTL (here, and in Redis, it is gone once the
 * TTL is reached); a TTL of 0 there means "forever", and reads refresh recency.
 */
interface Expiring<V> {
  value: V
  expiresAt: number
}

export class ExpiringMap<V> {
  readonly #entries = new Map<string, Expiring<V>>()
  readonly #max: number
  readonly #now: () => number

  constructor (max: number, now: () => number = Date.now) {
    this.#max = max
    this.#now = now
  }

  get (key: string): V | undefined {
    const hit = this.#entries.get(key)
    if (hit === undefined) return undefined
    if (hit.expiresAt <= this.#now()) {
      this.#entries.delete(key)
      return undefined
    }
    return hit.value
  }

  /** Stores `value` for `ttlMs`; a TTL of 0 or less removes the key. */
  set (key: string, value: V, ttlMs: number): void {
    this.setUntil(key, value, this.#now() + ttlMs)
  }

  /** Stores `value` until the epoch ms `expiresAt`; one already past removes the key. */
  setUntil (key: string, value: V, expiresAt: number): void {
    this.#entries.delete(key)
    if (expiresAt <= this.#now()) return
    this.#entries.set(key, { value, expiresAt })
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
  }

  delete (key: string): void {
    this.#entries.delete(key)
  }

  clear (): void {
    this.#entries.clear()
  }

  /** The live entries, oldest-written first (expired ones are dropped on the way). */
  * entries (): Generator<[string, V]> {
    const now = this.#now()
    for (const [key, hit] of [...this.#entries]) {
      if (hit.expiresAt <= now) this.#entries.delete(key)
      else yield [key, hit.value]
    }
  }

  /** Entries held (expired ones not yet noticed included). */
  get size (): number {
    return this.#entries.size
  }
}
