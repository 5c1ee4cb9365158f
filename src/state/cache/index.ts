/** The cache port: where answers that cost quota are kept for their TTL (`/v1/meta*`, `/v1/prices`). */

/** Where cached values live. In-process by default; a shared store can replace it. */
export interface CacheStore<V> {
  get (key: string): Promise<V | undefined>
  set (key: string, value: V, ttlMs: number): Promise<void>
}
