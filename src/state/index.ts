/**
 * The state layer: every kind of state the gateway shares between requests — and,
 * with `REDIS_URL`, between instances — behind one port per kind. Each port is a
 * folder: `index.ts` is the interface, then one file per backend: `memory.ts` in
 * process (tests, `STATE_BACKEND=memory`), `sqlite.ts` on the state database of a
 * single gateway (`STATE_BACKEND=sqlite`, the default: survives restarts; the database
 * itself is `sqlite/`), `redis.ts` shared by a cluster (`REDIS_URL`).
 * `src/plugins/state.ts` picks the backends from the configuration and decorates
 * `app.state` with them.
 *
 * | port          | what it holds                                              | single instance (sqlite) | cluster |
 * |---------------|------------------------------------------------------------|--------------------------|---------|
 * | `quota`       | the upstream calls made in the rolling 24 h window         | SQLite                   | Redis   |
 * | `cache`       | answers of `/v1/meta*` and `/v1/prices`, for their TTL      | SQLite                   | Redis   |
 * | `idempotency` | `Idempotency-Key` records and the answers they replay      | SQLite                   | Redis   |
 * | `snapshots`   | the last snapshot of each tracked order, the 404 cache     | SQLite                   | Redis   |
 * | `bus`         | fan-out of new snapshots to the instances with subscribers | in process               | Redis   |
 * | `leases`      | which instance polls each trackcode                         | in process               | Redis   |
 * | `leader`      | which instance runs the poll allocator (a term per leader) | in process               | Redis   |
 * | `interest`    | trackcodes with subscribers on some instance               | in process               | Redis   |
 * | `orders`      | known orders: created through the gateway or registered    | SQLite                   | Redis   |
 * | `allowances`  | upstream calls each caller caused in the rolling 24 h      | SQLite                   | Redis   |
 * | `webhooks`    | webhook endpoints, the outbox of events, deliveries        | SQLite                   | Redis   |
 *
 * `bus`, `leases`, `leader` and `interest` have no SQLite backend on purpose: on one machine there is no
 * other instance to fan out to or to take a poller from, and neither a message in
 * flight nor a lease means anything once the process is gone (after a restart the
 * pollers start again with their subscribers).
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
import type { InterestSet } from './interest/index.js'
import { MemoryInterestSet } from './interest/memory.js'
import type { LeaderStore } from './leader/index.js'
import { MemoryLeaderStore } from './leader/memory.js'
import type { LeaseStore } from './leases/index.js'
import { MemoryLeaseStore } from './leases/memory.js'
import type { OrderRegistry } from './orders/index.js'
import { MemoryOrderRegistry } from './orders/memory.js'
import type { QuotaBudget } from './quota/index.js'
import { MemoryQuota } from './quota/memory.js'
import type { SnapshotStore } from './snapshots/index.js'
import { MemorySnapshotStore } from './snapshots/memory.js'
import type { WebhookStore } from './webhooks/index.js'
import { MemoryWebhookStore } from './webhooks/memory.js'

/** One store per port. */
export interface StateStores {
  quota: QuotaBudget
  cache: CacheStore<UpstreamResult>
  idempotency: IdempotencyStore
  snapshots: SnapshotStore
  bus: TrackingBus
  leases: LeaseStore
  leader: LeaderStore
  interest: InterestSet
  orders: OrderRegistry
  allowances: AllowanceStore
  webhooks: WebhookStore
}

/** The in-process stores of one gateway (lost on restart: tests); `now` is the tracking clock's time. */
export function memoryStores (config: Config, now: () => number = Date.now): StateStores {
  const webhooks = new MemoryWebhookStore()
  return {
    quota: new MemoryQuota({ limit: config.dailyQuota, reserve: config.quotaReserve, pollShare: config.quotaPollShare }),
    cache: new MemoryCacheStore<UpstreamResult>(),
    idempotency: new MemoryIdempotencyStore(),
    snapshots: new MemorySnapshotStore({ now, outbox: webhooks }),
    bus: new MemoryBus(),
    leases: new MemoryLeaseStore(now),
    leader: new MemoryLeaderStore(),
    interest: new MemoryInterestSet(),
    orders: new MemoryOrderRegistry({ now }),
    allowances: new MemoryAllowances(),
    webhooks
  }
}
