/**
 * Allowances shared by the cluster: a sorted set of call times per caller
 * (`allow:<callerId>`), decided by one Lua script like the quota's (drop what left
 * the window, count, add when below the limit, expire one window after the caller's
 * last call), so instances racing for a caller's last call cannot both get it.
 *
 * During a Redis outage each instance counts on its in-process twin: a caller may then
 * get up to its allowance from every instance (the quota's partitions still hold, with
 * their outage shares). What was counted during the outage is added to Redis on rejoin.
 */
import { randomUUID } from 'node:crypto'
import { DAY_MS } from '../quota/index.js'
import type { RedisLink } from '../redis/link.js'
import { redisKeys } from '../redis/keys.js'
import { defineScript } from '../redis/script.js'
import type { AllowanceDecision, AllowanceStore } from './index.js'
import { MemoryAllowances } from './memory.js'

/** KEYS: the caller's calls. ARGV: now, window, limit, member. → [granted 0|1, retryAt]. */
const take = defineScript<[number, number]>('trackgateAllowanceTake', `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if used < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
if limit <= 0 then return {0, now + window} end
local oldest = redis.call('ZRANGE', KEYS[1], used - limit, used - limit, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window}
`)

/** KEYS: the caller's calls. ARGV: now, window. → calls in the window. */
const count = defineScript<number>('trackgateAllowanceUsed', `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
`)

export interface RedisAllowancesOptions {
  link: RedisLink
  windowMs?: number
  now?: () => number
}

export class RedisAllowances implements AllowanceStore {
  readonly #link: RedisLink
  readonly #windowMs: number
  readonly #now: () => number
  readonly #local: MemoryAllowances
  readonly #id = randomUUID()
  #seq = 0
  /** Calls granted in-process during an outage, to add on rejoin: [caller, time, member]. */
  #pending: Array<[string, number, string]> = []

  constructor (opts: RedisAllowancesOptions) {
    this.#link = opts.link
    this.#windowMs = opts.windowMs ?? DAY_MS
    this.#now = opts.now ?? Date.now
    this.#local = new MemoryAllowances({ windowMs: this.#windowMs, now: this.#now })
    this.#link.onRejoin(async () => { await this.#rejoin() })
  }

  async take (callerId: string, limit: number): Promise<AllowanceDecision> {
    const now = this.#now()
    const member = `${this.#id}:${++this.#seq}`
    return await this.#link.run('allowances', async (redis) => {
      const [granted, retryAt] = await take(redis, [redisKeys.allowance(callerId)], [now, this.#windowMs, limit, member])
      return granted === 1 ? { granted: true } : { granted: false, retryAt }
    }, async () => {
      const decision = await this.#local.take(callerId, limit)
      if (decision.granted) this.#pending.push([callerId, now, member])
      return decision
    })
  }

  async used (callerId: string): Promise<number> {
    return await this.#link.run('allowances', async (redis) => await count(redis, [redisKeys.allowance(callerId)], [this.#now(), this.#windowMs]), async () => await this.#local.used(callerId))
  }

  async #rejoin (): Promise<void> {
    const from = this.#now() - this.#windowMs
    const pending = this.#pending.filter(([, at]) => at > from)
    for (const [callerId, at, member] of pending) {
      const key = redisKeys.allowance(callerId)
      await this.#link.client.multi().zadd(key, at, member).pexpire(key, this.#windowMs).exec()
    }
    this.#pending = []
  }
}
