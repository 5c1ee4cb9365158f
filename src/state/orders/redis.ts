/**
 * Known orders shared by the cluster: `order:<trackcode>` holds the entry as JSON and
 * expires with it. During a Redis outage each instance remembers in-process (its twin)
 * and answers from it; what it remembered then is written to Redis on rejoin.
 */
import { Type } from 'typebox'
import { Value } from 'typebox/value'
import type { KnownOrder, OrderRegistry } from './index.js'
import { MemoryOrderRegistry } from './memory.js'
import type { RedisLink } from '../redis/link.js'
import { redisKeys } from '../redis/keys.js'

const StoredOrder = Type.Object({
  source: Type.Union([Type.Literal('created'), Type.Literal('registered')]),
  by: Type.String(),
  since: Type.Number()
})

/** A stored entry, or undefined when missing or not one. */
function parse (raw: string | null): KnownOrder | undefined {
  if (raw === null) return undefined
  try {
    const value: unknown = JSON.parse(raw)
    return Value.Check(StoredOrder, value) ? value : undefined
  } catch {
    return undefined
  }
}

export interface RedisOrderRegistryOptions {
  link: RedisLink
  now?: () => number
}

export class RedisOrderRegistry implements OrderRegistry {
  readonly #link: RedisLink
  readonly #local: MemoryOrderRegistry
  readonly #now: () => number
  /** Remembered during an outage, to write on rejoin: trackcode → [entry, expiry]. */
  readonly #pending = new Map<string, [KnownOrder, number]>()

  constructor (opts: RedisOrderRegistryOptions) {
    this.#link = opts.link
    this.#now = opts.now ?? Date.now
    this.#local = new MemoryOrderRegistry({ now: this.#now })
    this.#link.onRejoin(async () => { await this.#rejoin() })
  }

  async remember (trackcode: string, order: KnownOrder, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return
    await this.#local.remember(trackcode, order, ttlMs)
    await this.#link.run('orders', async (redis) => {
      await redis.set(redisKeys.order(trackcode), JSON.stringify(order), 'PX', Math.round(ttlMs))
    }, () => { this.#pending.set(trackcode, [order, this.#now() + ttlMs]) })
  }

  async get (trackcode: string): Promise<KnownOrder | undefined> {
    const raw = await this.#link.run('orders', async (redis) => await redis.get(redisKeys.order(trackcode)), () => undefined)
    if (raw === undefined) return await this.#local.get(trackcode)
    return parse(raw)
  }

  async forget (trackcode: string): Promise<void> {
    this.#pending.delete(trackcode)
    await this.#local.forget(trackcode)
    await this.#link.run('orders', async (redis) => { await redis.del(redisKeys.order(trackcode)) }, () => {})
  }

  /** Scans `order:*` (the scan pattern carries the key prefix, the keys read do not). */
  async list (): Promise<Array<[string, KnownOrder]>> {
    const found = await this.#link.run('orders', async (redis) => {
      const prefix = this.#link.keyPrefix
      const stem = redisKeys.order('')
      const out: Array<[string, KnownOrder]> = []
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}${stem}*`, 'COUNT', 500)
        cursor = next
        const codes = keys.map((k) => k.slice(prefix.length + stem.length))
        if (codes.length === 0) continue
        const values = await redis.mget(codes.map((c) => redisKeys.order(c)))
        codes.forEach((code, i) => {
          const order = parse(values[i] ?? null)
          if (order !== undefined) out.push([code, order])
        })
      } while (cursor !== '0')
      return out
    }, () => undefined)
    return found ?? await this.#local.list()
  }

  async #rejoin (): Promise<void> {
    const now = this.#now()
    for (const [trackcode, [order, expiresAt]] of [...this.#pending]) {
      const ttlMs = expiresAt - now
      if (ttlMs > 0) await this.#link.client.set(redisKeys.order(trackcode), JSON.stringify(order), 'PX', Math.round(ttlMs))
      this.#pending.delete(trackcode)
    }
  }
}
