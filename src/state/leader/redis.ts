/**
 * The leader lease shared by a cluster: the hash `leader` (`owner`, `term`) with a
 * short TTL, and the counter `leader:term` the terms are drawn from (it never expires:
 * a term is never given twice).
 *
 * - `campaign` is one Lua script: renew (`PEXPIRE`) when `owner` holds the lease, else
 *   take it when it is free (`INCR` the counter: a new term), else answer 0.
 * - `holds` compares owner and term in one `HMGET`; `resign` deletes the hash only if
 *   `owner` holds it.
 *
 * During a Redis outage every call answers from the in-process store: each instance
 * leads itself and spends within its share of the quota (as the quota's own fallback
 * does); once Redis is back, only the holder of the Redis lease renews it and the
 * others step down at their next campaign.
 */
import type { LeaderLease, LeaderStore } from './index.js'
import { MemoryLeaderStore } from './memory.js'
import type { RedisLink } from '../redis/link.js'
import { redisKeys } from '../redis/keys.js'
import { defineScript } from '../redis/script.js'

/** KEYS: lease, term counter. ARGV: owner, ttl. → the term held, 0 when someone else leads. */
const campaignScript = defineScript<number>('trackgateLeaderCampaign', `
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('HGET', KEYS[1], 'term'))
end
if owner then return 0 end
local term = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'term', term)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return term
`)

/** KEYS: lease. ARGV: owner. */
const resignScript = defineScript<number>('trackgateLeaderResign', `
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

/** See the module comment. */
export class RedisLeaderStore implements LeaderStore {
  readonly #link: RedisLink
  readonly #fallback: MemoryLeaderStore

  constructor (opts: { link: RedisLink, now?: () => number }) {
    this.#link = opts.link
    this.#fallback = new MemoryLeaderStore(opts.now ?? Date.now)
  }

  async campaign (owner: string, ttlMs: number): Promise<number | null> {
    const ttl = Math.max(1, Math.round(ttlMs))
    return await this.#link.run('leader', async (redis) => {
      const term = await campaignScript(redis, [redisKeys.leader, redisKeys.leaderTerm], [owner, ttl])
      return term > 0 ? term : null
    }, async () => await this.#fallback.campaign(owner, ttlMs))
  }

  async holds (owner: string, term: number): Promise<boolean> {
    return await this.#link.run('leader', async (redis) => {
      const [o, t] = await redis.hmget(redisKeys.leader, 'owner', 'term')
      return o === owner && Number(t) === term
    }, async () => await this.#fallback.holds(owner, term))
  }

  async resign (owner: string): Promise<void> {
    await this.#fallback.resign(owner)
    await this.#link.run('leader', async (redis) => { await resignScript(redis, [redisKeys.leader], [owner]) }, () => {})
  }

  async current (): Promise<LeaderLease | null> {
    return await this.#link.run('leader', async (redis) => {
      const [o, t] = await redis.hmget(redisKeys.leader, 'owner', 'term')
      return o == null || t == null ? null : { owner: o, term: Number(t) }
    }, async () => await this.#fallback.current())
  }
}
