/**
 * The response cache (`/v1/meta*`, `/v1/prices`) shared by the cluster: one upstream
 * call per TTL for all instances together, not per instance.
 *
 * Values are stored as bytes under `cache:<key>` with the TTL as `PX`. The codec of
 * upstream answers keeps `raw` byte for byte (the pass-through forwards it unchanged):
 * a one-line JSON header (`statusCode`, `retryAfter`), a line feed, then the raw body;
 * `body` is parsed again from `raw` on the way out, exactly as the client parsed it.
 *
 * Every value is also kept in an in-process twin ({@link MemoryCacheStore}), which
 * answers while Redis is unreachable. Coalescing of concurrent loads stays per instance
 * ({@link CachedLoader}): on a cold key each instance may load once.
 */
import { type CacheStore } from './index.js'
import { MemoryCacheStore } from './memory.js'
import type { UpstreamResult } from '../../upstream/client.js'
import type { RedisLink } from '../redis/link.js'
import { redisKeys } from '../redis/keys.js'

/** Turns values into bytes and back; `decode` answers `undefined` for bytes it cannot read. */
export interface CacheCodec<V> {
  encode (value: V): Buffer
  decode (bytes: Buffer): V | undefined
}

const LF = 0x0a

/** The codec of {@link UpstreamResult}s; see the module comment. */
export const upstreamResultCodec: CacheCodec<UpstreamResult> = {
  encode (value) {
    const head = JSON.stringify({ statusCode: value.statusCode, ...(value.retryAfter === undefined ? {} : { retryAfter: value.retryAfter }) })
    return Buffer.concat([Buffer.from(head, 'utf8'), Buffer.from([LF]), value.raw])
  },
  decode (bytes) {
    const at = bytes.indexOf(LF)
    if (at === -1) return undefined
    try {
      const head = JSON.parse(bytes.subarray(0, at).toString('utf8')) as { statusCode?: unknown, retryAfter?: unknown }
      const raw = Buffer.from(bytes.subarray(at + 1))
      const body: unknown = JSON.parse(raw.toString('utf8'))
      if (typeof head.statusCode !== 'number' || typeof body !== 'object' || body === null || Array.isArray(body)) return undefined
      return { statusCode: head.statusCode, raw, body: body as Record<string, unknown>, ...(typeof head.retryAfter === 'string' ? { retryAfter: head.retryAfter } : {}) }
    } catch {
      return undefined
    }
  }
}

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
