/**
 * The Redis backends of every port, on one connection: with `REDIS_URL` set, several
 * gateway instances behind a load balancer behave like one (`src/plugins/state.ts`
 * builds this instead of `memoryStores`).
 *
 * Every store keeps working through a Redis outage on its in-process twin (see
 * `link.ts`); the state shows in `/readyz` (`checks.redis`) and `/metrics`
 * (`metrics.ts`). `app.redis` gives access to all of it.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import type { UpstreamResult } from '../../upstream/client.js'
import type { StateStores } from '../index.js'
import { RedisAllowances } from '../allowances/redis.js'
import { RedisBus } from '../bus/redis.js'
import { upstreamResultCodec } from '../cache/codec.js'
import { RedisCacheStore } from '../cache/redis.js'
import { RedisLink, type RedisHealth } from './link.js'
import { RedisIdempotencyStore } from '../idempotency/redis.js'
import { apiKeyId, redisKeys } from './keys.js'
import { RedisInterestSet } from '../interest/redis.js'
import { RedisLeaderStore } from '../leader/redis.js'
import { RedisLeaseStore } from '../leases/redis.js'
import { RedisOrderRegistry } from '../orders/redis.js'
import { RedisQuota } from '../quota/redis.js'
import { RedisSnapshotStore } from '../snapshots/redis.js'
import { RedisWebhookStore } from '../webhooks/redis.js'
import { SWEEP_EVERY_MS } from '../../webhooks/worker.js'

/** Shortest poller lease: renewals every third of it stay cheap even with tiny poll intervals. */
export const MIN_LEASE_TTL_MS = 1000

/** The shared stores of a cluster and their connection. */
export interface RedisCluster extends StateStores {
  link: RedisLink
  quota: RedisQuota
  cache: RedisCacheStore<UpstreamResult>
  idempotency: RedisIdempotencyStore
  snapshots: RedisSnapshotStore
  bus: RedisBus
  leases: RedisLeaseStore
  leader: RedisLeaderStore
  interest: RedisInterestSet
  orders: RedisOrderRegistry
  allowances: RedisAllowances
  webhooks: RedisWebhookStore
  health (): RedisHealth
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The cluster's shared stores; decorated only when `REDIS_URL` is set (check `hasDecorator('redis')`). */
    redis: RedisCluster
  }
}

/** Options of {@link createRedisCluster}. */
export interface RedisClusterOptions {
  log: FastifyBaseLogger
  /** Time of the snapshot store (the tracking clock). Default `Date.now`. */
  now?: () => number
}

/**
 * The shared stores for `config` (which must have `redisUrl`), not yet connected:
 * call `link.start()`, and `link.close()` when done.
 */
export function createRedisCluster (config: Config, opts: RedisClusterOptions): RedisCluster {
  if (config.redisUrl === undefined) throw new Error('REDIS_URL is not set')
  const now = opts.now ?? Date.now
  const link = new RedisLink({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix, log: opts.log })
  const keyId = apiKeyId(config.apiKey ?? '')
  const snapshots = new RedisSnapshotStore({ link, mirrorTtlMs: config.finalCacheMs, now })
  // Real time (not the tracking clock): lease TTLs and renewals run on Redis' and Node's clocks.
  const leases = new RedisLeaseStore({ link, leaseTtlMs: Math.max(MIN_LEASE_TTL_MS, config.pollIntervalMs), log: opts.log })
  const bus = new RedisBus({
    link,
    channel: redisKeys.busChannel(config.redisKeyPrefix),
    log: opts.log,
    onRemoteSnapshot: (message) => {
      snapshots.remember(message).catch((err: unknown) => { opts.log.warn({ err }, 'redis: could not mirror a snapshot') })
    }
  })
  return {
    link,
    quota: new RedisQuota({
      link,
      callsKey: redisKeys.quotaCalls(keyId),
      pauseKey: redisKeys.quotaPause(keyId),
      limit: config.dailyQuota,
      reserve: config.quotaReserve,
      pollShare: config.quotaPollShare,
      instances: config.clusterMaxInstances
    }),
    cache: new RedisCacheStore({ link, codec: upstreamResultCodec }),
    idempotency: new RedisIdempotencyStore({ link }),
    snapshots,
    bus,
    leases,
    // Real time: the leader's TTL runs on Redis' clock, interest expiries on the instances'.
    leader: new RedisLeaderStore({ link }),
    interest: new RedisInterestSet({ link }),
    orders: new RedisOrderRegistry({ link, now }),
    allowances: new RedisAllowances({ link }),
    // One instance sweeps: the claim outlives two of the worker's sweep intervals.
    webhooks: new RedisWebhookStore({ link, sweepClaimMs: 2 * SWEEP_EVERY_MS }),
    health: () => link.health()
  }
}
