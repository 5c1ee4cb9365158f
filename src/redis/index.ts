/**
 * Scaling out: with `REDIS_URL` set, several gateway instances behind a load balancer
 * behave like one. Built here from the configuration and handed to `buildApp`'s
 * stores; without `REDIS_URL` nothing here runs and every store stays in-process.
 *
 * | shared through Redis              | instead of (in-process)    | module                  |
 * |-----------------------------------|----------------------------|-------------------------|
 * | the daily quota                   | `MemoryQuota`              | `quota.ts`              |
 * | one poller per trackcode (lease)  | `MemoryLeaseStore`         | `lease.ts`              |
 * | snapshots, versions, 404 cache    | `MemorySnapshotStore`      | `snapshot-store.ts`     |
 * | fan-out of snapshots (pub/sub)    | `MemoryBus`                | `bus.ts`                |
 * | `Idempotency-Key` records         | `MemoryIdempotencyStore`   | `idempotency-store.ts`  |
 * | `/v1/meta*`, `/v1/prices` cache   | `MemoryCacheStore`         | `cache-store.ts`        |
 *
 * Every store keeps working through a Redis outage on its in-process twin (see
 * `connection.ts`); the state shows in `/readyz` (`checks.redis`) and `/metrics`
 * (`metrics.ts`). `app.redis` gives access to all of it.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { BuildOptions } from '../app.js'
import type { Config } from '../config.js'
import type { UpstreamResult } from '../upstream/client.js'
import { RedisBus } from './bus.js'
import { RedisCacheStore, upstreamResultCodec } from './cache-store.js'
import { RedisLink, type RedisHealth } from './connection.js'
import { RedisIdempotencyStore } from './idempotency-store.js'
import { apiKeyId, redisKeys } from './keys.js'
import { RedisLeaseStore } from './lease.js'
import { registerRedisMetrics } from './metrics.js'
import { RedisQuota } from './quota.js'
import { RedisSnapshotStore } from './snapshot-store.js'

export { RedisLink, describeRedisUrl, type RedisHealth, type RedisState } from './connection.js'

/** Shortest poller lease: renewals every third of it stay cheap even with tiny poll intervals. */
export const MIN_LEASE_TTL_MS = 1000

/** The shared stores of a cluster and their connection. */
export interface RedisCluster {
  link: RedisLink
  quota: RedisQuota
  cache: RedisCacheStore<UpstreamResult>
  idempotency: RedisIdempotencyStore
  snapshots: RedisSnapshotStore
  bus: RedisBus
  leases: RedisLeaseStore
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
      instances: config.clusterMaxInstances
    }),
    cache: new RedisCacheStore({ link, codec: upstreamResultCodec }),
    idempotency: new RedisIdempotencyStore({ link }),
    snapshots,
    bus,
    leases,
    health: () => link.health()
  }
}

/**
 * Connects to `config.redisUrl` and returns `opts` with the Redis stores in place of
 * every store `opts` does not set itself. Decorates `app.redis`, adds the metrics and
 * closes the connections when the app closes. An unreachable Redis does not stop the
 * start: the instance serves with its fallbacks and joins when Redis answers.
 */
export async function withRedis (app: FastifyInstance, config: Config, opts: BuildOptions): Promise<BuildOptions> {
  const clock = opts.tracking?.clock
  const cluster = createRedisCluster(config, {
    log: app.log.child({ module: 'redis' }),
    ...(clock === undefined ? {} : { now: () => clock.now() })
  })
  app.decorate('redis', cluster)
  // Added before every other plugin's: runs after them, once pollers released their leases.
  app.addHook('onClose', async () => { await cluster.link.close() })
  app.addHook('onReady', async () => {
    if (app.hasDecorator('metrics')) registerRedisMetrics(app.metrics, { health: () => cluster.health(), leasesHeld: () => cluster.leases.heldCount })
  })
  await cluster.link.start()
  return {
    ...opts,
    quota: opts.quota ?? cluster.quota,
    cacheStore: opts.cacheStore ?? cluster.cache,
    idempotencyStore: opts.idempotencyStore ?? cluster.idempotency,
    tracking: {
      ...opts.tracking,
      store: opts.tracking?.store ?? cluster.snapshots,
      bus: opts.tracking?.bus ?? cluster.bus,
      lease: opts.tracking?.lease ?? cluster.leases
    }
  }
}
