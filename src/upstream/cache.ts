/**
 * A small TTL cache with request coalescing: while a key is being loaded, every
 * other caller of that key waits for the same load instead of starting its own.
 * A thousand browsers asking for prices therefore cost one upstream call per TTL.
 */

/** Where cached values live. In-process by default; a shared store can replace it. */
export interface CacheStore<V> {
  get (key: string): Promise<V | undefined>
  set (key: string, value: V, ttlMs: number): Promise<void>
}

/** In-process store with lazy expiry and a bound on entries (oldest evicted first). */
export class MemoryCacheStore<V> implements CacheStore<V> {
  readonly #entries = new Map<string, { value: V, expiresAt: number }>()
  readonly #maxEntries: number
  readonly #now: () => number

  constructor (opts: { maxEntries?: number, now?: () => number } = {}) {
    this.#maxEntries = opts.maxEntries ?? 1000
    this.#now = opts.now ?? Date.now
  }

  async get (key: string): Promise<V | undefined> {
    const hit = this.#entries.get(key)
    if (hit === undefined) return undefined
    if (hit.expiresAt <= this.#now()) {
      this.#entries.delete(key)
      return undefined
    }
    return hit.value
  }

  async set (key: string, value: V, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return
    this.#entries.delete(key)
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs })
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
  }
}

/** Runs at most one load per key at a time; concurrent callers share its promise. */
export class Coalescer<V> {
  readonly #inflight = new Map<string, Promise<V>>()

  run (key: string, load: () => Promise<V>): Promise<V> {
    const running = this.#inflight.get(key)
    if (running !== undefined) return running
    const p = load().finally(() => { this.#inflight.delete(key) })
    this.#inflight.set(key, p)
    return p
  }

  get size (): number {
    return this.#inflight.size
  }
}

/** A cache in front of a loader: hit → stored value; miss → one coalesced load, stored if `keep` says so. */
export class CachedLoader<V> {
  readonly #store: CacheStore<V>
  readonly #coalescer = new Coalescer<V>()

  constructor (store: CacheStore<V>) {
    this.#store = store
  }

  async get (key: string, ttlMs: number, load: () => Promise<V>, keep: (v: V) => boolean = () => true): Promise<V> {
    const hit = await this.#store.get(key)
    if (hit !== undefined) return hit
    return await this.#coalescer.run(key, async () => {
      const value = await load()
      if (keep(value)) await this.#store.set(key, value, ttlMs)
      return value
    })
  }
}
