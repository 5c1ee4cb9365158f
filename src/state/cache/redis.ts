/**
 * The response cache (`/v1/meta*`, `/v1/prices`) shared by the cluster: one upstream
 * call per TTL for all instances together, not per instance.
 *
 * Values are stored as bytes under `cache:<key>` with the TTL as `PX`, through a codec
 * (`codec.ts`).
 *
 * Every value is also kept in an in-process twin ({@link MemoryCacheStore}), which
 * answers while Redis is unreachable. Coalescing of concurrent loads stays per instance
 * ({@link CachedLoader}): on a cold key each instance may load once.
 */
import { type CacheStore } from './index.js'
import type { CacheCodec } from './codec.js'
import { MemoryCacheStore } from './memory.js'
import type { RedisLink } from '../redis/link.js'
import { redisKeys } from '../redis/keys.js'

/** Options of {@link RedisCacheStore}. */
export interface RedisCacheStoreOptions<V> {
  link: RedisLink
  codec: CacheCodec<V>
  /** Entries of the in-process twin. Default 1000. */
  maxLocalEntries?: number
  now?: () => number
}

/** See the module comment. */
export class RedisCacheStore<V> implements CacheStore<V> {
  readonly #link: RedisLink
  readonly #codec: CacheCodec<V>
  readonly #local: MemoryCacheStore<V>

  constructor (opts: RedisCacheStoreOptions<V>) {
    this.#link = opts.link
    this.#codec = opts.codec
    this.#local = new MemoryCacheStore<V>({ maxEntries: opts.maxLocalEntries ?? 1000, ...(opts.now === undefined ? {} : { now: opts.now }) })
  }

  /** Never held: another instance may have replaced the value; every read asks Redis. */
  held (): V | undefined {
    return undefined
  }

  async get (key: string): Promise<V | undefined> {
    const bytes = await this.#link.run('cache', async (redis) => await redis.getBuffer(redisKeys.cache(key)), async () => undefined)
    if (bytes === undefined) return await this.#local.get(key)
    return bytes === null ? undefined : this.#codec.decode(bytes)
  }

  async set (key: string, value: V, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return
    await this.#local.set(key, value, ttlMs)
    const bytes = this.#codec.encode(value)
    await this.#link.run('cache', async (redis) => { await redis.set(redisKeys.cache(key), bytes, 'PX', Math.round(ttlMs)) }, () => {})
  }
}
