/**
 * The state layer: every kind of state the gateway shares between requests — and,
 * with `REDIS_URL`, between instances — behind one port per kind. Each port is a
 * folder: `index.ts` is the interface, `memory.ts` the in-process backend (one
 * gateway, tests), `redis.ts` the cluster backend. `src/plugins/state.ts` picks the
 * backends from the configuration and decorates `app.state` with them.
 *
 * | port          | what it holds                                              |
 * |---------------|------------------------------------------------------------|
 * | `quota`       | the upstream calls made in the rolling 24 h window         |
 * | `cache`       | answers of `/v1/meta*` and `/v1/prices`, for their TTL      |
 * | `idempotency` | `Idempotency-Key` records and the answers they replay      |
 * | `snapshots`   | the last snapshot of each tracked order, the 404 cache     |
 * | `bus`         | fan-out of new snapshots to the instances with subscribers |
 * | `leases`      | which instance polls each trackcode                         |
 * | `orders`      | known orders: created through the gateway or registered    |
 * | `allowances`  | upstream calls each caller caused in the rolling 24 h      |
 */
import type { Config } from '../config.js'
import type { UpstreamResult } from '../upstream/client.js'
import type { AllowanceStore } from './allowances/index.js'
import { MemoryAllowances } from './allowances/memory.js'
import type { TrackingBus } from './bus/index.js'
import { MemoryBus } from './bus/memory.js'
import type { CacheStore } from './cache/index.js'
import { MemoryCacheStore } from './cache/memory.js'
import type { IdempotencyStore } from './idempotency/index.js'
import { MemoryIdempotencyStore } from './idempotency/memory.js'
import type { LeaseStore } from './leases/index.js'
import { MemoryLeaseStore } from './leases/memory.js'
import type { OrderRegistry } from './orders/index.js'
import { MemoryOrderRegistry } from './orders/memory.js'
import type { QuotaBudget } from './quota/index.js'
import { MemoryQuota } from './quota/memory.js'
import type { SnapshotStore } from './snapshots/index.js'
import { MemorySnapshotStore } from './snapshots/memory.js'

/** One store per port. */
export interface StateStores {
  quota: QuotaBudget
  cache: CacheStore<UpstreamResult>
  idempotency: IdempotencyStore
  snapshots: SnapshotStore
  bus: TrackingBus
  leases: LeaseStore
  orders: OrderRegistry
  allowances: AllowanceStore
}

/** The in-process stores of one gateway; `now` is the tracking clock's time. */
export function memoryStores (config: Config, now: () => number = Date.now): StateStores {
  return {
    quota: new MemoryQuota({ limit: config.dailyQuota, reserve: config.quotaReserve, pollShare: config.quotaPollShare }),
    cache: new MemoryCacheStore<UpstreamResult>(),
    idempotency: new MemoryIdempotencyStore(),
    snapshots: new MemorySnapshotStore({ now }),
    bus: new MemoryBus(),
    leases: new MemoryLeaseStore(now),
    orders: new MemoryOrderRegistry({ now }),
    allowances: new MemoryAllowances()
  }
}
