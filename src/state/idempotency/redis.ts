/**
 * `Idempotency-Key` records shared by the cluster: a retry that lands on another
 * instance replays the first answer (or gets 409 while it is still running) instead of
 * creating a second order.
 *
 * `idem:<sha256 of the key>` is a hash: `state` (`running`|`done`), `fingerprint`, and
 * for `done` the answer (`statusCode`, `contentType`, `body` as raw bytes). `begin` is
 * one Lua script (claim-if-absent with the lock time as expiry, else report what is
 * there); `complete` replaces the record and sets the replay TTL; `abandon` deletes it
 * only while it is `running`.
 *
 * Completed answers are also kept in an in-process twin ({@link MemoryIdempotencyStore}).
 * During a Redis outage the twin answers alone — the protection is then per instance:
 * a retry that reaches another instance during the outage may run again. Answers
 * completed and keys abandoned during the outage are written to Redis on rejoin (an
 * answer never overwrites another one already there).
 */
import { type BeginResult, type IdempotencyStore, type StoredResponse } from './index.js'
import { MemoryIdempotencyStore } from './memory.js'
import type { RedisLink } from '../redis/link.js'
import { redisKeys } from '../redis/keys.js'
import { defineScript } from '../redis/script.js'

/** KEYS: record. ARGV: fingerprint, lock ms. → [state, statusCode?, contentType?, body?]. */
const beginScript = defineScript<Buffer[]>('trackgateIdempotencyBegin', `
local r = redis.call('HMGET', KEYS[1], 'state', 'fingerprint', 'statusCode', 'contentType', 'body')
if r[1] then
  if r[2] ~= ARGV[1] then return {'mismatch'} end
  if r[1] == 'done' then return {'done', r[3], r[4], r[5]} end
  return {'running'}
end
redis.call('HSET', KEYS[1], 'state', 'running', 'fingerprint', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'new'}
`, { buffers: true })

/**
 * KEYS: record. ARGV: fingerprint, statusCode, contentType, body, ttl, onlyUnsettled.
 * With onlyUnsettled = 1, an existing answer, or a running claim of another request,
 * is left alone. → 1 stored.
 */
const completeScript = defineScript<number>('trackgateIdempotencyComplete', `
if ARGV[6] == '1' then
  local r = redis.call('HMGET', KEYS[1], 'state', 'fingerprint')
  if r[1] == 'done' or (r[1] and r[2] ~= ARGV[1]) then return 0 end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'done', 'fingerprint', ARGV[1], 'statusCode', ARGV[2], 'contentType', ARGV[3], 'body', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`)

/** KEYS: record. Deletes a `running` record. */
const abandonScript = defineScript<number>('trackgateIdempotencyAbandon', `
if redis.call('HGET', KEYS[1], 'state') == 'running' then return redis.call('DEL', KEYS[1]) end
return 0
`)

/** Options of {@link RedisIdempotencyStore}. */
export interface RedisIdempotencyStoreOptions {
  link: RedisLink
  /** Bounds of the in-process twin. */
  maxLocalEntries?: number
  maxLocalBytes?: number
  /** Most outage-time changes kept for rejoin. Default 1000. */
  maxPending?: number
  now?: () => number
}

/** An answer completed while Redis was unreachable. */
interface PendingAnswer {
  fingerprint: string
  response: StoredResponse
  expiresAt: number
}

/** The reply of the begin script as a {@link BeginResult}; anything unexpected counts as busy (never lets a duplicate through). */
function beginResult (reply: Buffer[]): BeginResult {
  const [state, statusCode, contentType, body] = reply
  switch (state?.toString()) {
    case 'new': return { state: 'new' }
    case 'mismatch': return { state: 'mismatch' }
    case 'done':
      if (statusCode !== undefined && contentType !== undefined && body !== undefined) {
        return { state: 'done', response: { statusCode: Number(statusCode.toString()), contentType: contentType.toString(), body } }
      }
      return { state: 'running' }
    default: return { state: 'running' }
  }
}

/** Drops the oldest entries of `pending` past `max` (insertion order is age order). */
function dropOldest (pending: Map<string, unknown> | Set<string>, max: number): void {
  for (const key of pending.keys()) {
    if (pending.size <= max) return
    pending.delete(key)
  }
}

/** See the module comment. */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #link: RedisLink
  readonly #local: MemoryIdempotencyStore
  readonly #now: () => number
  readonly #maxPending: number
  readonly #pendingAnswers = new Map<string, PendingAnswer>()
  readonly #pendingAbandons = new Set<string>()

  constructor (opts: RedisIdempotencyStoreOptions) {
    this.#link = opts.link
    this.#now = opts.now ?? Date.now
    this.#maxPending = opts.maxPending ?? 1000
    this.#local = new MemoryIdempotencyStore({
      ...(opts.maxLocalEntries === undefined ? {} : { maxEntries: opts.maxLocalEntries }),
      ...(opts.maxLocalBytes === undefined ? {} : { maxBytes: opts.maxLocalBytes }),
      now: this.#now
    })
    this.#link.onRejoin(async () => { await this.#rejoin() })
  }

  async begin (key: string, fingerprint: string, lockMs: number): Promise<BeginResult> {
    const reply = await this.#link.run('idempotency', async (redis) => {
      return await beginScript(redis, [redisKeys.idempotency(key)], [fingerprint, Math.max(1, Math.round(lockMs))])
    }, async () => null)
    return reply === null ? await this.#local.begin(key, fingerprint, lockMs) : beginResult(reply)
  }

  async complete (key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void> {
    await this.#local.complete(key, fingerprint, response, ttlMs)
    const ttl = Math.max(1, Math.round(ttlMs))
    await this.#link.run('idempotency', async (redis) => {
      await completeScript(redis, [redisKeys.idempotency(key)], [fingerprint, response.statusCode, response.contentType, response.body, ttl, 0])
    }, () => {
      this.#pendingAbandons.delete(key)
      this.#pendingAnswers.delete(key)
      this.#pendingAnswers.set(key, { fingerprint, response: { ...response, body: Buffer.from(response.body) }, expiresAt: this.#now() + ttlMs })
      dropOldest(this.#pendingAnswers, this.#maxPending)
    })
  }

  async abandon (key: string): Promise<void> {
    await this.#local.abandon(key)
    await this.#link.run('idempotency', async (redis) => {
      await abandonScript(redis, [redisKeys.idempotency(key)], [])
    }, () => {
      if (this.#pendingAnswers.has(key)) return
      this.#pendingAbandons.add(key)
      dropOldest(this.#pendingAbandons, this.#maxPending)
    })
  }

  async #rejoin (): Promise<void> {
    const redis = this.#link.client
    const now = this.#now()
    for (const [key, answer] of [...this.#pendingAnswers]) {
      const ttl = answer.expiresAt - now
      if (ttl > 0) {
        const { statusCode, contentType, body } = answer.response
        await completeScript(redis, [redisKeys.idempotency(key)], [answer.fingerprint, statusCode, contentType, body, ttl, 1])
      }
      this.#pendingAnswers.delete(key)
    }
    for (const key of [...this.#pendingAbandons]) {
      await abandonScript(redis, [redisKeys.idempotency(key)], [])
      this.#pendingAbandons.delete(key)
    }
  }
}
