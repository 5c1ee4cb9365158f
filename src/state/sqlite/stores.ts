/**
 * The stores of a single gateway on its state database (`STATE_BACKEND=sqlite`, the
 * default without `REDIS_URL`): the quota ledger and the per-caller allowances,
 * idempotency records, snapshots and not-found marks, known orders, the meta/prices
 * cache and the webhooks (endpoints, outbox, deliveries) are SQLite tables and survive
 * a restart or a `kill -9`; the sweep also deletes finished webhook deliveries older than
 * `WEBHOOK_DELIVERY_RETENTION_MS` and the events left without deliveries. The tracking bus and the poller leases stay in process:
 * with one instance there is no one else to fan out to or to share a poller with, and
 * neither means anything after a restart.
 */
import type { Config } from '../../config.js'
import type { UpstreamResult } from '../../upstream/client.js'
import type { StateStores } from '../index.js'
import { SqliteAllowances } from '../allowances/sqlite.js'
import { MemoryBus } from '../bus/memory.js'
import { upstreamResultCodec } from '../cache/codec.js'
import { SqliteCacheStore } from '../cache/sqlite.js'
import { SqliteIdempotencyStore } from '../idempotency/sqlite.js'
import { MemoryInterestSet } from '../interest/memory.js'
import { MemoryLeaderStore } from '../leader/memory.js'
import { MemoryLeaseStore } from '../leases/memory.js'
import { SqliteOrderRegistry } from '../orders/sqlite.js'
import { SqliteQuota } from '../quota/sqlite.js'
import { apiKeyId } from '../redis/keys.js'
import { SqliteSnapshotStore } from '../snapshots/sqlite.js'
import { SqliteWebhookStore } from '../webhooks/sqlite.js'
import type { StateDatabase } from './database.js'

/** How often expired rows are deleted (reads ignore them in between). */
export const SWEEP_INTERVAL_MS = 10 * 60 * 1000

/** The stores, and the sweep of every table with expiring rows. */
export interface SqliteStores extends StateStores {
  /** Deletes every expired row; returns how many. */
  sweep (): number
}

/** The stores of one gateway on `db`; `now` is the tracking clock's time (snapshots, leases, known orders). */
export function sqliteStores (config: Config, db: StateDatabase, now: () => number = Date.now): SqliteStores {
  const cache = new SqliteCacheStore<UpstreamResult>({ db, codec: upstreamResultCodec })
  const idempotency = new SqliteIdempotencyStore({ db })
  const webhooks = new SqliteWebhookStore({ db })
  const snapshots = new SqliteSnapshotStore({ db, now, outbox: webhooks })
  const orders = new SqliteOrderRegistry({ db, now })
  // Real time (not the tracking clock), like the in-process and Redis quota and allowances.
  const quota = new SqliteQuota({ db, ledger: apiKeyId(config.apiKey ?? ''), limit: config.dailyQuota, reserve: config.quotaReserve, pollShare: config.quotaPollShare })
  const allowances = new SqliteAllowances({ db })
  return {
    quota,
    cache,
    idempotency,
    snapshots,
    bus: new MemoryBus(),
    leases: new MemoryLeaseStore(now),
    leader: new MemoryLeaderStore(),
    interest: new MemoryInterestSet(),
    orders,
    allowances,
    webhooks,
    sweep: () => {
      // Real time, like the delivery worker that records when deliveries finish.
      const swept = webhooks.sweep(Date.now() - config.webhookDeliveryRetentionMs)
      return quota.sweep() + allowances.sweep() + cache.sweep() + idempotency.sweep() + snapshots.sweep() + orders.sweep() + swept.deliveries + swept.events
    }
  }
}
