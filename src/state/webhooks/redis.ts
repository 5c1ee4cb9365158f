/**
 * The webhook store shared by a cluster. Every step that reads and writes several
 * keys is one Lua script, so instances never see half of it:
 *
 * | key (after the prefix)         | type       | holds                                              |
 * |--------------------------------|------------|----------------------------------------------------|
 * | `wh:endpoints`                 | hash       | endpoint id → endpoint JSON (with its secrets)     |
 * | `wh:events`                    | hash       | event id → event JSON (body included)              |
 * | `wh:outbox`                    | list       | event ids appended by the snapshot put, not yet fanned out |
 * | `wh:seq`                       | string     | the delivery counter (`dlv_<seq>`)                 |
 * | `wh:dlv`                       | hash       | delivery id → delivery JSON                        |
 * | `wh:queue:<endpoint>:<order>`  | list       | pending deliveries of one order to one endpoint, in order |
 * | `wh:due`                       | sorted set | queue heads by next attempt (a claim moves the score to its expiry) |
 * | `wh:paused:<endpoint>`         | set        | heads of a disabled endpoint, put back when it is enabled |
 * | `wh:hist:<endpoint>`           | sorted set | the endpoint's deliveries by sequence (listing, re-enabling) |
 * | `wh:refs`                      | hash       | event id → how many of its deliveries remain        |
 * | `wh:finished`                  | sorted set | finished deliveries by the time they finished (retention) |
 * | `wh:sweeper`                   | string     | the instance holding the cluster's sweep claim (expires) |
 *
 * The events are appended by the snapshot store's put script (`src/state/snapshots/redis.ts`),
 * in the same script as the new version. Scripts that name keys they compute (per
 * endpoint and order) get the link's key prefix as `ARGV[1]`: one Redis server, not
 * Redis Cluster. These keys do not expire: endpoints are the operator's; a finished
 * delivery is deleted by the retention sweep ({@link RedisWebhookStore.sweepFinished},
 * run by the delivery worker), and an event when its last delivery is (one no endpoint
 * wanted, at its fan-out). Built with `sweepClaimMs`, the store sweeps only while it
 * holds `wh:sweeper` (taken or renewed by each sweep, lapsing after `sweepClaimMs`), so
 * one instance of the cluster does the work.
 *
 * During a Redis outage the store answers nothing from memory: registrations fail
 * (503 from the routes), no delivery is claimed, and deliveries resume when it is back.
 */
import { randomUUID } from 'node:crypto'
import { GatewayError } from '../../errors.js'
import type { RedisLink } from '../redis/link.js'
import { defineScript } from '../redis/script.js'
import type { AttemptOutcome, ClaimedDelivery, EndpointPatch, OutboxEvent, RetentionSweep, StoredEndpoint, WebhookDelivery, WebhookStore } from './index.js'

/** Lua helpers every delivery-creating script shares. */
const ADD_DELIVERY = `
local function addDelivery (p, eventId, endpointId, etype, trackcode, now)
  local seq = redis.call('INCR', p .. 'wh:seq')
  local id = 'dlv_' .. seq
  local d = { id = id, eventId = eventId, endpointId = endpointId, type = etype, trackcode = trackcode, seq = seq, state = 'pending', attempts = 0,
    nextAttemptAt = now, lastStatus = cjson.null, lastError = cjson.null, deliveredAt = cjson.null, createdAt = now }
  local encoded = cjson.encode(d)
  redis.call('HSET', p .. 'wh:dlv', id, encoded)
  local q = p .. 'wh:queue:' .. endpointId .. ':' .. trackcode
  redis.call('RPUSH', q, id)
  if redis.call('LLEN', q) == 1 then redis.call('ZADD', p .. 'wh:due', now, id) end
  redis.call('ZADD', p .. 'wh:hist:' .. endpointId, seq, id)
  redis.call('HINCRBY', p .. 'wh:refs', eventId, 1)
  return encoded
end
`

/** Lua helper of the scripts that delete deliveries: the event goes with its last one. → 1 when it went. */
const RELEASE_EVENT = `
local function releaseEvent (p, eventId)
  if redis.call('HEXISTS', p .. 'wh:refs', eventId) == 0 then return 0 end
  if redis.call('HINCRBY', p .. 'wh:refs', eventId, -1) > 0 then return 0 end
  redis.call('HDEL', p .. 'wh:refs', eventId)
  redis.call('HDEL', p .. 'wh:events', eventId)
  return 1
end
`

/** ARGV: prefix, now, max. → events taken. */
const fanOutScript = defineScript<number>('trackgateWebhookFanOut', `${ADD_DELIVERY}
local p, now, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local eps = redis.call('HGETALL', p .. 'wh:endpoints')
local taken = 0
while taken < max do
  local eventId = redis.call('LPOP', p .. 'wh:outbox')
  if not eventId then break end
  taken = taken + 1
  local raw = redis.call('HGET', p .. 'wh:events', eventId)
  if raw then
    local ev = cjson.decode(raw)
    local added = 0
    for j = 1, #eps, 2 do
      local ep = cjson.decode(eps[j + 1])
      if ep.enabled == true then
        for _, t in ipairs(ep.events) do
          if t == ev.type then
            addDelivery(p, eventId, ep.id, ev.type, ev.trackcode, now)
            added = added + 1
            break
          end
        end
      end
    end
    -- Wanted by no endpoint: nothing will ever read it.
    if added == 0 then redis.call('HDEL', p .. 'wh:events', eventId) end
  end
end
return taken
`)

/** ARGV: prefix, now, claimMs, max. → [delivery, event, endpoint] JSON triples. */
const claimScript = defineScript<string[][]>('trackgateWebhookClaim', `
local p, now, claimMs, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local due = p .. 'wh:due'
local ids = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, max * 4)
local out = {}
for _, id in ipairs(ids) do
  if #out >= max then break end
  local raw = redis.call('HGET', p .. 'wh:dlv', id)
  local d = raw and cjson.decode(raw)
  local epRaw = d and redis.call('HGET', p .. 'wh:endpoints', d.endpointId)
  local ev = d and redis.call('HGET', p .. 'wh:events', d.eventId)
  if not raw or not epRaw or not ev or d.state ~= 'pending' then
    redis.call('ZREM', due, id)
  elseif cjson.decode(epRaw).enabled ~= true then
    redis.call('ZREM', due, id)
    redis.call('SADD', p .. 'wh:paused:' .. d.endpointId, id)
  else
    redis.call('ZADD', due, now + claimMs, id)
    table.insert(out, { raw, ev, epRaw })
  end
end
return out
`)

/** ARGV: prefix, delivery id, outcome JSON. → the endpoint JSON after the update, or false. */
const completeScript = defineScript<string | null>('trackgateWebhookComplete', `
local p, id, o = ARGV[1], ARGV[2], cjson.decode(ARGV[3])
local raw = redis.call('HGET', p .. 'wh:dlv', id)
if not raw then return false end
local d = cjson.decode(raw)
local epRaw = redis.call('HGET', p .. 'wh:endpoints', d.endpointId)
if d.state ~= 'pending' then return epRaw end
d.attempts = d.attempts + 1
d.lastStatus = o.status
if o.ok then
  d.state = 'delivered'
  d.deliveredAt = o.at
  d.finishedAt = o.at
  d.nextAttemptAt = cjson.null
  d.lastError = cjson.null
else
  d.lastError = o.error
  d.nextAttemptAt = o.retryAt
  if o.retryAt == cjson.null then
    d.state = 'failed'
    d.finishedAt = o.at
  end
end
redis.call('HSET', p .. 'wh:dlv', id, cjson.encode(d))
local due = p .. 'wh:due'
if d.state == 'pending' then
  redis.call('ZADD', due, d.nextAttemptAt, id)
else
  redis.call('ZREM', due, id)
  redis.call('ZADD', p .. 'wh:finished', d.finishedAt, id)
  local q = p .. 'wh:queue:' .. d.endpointId .. ':' .. d.trackcode
  redis.call('LREM', q, 1, id)
  local nextId = redis.call('LINDEX', q, 0)
  if nextId then
    local nd = cjson.decode(redis.call('HGET', p .. 'wh:dlv', nextId))
    redis.call('ZADD', due, nd.nextAttemptAt, nextId)
  end
end
if not epRaw then return false end
local ep = cjson.decode(epRaw)
if o.ok then
  ep.failures = 0
  ep.failingSince = cjson.null
else
  ep.failures = ep.failures + 1
  if ep.failingSince == cjson.null then ep.failingSince = o.at end
end
local encoded = cjson.encode(ep)
redis.call('HSET', p .. 'wh:endpoints', d.endpointId, encoded)
return encoded
`)

/** ARGV: prefix, id, endpoint JSON after the patch, now, "1" when this enables it. → 1, or 0 when absent. */
const updateScript = defineScript<number>('trackgateWebhookUpdate', `
local p, id, now = ARGV[1], ARGV[2], tonumber(ARGV[4])
if redis.call('HEXISTS', p .. 'wh:endpoints', id) == 0 then return 0 end
redis.call('HSET', p .. 'wh:endpoints', id, ARGV[3])
if ARGV[5] == '1' then
  local due, paused = p .. 'wh:due', p .. 'wh:paused:' .. id
  for _, did in ipairs(redis.call('ZRANGE', p .. 'wh:hist:' .. id, 0, -1)) do
    local raw = redis.call('HGET', p .. 'wh:dlv', did)
    if raw then
      local d = cjson.decode(raw)
      if d.state == 'pending' then
        if d.nextAttemptAt == cjson.null or d.nextAttemptAt > now then d.nextAttemptAt = now end
        redis.call('HSET', p .. 'wh:dlv', did, cjson.encode(d))
        if redis.call('ZSCORE', due, did) or redis.call('SISMEMBER', paused, did) == 1 then redis.call('ZADD', due, now, did) end
      end
    end
  end
  redis.call('DEL', paused)
end
return 1
`)

/** ARGV: prefix, id. → 1 deleted, 0 absent. */
const deleteScript = defineScript<number>('trackgateWebhookDelete', `${RELEASE_EVENT}
local p, id = ARGV[1], ARGV[2]
local hist = p .. 'wh:hist:' .. id
for _, did in ipairs(redis.call('ZRANGE', hist, 0, -1)) do
  local raw = redis.call('HGET', p .. 'wh:dlv', did)
  if raw then
    local d = cjson.decode(raw)
    redis.call('DEL', p .. 'wh:queue:' .. id .. ':' .. d.trackcode)
    releaseEvent(p, d.eventId)
  end
  redis.call('HDEL', p .. 'wh:dlv', did)
  redis.call('ZREM', p .. 'wh:due', did)
  redis.call('ZREM', p .. 'wh:finished', did)
end
redis.call('DEL', hist, p .. 'wh:paused:' .. id)
return redis.call('HDEL', p .. 'wh:endpoints', id)
`)

/** ARGV: prefix, delivery id, now. → the new delivery JSON, or false. */
const replayScript = defineScript<string | null>('trackgateWebhookReplay', `${ADD_DELIVERY}
local p, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local raw = redis.call('HGET', p .. 'wh:dlv', id)
if not raw then return false end
local d = cjson.decode(raw)
if redis.call('HEXISTS', p .. 'wh:endpoints', d.endpointId) == 0 then return false end
return addDelivery(p, d.eventId, d.endpointId, d.type, d.trackcode, now)
`)

/**
 * ARGV: prefix, before, max, claimer, claimMs (0: no claim). → { deliveries, events }
 * deleted; nothing while another instance holds the sweep claim.
 */
const sweepScript = defineScript<[number, number]>('trackgateWebhookSweep', `${RELEASE_EVENT}
local p, max, claimer, claimMs = ARGV[1], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
if claimMs > 0 then
  local holder = redis.call('GET', p .. 'wh:sweeper')
  if holder and holder ~= claimer then return { 0, 0 } end
  redis.call('SET', p .. 'wh:sweeper', claimer, 'PX', claimMs)
end
local finished = p .. 'wh:finished'
local ids = redis.call('ZRANGEBYSCORE', finished, '-inf', '(' .. ARGV[2], 'LIMIT', 0, max)
local events = 0
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', p .. 'wh:dlv', id)
  if raw then
    local d = cjson.decode(raw)
    redis.call('HDEL', p .. 'wh:dlv', id)
    redis.call('ZREM', p .. 'wh:hist:' .. d.endpointId, id)
    events = events + releaseEvent(p, d.eventId)
  end
  redis.call('ZREM', finished, id)
end
return { #ids, events }
`)

const nulls = <T>(v: T | undefined): T | null => v ?? null

/** A delivery as JSON gives it back (Lua's cjson turns integral numbers into ints, nulls into null). */
function deliveryOf (raw: string): WebhookDelivery {
  const d = JSON.parse(raw) as WebhookDelivery
  return {
    id: d.id,
    eventId: d.eventId,
    endpointId: d.endpointId,
    type: d.type,
    trackcode: d.trackcode,
    seq: d.seq,
    state: d.state,
    attempts: d.attempts,
    nextAttemptAt: nulls(d.nextAttemptAt),
    lastStatus: nulls(d.lastStatus),
    lastError: nulls(d.lastError),
    deliveredAt: nulls(d.deliveredAt),
    finishedAt: nulls(d.finishedAt),
    createdAt: d.createdAt
  }
}

function endpointOf (raw: string): StoredEndpoint {
  const e = JSON.parse(raw) as StoredEndpoint
  return {
    id: e.id,
    url: e.url,
    events: e.events,
    enabled: e.enabled,
    disabledReason: nulls(e.disabledReason),
    failures: e.failures,
    failingSince: nulls(e.failingSince),
    secret: e.secret,
    previousSecret: nulls(e.previousSecret),
    previousSecretUntil: nulls(e.previousSecretUntil),
    createdAt: e.createdAt,
    updatedAt: e.updatedAt
  }
}

/** Keys of the outbox, for the snapshot store's put script. */
export const OUTBOX_KEYS = ['wh:events', 'wh:outbox'] as const

/** An event as the `wh:events` hash holds it. */
export function encodeEvent (event: OutboxEvent): string {
  return JSON.stringify(event)
}

/** What every webhook operation answers while Redis is down. */
function webhooksUnreachable (): GatewayError {
  return new GatewayError(503, 'SERVICE_UNAVAILABLE', 'Webhook state is unreachable while Redis is down; try again shortly', { headers: { 'retry-after': '5' } })
}

export interface RedisWebhookStoreOptions {
  link: RedisLink
  /**
   * Sweeps only while holding the cluster's sweep claim, which each sweep takes or
   * renews for this long. Default 0: no claim (every sweep runs).
   */
  sweepClaimMs?: number
}

export class RedisWebhookStore implements WebhookStore {
  readonly #link: RedisLink
  readonly #sweepClaimMs: number
  /** This store's name in the sweep claim. */
  readonly #claimer = randomUUID()

  constructor (opts: RedisWebhookStoreOptions) {
    this.#link = opts.link
    this.#sweepClaimMs = opts.sweepClaimMs ?? 0
  }

  /**
   * Runs `fn` on Redis; during an outage nothing is answered from memory: a 503 (the
   * REST routes answer it; the delivery worker waits for Redis without logging it again —
   * the link logs the outage once).
   */
  async #run<T> (fn: (redis: RedisLink['client'], prefix: string) => Promise<T>): Promise<T> {
    return await this.#link.run('webhooks', async (redis) => await fn(redis, this.#link.keyPrefix), () => { throw webhooksUnreachable() })
  }

  async createEndpoint (endpoint: StoredEndpoint): Promise<void> {
    await this.#run(async (redis) => { await redis.hset('wh:endpoints', endpoint.id, JSON.stringify(endpoint)) })
  }

  async getEndpoint (id: string): Promise<StoredEndpoint | undefined> {
    const raw = await this.#run(async (redis) => await redis.hget('wh:endpoints', id))
    return raw === null ? undefined : endpointOf(raw)
  }

  async listEndpoints (): Promise<StoredEndpoint[]> {
    const all = await this.#run(async (redis) => await redis.hvals('wh:endpoints'))
    return all.map(endpointOf).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
  }

  async updateEndpoint (id: string, patch: EndpointPatch, now: number): Promise<StoredEndpoint | undefined> {
    const current = await this.getEndpoint(id)
    if (current === undefined) return undefined
    const next: StoredEndpoint = { ...current, ...patch, updatedAt: now }
    const enabling = patch.enabled === true && !current.enabled
    if (enabling) Object.assign(next, { disabledReason: null, failures: 0, failingSince: null })
    if (patch.enabled === false && patch.disabledReason === undefined && current.enabled) next.disabledReason = 'disabled through the API'
    const ok = await this.#run(async (redis, p) => await updateScript(redis, [], [p, id, JSON.stringify(next), now, enabling ? '1' : '0']))
    return ok === 1 ? next : undefined
  }

  async deleteEndpoint (id: string): Promise<boolean> {
    return await this.#run(async (redis, p) => await deleteScript(redis, [], [p, id])) === 1
  }

  async fanOut (now: number, max: number): Promise<number> {
    return await this.#run(async (redis, p) => await fanOutScript(redis, [], [p, now, max]))
  }

  async claimDue (now: number, claimMs: number, max: number): Promise<ClaimedDelivery[]> {
    const triples = await this.#run(async (redis, p) => await claimScript(redis, [], [p, now, claimMs, max]))
    return triples.map(([d, e, ep]) => ({ delivery: deliveryOf(d as string), event: JSON.parse(e as string) as OutboxEvent, endpoint: endpointOf(ep as string) }))
  }

  async complete (id: string, outcome: AttemptOutcome): Promise<StoredEndpoint | undefined> {
    const body = outcome.ok ? outcome : { ...outcome, status: outcome.status ?? null }
    const raw = await this.#run(async (redis, p) => await completeScript(redis, [], [p, id, JSON.stringify(body)]))
    return raw === null ? undefined : endpointOf(raw)
  }

  async getDelivery (id: string): Promise<WebhookDelivery | undefined> {
    const raw = await this.#run(async (redis) => await redis.hget('wh:dlv', id))
    return raw === null ? undefined : deliveryOf(raw)
  }

  async listDeliveries (endpointId: string, limit: number): Promise<WebhookDelivery[]> {
    return await this.#run(async (redis) => {
      const ids = await redis.zrevrange(`wh:hist:${endpointId}`, 0, limit - 1)
      if (ids.length === 0) return []
      const raws = await redis.hmget('wh:dlv', ...ids)
      return raws.filter((r): r is string => r !== null).map(deliveryOf)
    })
  }

  async replay (id: string, now: number): Promise<WebhookDelivery | undefined> {
    const raw = await this.#run(async (redis, p) => await replayScript(redis, [], [p, id, now]))
    return raw === null ? undefined : deliveryOf(raw)
  }

  async sweepFinished (before: number, max: number): Promise<RetentionSweep> {
    const [deliveries, events] = await this.#run(async (redis, p) => await sweepScript(redis, [], [p, before, max, this.#claimer, this.#sweepClaimMs]))
    return { deliveries, events }
  }
}
