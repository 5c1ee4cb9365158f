/**
 * The daily quota counted once for the whole cluster, in Redis.
 *
 * One sorted set of calls per partition (`<callsKey>:poll`, `:create`, `:rest`: see
 * `index.ts`). Each call takes a slot with one Lua script (atomic, so instances racing
 * for the last slot cannot both get it): drop the partition's calls older than the
 * window (`ZREMRANGEBYSCORE`), count the rest (`ZCARD`), and when below the
 * partition's cap add this call (`ZADD`, a member unique to the call) and push the
 * key's expiry one window out. Upstream's own `TOO_MANY_REQUESTS` pause is a key
 * holding its end, expiring then (`PEXPIREAT`).
 *
 * **During a Redis outage** each instance cannot see the others' calls, so it falls
 * back to a conservative share **per partition**: at most `floor(cap / N)` calls of
 * each partition per rolling window, `N` = `CLUSTER_MAX_INSTANCES`, out of which `1/N`
 * (rounded up) of the calls the cluster had already made in that partition when Redis
 * was last seen (counted as still in the window for one window length) — so N
 * instances together stay within every partition, hence within the limit.
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
import { DAY_MS, DEFAULT_POLL_SHARE, QUOTA_PURPOSES, partitionLimits, partitionsOf, type QuotaBudget, type QuotaDecision, type QuotaPurpose, type QuotaState } from './index.js'
import type { RedisLink } from '../redis/link.js'
import { defineScript } from '../redis/script.js'

/** KEYS: the partition's calls, pause. ARGV: now, window, cap, member. → [granted 0|1, used, retryAt]. */
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
if cap <= 0 then return {0, used, now + window} end
local oldest = redis.call('ZRANGE', KEYS[1], used - cap, used - cap, 'WITHSCORES')
return {0, used, tonumber(oldest[2]) + window}
`)

/**
 * KEYS: poll, create and rest calls, pause. ARGV: now, window.
 * → [poll used, create used, rest used, pausedUntil, oldest call time (0: none)].
 */
const read = defineScript<[number, number, number, number, number]>('trackgateQuotaPartitions', `
local now = tonumber(ARGV[1])
local result = {}
local oldest = 0
for i = 1, 3 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - tonumber(ARGV[2]))
  result[i] = redis.call('ZCARD', KEYS[i])
  local first = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
  local at = tonumber(first[2] or '0')
  if at > 0 and (oldest == 0 or at < oldest) then oldest = at end
end
result[4] = tonumber(redis.call('GET', KEYS[4]) or '0')
result[5] = oldest
return result
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
  /** Prefix of the sorted sets of calls, one per partition: `<callsKey>:<purpose>` (relative to the key prefix). */
  callsKey: string
  /** Key of upstream's pause. */
  pauseKey: string
  limit: number
  /** The `create` partition. */
  reserve: number
  /** Fraction of `limit` that is the `poll` partition. Default {@link DEFAULT_POLL_SHARE}. */
  pollShare?: number
  /** `CLUSTER_MAX_INSTANCES`: the outage share is 1/`instances` of each partition. */
  instances: number
  windowMs?: number
  now?: () => number
}

interface OwnCall {
  at: number
  member: string
  purpose: QuotaPurpose
}

/** The outage in progress, as the fallback counts it. */
interface Outage {
  startedAt: number
  /** Calls the whole cluster had made in each partition when Redis was last seen. */
  inherited: Record<QuotaPurpose, number>
}

/** One partition's outage share at one moment. */
interface Share {
  cap: number
  used: number
  /** When each counted call leaves the window, ascending. */
  freeAt: number[]
}

/** See the module comment. */
export class RedisQuota implements QuotaBudget {
  readonly #opts: Required<Omit<RedisQuotaOptions, 'link' | 'pollShare'>>
  readonly #caps: Record<QuotaPurpose, number>
  readonly #link: RedisLink
  readonly #id = randomUUID()
  #seq = 0
  /** This instance's calls of the window, oldest first. */
  readonly #own: OwnCall[] = []
  #head = 0
  /** Cluster-wide count of each partition at the last answer from Redis. */
  readonly #lastUsed: Record<QuotaPurpose, number> = { poll: 0, create: 0, rest: 0 }
  #outage: Outage | null = null
  /** Calls or a pause were decided in-process since Redis last had them all. */
  #unsynced = false
  /** Upstream's pause as this instance knows it (kept for outages and rejoins). */
  #pausedUntil = 0

  constructor (opts: RedisQuotaOptions) {
    if (opts.reserve >= opts.limit) throw new RangeError('quota reserve must be below the limit')
    if (!Number.isInteger(opts.instances) || opts.instances < 1) throw new RangeError('instances must be a positive integer')
    this.#caps = partitionLimits(opts.limit, opts.reserve, opts.pollShare ?? DEFAULT_POLL_SHARE)
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

  /** The most calls of `purpose` one instance makes per window while Redis is unreachable. */
  outageShare (purpose: QuotaPurpose): number {
    return Math.floor(this.#caps[purpose] / this.#opts.instances)
  }

  #key (purpose: QuotaPurpose): string {
    return `${this.#opts.callsKey}:${purpose}`
  }

  #keys (): string[] {
    return [...QUOTA_PURPOSES.map((p) => this.#key(p)), this.#opts.pauseKey]
  }

  async tryAcquire (purpose: QuotaPurpose): Promise<QuotaDecision> {
    const { windowMs, pauseKey } = this.#opts
    const now = this.#opts.now()
    const member = `${this.#id}:${++this.#seq}`
    return await this.#link.run('quota', async (redis) => {
      if (this.#unsynced) await this.#sync(now)
      const [granted, used, retryAt] = await acquire(redis, [this.#key(purpose), pauseKey], [now, windowMs, this.#caps[purpose], member])
      this.#lastUsed[purpose] = used
      this.#outage = null
      if (granted === 1) {
        this.#record(now, member, purpose)
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
    const { limit, reserve, windowMs } = this.#opts
    const now = this.#opts.now()
    return await this.#link.run('quota', async (redis) => {
      if (this.#unsynced) await this.#sync(now)
      const [poll, create, rest, paused, oldest] = await read(redis, this.#keys(), [now, windowMs])
      const used = { poll, create, rest }
      Object.assign(this.#lastUsed, used)
      this.#outage = null
      const total = poll + create + rest
      return {
        limit,
        reserve,
        used: total,
        remaining: Math.max(0, limit - total),
        remainingGeneral: Math.max(0, this.#caps.rest - rest),
        pausedUntil: paused > now ? paused : 0,
        nextFreeAt: total > 0 ? oldest + windowMs : 0,
        windowMs,
        partitions: partitionsOf(this.#caps, used)
      }
    }, () => this.#localState(now))
  }

  // --- the outage share -----------------------------------------------------

  #record (at: number, member: string, purpose: QuotaPurpose): void {
    this.#own.push({ at, member, purpose })
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
    this.#outage ??= { startedAt: now, inherited: { ...this.#lastUsed } }
    return this.#outage
  }

  /** The outage share of `purpose`'s partition at `now`. */
  #share (purpose: QuotaPurpose, now: number): Share {
    const { instances, windowMs } = this.#opts
    const outage = this.#outageAt(now)
    const inheritedUntil = outage.startedAt + windowMs
    const inherited = now < inheritedUntil ? Math.ceil(outage.inherited[purpose] / instances) : 0
    const during = this.#ownCalls(now).filter((c) => c.purpose === purpose && c.at >= outage.startedAt)
    // When each counted call leaves the window (the inherited ones all at once).
    const freeAt = during.map((c) => c.at + windowMs)
    for (let i = 0; i < inherited; i++) freeAt.push(inheritedUntil)
    freeAt.sort((a, b) => a - b)
    return { cap: this.outageShare(purpose), used: during.length + inherited, freeAt }
  }

  #acquireLocally (purpose: QuotaPurpose, now: number, member: string): QuotaDecision {
    this.#unsynced = true
    const share = this.#share(purpose, now)
    if (now < this.#pausedUntil) return { granted: false, retryAt: this.#pausedUntil }
    if (share.used < share.cap) {
      this.#record(now, member, purpose)
      return { granted: true }
    }
    return { granted: false, retryAt: share.freeAt[Math.max(0, share.used - share.cap)] ?? now + this.#opts.windowMs }
  }

  #localState (now: number): QuotaState {
    const shares = { poll: this.#share('poll', now), create: this.#share('create', now), rest: this.#share('rest', now) }
    const caps = { poll: shares.poll.cap, create: shares.create.cap, rest: shares.rest.cap }
    const used = { poll: shares.poll.used, create: shares.create.used, rest: shares.rest.used }
    const limit = caps.poll + caps.create + caps.rest
    const total = used.poll + used.create + used.rest
    const nextFreeAt = Math.min(...QUOTA_PURPOSES.map((p) => shares[p].freeAt[0] ?? Infinity))
    return {
      limit,
      reserve: caps.create,
      used: total,
      remaining: Math.max(0, limit - total),
      remainingGeneral: Math.max(0, caps.rest - used.rest),
      pausedUntil: this.#pausedUntil > now ? this.#pausedUntil : 0,
      nextFreeAt: nextFreeAt === Infinity ? 0 : nextFreeAt,
      windowMs: this.#opts.windowMs,
      partitions: partitionsOf(caps, used)
    }
  }

  /**
   * Adds this instance's calls of the window (idempotent: same members) and the pause it
   * knows to Redis. Runs on rejoin, and again before the next shared decision when a
   * call was still decided in-process meanwhile (between this hook and the link's return).
   */
  async #sync (now: number): Promise<void> {
    const { pauseKey, windowMs } = this.#opts
    this.#unsynced = false
    const calls = this.#ownCalls(now)
    const redis = this.#link.client
    try {
      for (let i = 0; i < calls.length; i += 500) {
        const multi = redis.multi()
        for (const purpose of QUOTA_PURPOSES) {
          const chunk = calls.slice(i, i + 500).filter((c) => c.purpose === purpose).flatMap((c) => [c.at, c.member])
          if (chunk.length > 0) multi.zadd(this.#key(purpose), ...chunk).pexpire(this.#key(purpose), windowMs)
        }
        const replies = await multi.exec()
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
    const { windowMs } = this.#opts
    const now = this.#opts.now()
    await this.#sync(now)
    // The count the next outage starts from must include this one's calls.
    const [poll, create, rest] = await read(this.#link.client, this.#keys(), [now, windowMs])
    Object.assign(this.#lastUsed, { poll, create, rest })
    this.#outage = null
  }
}
