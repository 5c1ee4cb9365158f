/**
 * The daily quota counted once for the whole cluster, in Redis.
 *
 * Each call takes a slot with one Lua script (atomic, so instances racing for the
 * last slot cannot both get it): drop the calls older than the window
 * (`ZREMRANGEBYSCORE`), count the rest (`ZCARD`), and when below the purpose's cap add
 * this call (`ZADD`, a member unique to the call) and push the key's expiry one window
 * out. The reserve works as in {@link MemoryQuota}: ordinary calls may use
 * `limit − reserve`, creates the whole limit. Upstream's own `TOO_MANY_REQUESTS` pause is
 * a key holding its end, expiring then (`PEXPIREAT`).
 *
 * **During a Redis outage** each instance cannot see the others' calls, so it falls
 * back to a conservative share: at most `floor(limit / N)` calls per rolling window,
 * `N` = `CLUSTER_MAX_INSTANCES`, out of which `1/N` of the calls the cluster had
 * already made in the window when Redis was last seen (counted as still in the
 * window for one window length) — so N instances together stay within the limit.
 * The reserve is shared the same way (`ceil(reserve / N)` each).
 *
 * **On rejoin** every call this instance made in the window (before and during the
 * outage) is added again with its original time and member: `ZADD` of an existing
 * member changes nothing, and a Redis that restarted empty learns the calls it lost.
 * A pause learned meanwhile is written too.
 *
 * Time is the instances' clocks (keep them NTP-synced; skew of seconds is irrelevant
 * against a 24 h window).
 */
import { randomUUID } from 'node:crypto'
import { DAY_MS, type QuotaBudget, type QuotaDecision, type QuotaPurpose, type QuotaState } from './index.js'
import type { RedisLink } from '../redis/link.js'
import { defineScript } from '../redis/script.js'

/** KEYS: calls, pause. ARGV: now, window, cap, member. → [granted 0|1, used, retryAt]. */
const acquire = defineScript<[number, number, number]>('trackgateQuotaAcquire', `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {0, used, paused} end
if used < cap then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, used + 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], used - cap, used - cap, 'WITHSCORES')
return {0, used, tonumber(oldest[2]) + window}
`)

/** KEYS: calls, pause. ARGV: now, window. → [used, pausedUntil, oldest call time (0: none)]. */
const read = defineScript<[number, number, number]>('trackgateQuotaState', `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local used = redis.call('ZCARD', KEYS[1])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {used, paused, tonumber(oldest[2] or '0')}
`)

/** KEYS: pause. ARGV: until (epoch ms). Only ever extends the pause. */
const pauseUntil = defineScript<number>('trackgateQuotaPause', `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
return 1
`)

/** Options of {@link RedisQuota}. */
export interface RedisQuotaOptions {
  link: RedisLink
  /** Key of the sorted set of calls (relative to the key prefix). */
  callsKey: string
  /** Key of upstream's pause. */
  pauseKey: string
  limit: number
  reserve: number
  /** `CLUSTER_MAX_INSTANCES`: the outage share is 1/`instances`. */
  instances: number
  windowMs?: number
  now?: () => number
}

interface OwnCall {
  at: number
  member: string
}

/** The outage in progress, as the fallback counts it. */
interface Outage {
  startedAt: number
  /** Calls the whole cluster had made in the window when Redis was last seen. */
  inherited: number
}

/** See the module comment. */
export class RedisQuota implements QuotaBudget {
  readonly #opts: Required<Omit<RedisQuotaOptions, 'link'>>
  readonly #link: RedisLink
  readonly #id = randomUUID()
  #seq = 0
  /** This instance's calls of the window, oldest first (at most `limit`). */
  readonly #own: OwnCall[] = []
  #head = 0
  /** Cluster-wide count of the window at the last answer from Redis. */
  #lastUsed = 0
  #outage: Outage | null = null
  /** Calls or a pause were decided in-process since Redis last had them all. */
  #unsynced = false
  /** Upstream's pause as this instance knows it (kept for outages and rejoins). */
  #pausedUntil = 0

  constructor (opts: RedisQuotaOptions) {
    if (opts.reserve >= opts.limit) throw new RangeError('quota reserve must be below the limit')
    if (!Number.isInteger(opts.instances) || opts.instances < 1) throw new RangeError('instances must be a positive integer')
    this.#link = opts.link
    this.#opts = {
      callsKey: opts.callsKey,
      pauseKey: opts.pauseKey,
      limit: opts.limit,
      reserve: opts.reserve,
      instances: opts.instances,
      windowMs: opts.windowMs ?? DAY_MS,
      now: opts.now ?? Date.now
    }
    this.#link.onRejoin(async () => { await this.#rejoin() })
  }

  /** The most calls one instance makes per window while Redis is unreachable. */
  get outageShare (): number {
    return Math.floor(this.#opts.limit / this.#opts.instances)
  }

  async tryAcquire (purpose: QuotaPurpose): Promise<QuotaDecision> {
    const { limit, reserve, windowMs, callsKey, pauseKey } = this.#opts
    const now = this.#opts.now()
    const member = `${this.#id}:${++this.#seq}`
    return await this.#link.run('quota', async (redis) => {
      if (this.#unsynced) await this.#sync(now)
      const cap = purpose === 'create' ? limit : limit - reserve
      const [granted, used, retryAt] = await acquire(redis, [callsKey, pauseKey], [now, windowMs, cap, member])
      this.#lastUsed = used
      this.#outage = null
      if (granted === 1) {
        this.#record(now, member)
        return { granted: true }
      }
      return { granted: false, retryAt }
    }, () => this.#acquireLocally(purpose, now, member))
  }

  async pause (untilMs: number): Promise<void> {
    this.#pausedUntil = Math.max(this.#pausedUntil, untilMs)
    await this.#link.run('quota', async (redis) => {
      await pauseUntil(redis, [this.#opts.pauseKey], [Math.ceil(untilMs)])
    }, () => { this.#unsynced = true })
  }

  async state (): Promise<QuotaState> {
    const { limit, reserve, windowMs, callsKey, pauseKey } = this.#opts
    const now = this.#opts.now()
    return await this.#link.run('quota', async (redis) => {
      if (this.#unsynced) await this.#sync(now)
      const [used, paused, oldest] = await read(redis, [callsKey, pauseKey], [now, windowMs])
      this.#lastUsed = used
      this.#outage = null
      return {
        limit,
        reserve,
        used,
        remaining: Math.max(0, limit - used),
        remainingGeneral: Math.max(0, limit - reserve - used),
        pausedUntil: paused > now ? paused : 0,
        nextFreeAt: used > 0 ? oldest + windowMs : 0,
        windowMs
      }
    }, () => this.#localState(now))
  }

  // --- the outage share -----------------------------------------------------

  #record (at: number, member: string): void {
    this.#own.push({ at, member })
    this.#prune(at)
  }

  /** Forgets own calls that left the window ending at `now`. */
  #prune (now: number): void {
    const from = now - this.#opts.windowMs
    while (this.#head < this.#own.length && (this.#own[this.#head] as OwnCall).at <= from) this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#own.length) {
      this.#own.splice(0, this.#head)
      this.#head = 0
    }
  }

  /** This instance's calls of the window ending at `now`, oldest first. */
  #ownCalls (now: number): OwnCall[] {
    this.#prune(now)
    return this.#own.slice(this.#head)
  }

  #outageAt (now: number): Outage {
    this.#outage ??= { startedAt: now, inherited: this.#lastUsed }
    return this.#outage
  }

  /** Caps and usage of the outage share at `now`. */
  #share (now: number): { limit: number, reserve: number, used: number, freeAt: number[] } {
    const { instances, reserve, windowMs } = this.#opts
    const outage = this.#outageAt(now)
    const inheritedUntil = outage.startedAt + windowMs
    const inherited = now < inheritedUntil ? Math.ceil(outage.inherited / instances) : 0
    const during = this.#ownCalls(now).filter((c) => c.at >= outage.startedAt)
    // When each counted call leaves the window (the inherited ones all at once).
    const freeAt = during.map((c) => c.at + windowMs)
    for (let i = 0; i < inherited; i++) freeAt.push(inheritedUntil)
    freeAt.sort((a, b) => a - b)
    const limit = this.outageShare
    return { limit, reserve: Math.min(limit, Math.ceil(reserve / instances)), used: during.length + inherited, freeAt }
  }

  #acquireLocally (purpose: QuotaPurpose, now: number, member: string): QuotaDecision {
    this.#unsynced = true
    const share = this.#share(now)
    if (now < this.#pausedUntil) return { granted: false, retryAt: this.#pausedUntil }
    const cap = purpose === 'create' ? share.limit : share.limit - share.reserve
    if (share.used < cap) {
      this.#record(now, member)
      return { granted: true }
    }
    return { granted: false, retryAt: share.freeAt[Math.max(0, share.used - cap)] ?? now + this.#opts.windowMs }
  }

  #localState (now: number): QuotaState {
    const share = this.#share(now)
    return {
      limit: share.limit,
      reserve: share.reserve,
      used: share.used,
      remaining: Math.max(0, share.limit - share.used),
      remainingGeneral: Math.max(0, share.limit - share.reserve - share.used),
      pausedUntil: this.#pausedUntil > now ? this.#pausedUntil : 0,
      nextFreeAt: share.freeAt[0] ?? 0,
      windowMs: this.#opts.windowMs
    }
  }

  /**
   * Adds this instance's calls of the window (idempotent: same members) and the pause it
   * knows to Redis. Runs on rejoin, and again before the next shared decision when a
   * call was still decided in-process meanwhile (between this hook and the link's return).
   */
  async #sync (now: number): Promise<void> {
    const { callsKey, pauseKey, windowMs } = this.#opts
    this.#unsynced = false
    const calls = this.#ownCalls(now)
    const redis = this.#link.client
    try {
      for (let i = 0; i < calls.length; i += 500) {
        const chunk = calls.slice(i, i + 500).flatMap((c) => [c.at, c.member])
        const replies = await redis.multi().zadd(callsKey, ...chunk).pexpire(callsKey, windowMs).exec()
        const failed = replies?.find(([err]) => err !== null)
        if (replies === null || failed !== undefined) throw failed?.[0] ?? new Error('quota re-count was aborted')
      }
      if (this.#pausedUntil > now) await pauseUntil(redis, [pauseKey], [Math.ceil(this.#pausedUntil)])
    } catch (err) {
      this.#unsynced = true
      throw err
    }
  }

  async #rejoin (): Promise<void> {
    const { callsKey, pauseKey, windowMs } = this.#opts
    const now = this.#opts.now()
    await this.#sync(now)
    // The count the next outage starts from must include this one's calls.
    const [used] = await read(this.#link.client, [callsKey, pauseKey], [now, windowMs])
    this.#lastUsed = used
    this.#outage = null
  }
}
