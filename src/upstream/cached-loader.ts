/**
 * A small TTL cache with request coalescing: while a key is being loaded, every
 * other caller of that key waits for the same load instead of starting its own.
 * A thousand browsers asking for prices therefore cost one upstream call per TTL.
 */
import type { CacheStore } from '../state/cache/index.js'

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

  /** The value of `key` when the store holds it in process (see `CacheStore.held`); `undefined`: call {@link get}. */
  held (key: string): V | undefined {
    return this.#store.held(key)
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
