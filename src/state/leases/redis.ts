/**
 * Poller leases shared by the cluster: of all instances tracking one order, only the
 * holder of `lease:<trackcode>` checks upstream; the others relay what it publishes.
 *
 * - `acquire` is one Lua script: `SET key owner NX PX ttl`, or, when `owner` already
 *   holds it, a renewal (`PEXPIRE`); anyone else's lease is left alone.
 * - `release` deletes the key only if `owner` still holds it (Lua, so a lease that
 *   expired and was taken by another instance meanwhile is never deleted).
 * - Leases are short (`leaseTtlMs`, about one poll interval) and **kept alive** by the
 *   holding process (every third of the TTL, one script renews all of them), for as
 *   long as the poller asked for (`ttlMs` of its last `acquire`). A holder that dies
 *   stops renewing, so another instance takes over within a lease TTL plus one poll
 *   interval, even when the dead poller had planned its next check much later.
 *
 * During a Redis outage `acquire` answers from the in-process store (always granted:
 * each instance polls its own trackcodes, within its share of the quota). When Redis
 * is back, renewals of leases this instance no longer holds fail and are dropped, and
 * each poller's next `acquire` settles who polls.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { LeaseStore } from './index.js'
import { MemoryLeaseStore } from './memory.js'
import type { RedisLink } from '../redis/link.js'
import { redisKeys } from '../redis/keys.js'
import { defineScript } from '../redis/script.js'

/** KEYS: lease. ARGV: owner, ttl. → 1 held by owner, 0 held by someone else. */
const acquireScript = defineScript<number>('trackgateLeaseAcquire', `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

/** KEYS: leases. ARGV: ttl, then one owner per key. → per key, 1 renewed, 0 not held. */
const renewScript = defineScript<number[]>('trackgateLeaseRenew', `
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then
    redis.call('PEXPIRE', key, ARGV[1])
    held[i] = 1
  else
    held[i] = 0
  end
end
return held
`)

/** KEYS: lease. ARGV: owner. */
const releaseScript = defineScript<number>('trackgateLeaseRelease', `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

/** Options of {@link RedisLeaseStore}. */
export interface RedisLeaseStoreOptions {
  link: RedisLink
  /** Life of a lease in Redis without renewal; a dead holder is replaced after about this long. */
  leaseTtlMs: number
  /** Told when a held lease was lost (this process stalled past the TTL, or Redis lost it). */
  log?: FastifyBaseLogger
  /** Real time (renewals run on real timers). Default `Date.now`. */
  now?: () => number
}

interface Held {
  owner: string
  /** Epoch ms until which the poller wants the lease (its last `acquire` + `ttlMs`). */
  wantedUntil: number
}

/** Most leases renewed by one script call. */
const RENEW_BATCH = 500

/** See the module comment. */
export class RedisLeaseStore implements LeaseStore {
  readonly #link: RedisLink
  readonly #ttlMs: number
  readonly #now: () => number
  readonly #fallback: MemoryLeaseStore
  readonly #log: FastifyBaseLogger | undefined
  /** Leases this process holds in Redis and keeps alive. */
  readonly #held = new Map<string, Held>()
  readonly #releasing = new Set<Promise<void>>()
  #timer: NodeJS.Timeout | null = null

  constructor (opts: RedisLeaseStoreOptions) {
    this.#link = opts.link
    this.#ttlMs = Math.max(1, Math.round(opts.leaseTtlMs))
    this.#now = opts.now ?? Date.now
    this.#fallback = new MemoryLeaseStore(this.#now)
    this.#log = opts.log
    this.#link.onClose(async () => { await this.close() })
  }

  async acquire (trackcode: string, owner: string, ttlMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.min(this.#ttlMs, Math.round(ttlMs)))
    return await this.#link.run('lease', async (redis) => {
      const held = await acquireScript(redis, [redisKeys.lease(trackcode)], [owner, ttl]) === 1
      if (held) this.#keepAlive(trackcode, owner, ttlMs)
      else this.#held.delete(trackcode)
      return held
    }, async () => await this.#fallback.acquire(trackcode, owner, ttlMs))
  }

  async release (trackcode: string, owner: string): Promise<void> {
    if (this.#held.get(trackcode)?.owner === owner) this.#held.delete(trackcode)
    if (this.#held.size === 0) this.#stopTimer()
    await this.#fallback.release(trackcode, owner)
    const releasing = this.#link.run('lease', async (redis) => {
      await releaseScript(redis, [redisKeys.lease(trackcode)], [owner])
    }, () => {})
    this.#releasing.add(releasing)
    try {
      await releasing
    } finally {
      this.#releasing.delete(releasing)
    }
  }

  /** True while this process holds (and keeps alive) `trackcode`'s lease in Redis. */
  holds (trackcode: string): boolean {
    return this.#held.has(trackcode)
  }

  /** Leases this process holds in Redis. */
  get heldCount (): number {
    return this.#held.size
  }

  /** Stops renewing; waits for releases in flight (so they reach Redis before the connection closes). */
  async close (): Promise<void> {
    this.#stopTimer()
    await Promise.allSettled([...this.#releasing])
  }

  #keepAlive (trackcode: string, owner: string, ttlMs: number): void {
    this.#held.set(trackcode, { owner, wantedUntil: this.#now() + ttlMs })
    if (this.#timer !== null) return
    this.#timer = setInterval(() => { void this.#renew() }, Math.max(1, Math.floor(this.#ttlMs / 3)))
    this.#timer.unref()
  }

  async #renew (): Promise<void> {
    if (!this.#link.up) return
    const now = this.#now()
    for (const [trackcode, held] of this.#held) {
      // The poller stopped asking (stuck or gone without releasing): let the lease lapse.
      if (held.wantedUntil <= now) this.#held.delete(trackcode)
    }
    if (this.#held.size === 0) {
      this.#stopTimer()
      return
    }
    const entries = [...this.#held]
    for (let i = 0; i < entries.length; i += RENEW_BATCH) {
      const batch = entries.slice(i, i + RENEW_BATCH)
      const renewed = await this.#link.run('lease', async (redis) => await renewScript(redis, batch.map(([code]) => redisKeys.lease(code)), [this.#ttlMs, ...batch.map(([, h]) => h.owner)]), () => null)
      if (renewed === null) return
      batch.forEach(([trackcode, held], k) => {
        // Lost (expired during a stall, or Redis restarted and someone else took it).
        if (renewed[k] !== 1 && this.#held.get(trackcode) === held) {
          this.#held.delete(trackcode)
          this.#log?.warn({ trackcode }, 'poller lease lost before it could be renewed; the next check settles who polls')
        }
      })
    }
  }

  #stopTimer (): void {
    if (this.#timer === null) return
    clearInterval(this.#timer)
    this.#timer = null
  }
}
