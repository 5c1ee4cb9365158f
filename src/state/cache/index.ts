/** The cache port: where answers that cost quota are kept for their TTL (`/v1/meta*`, `/v1/prices`). */

/** Where cached values live. In-process by default; a shared store can replace it. */
export interface CacheStore<V> {
  get (key: string): Promise<V | undefined>
  /**
   * The value of `key` when this process can tell without waiting: it holds it and
   * nobody else can have replaced it since. `undefined` says nothing: ask {@link get}
   * (nothing held here, or a store that must ask a server first). Cached answers are
   * served from it without a promise.
   */
  held (key: string): V | undefined
  set (key: string, value: V, ttlMs: number): Promise<void>
}
