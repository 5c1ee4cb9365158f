/**
 * Prometheus metrics of the Redis link, added to the app's registry (`app.metrics`):
 *
 * - `trackgate_redis_up`: 1 while the shared stores use Redis, 0 while they use their
 *   in-process fallbacks;
 * - `trackgate_redis_outages_total`: outages since start;
 * - `trackgate_redis_fallback_operations_total{store}`: operations answered in-process
 *   because Redis was unreachable (`quota`, `lease`, `snapshots`, `bus`, `cache`, `orders`,
 *   `idempotency`);
 * - `trackgate_redis_leases_held`: poller leases this instance holds (and so polls for
 *   the cluster).
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { RedisHealth } from './link.js'

/** What the metrics read at scrape time. */
export interface RedisMetricsSource {
  health (): RedisHealth
  leasesHeld (): number
}

/** Registers the metrics above on `registry`. */
export function registerRedisMetrics (registry: Registry, source: RedisMetricsSource): void {
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'trackgate_redis_up',
    help: '1 while the shared stores use Redis, 0 while this instance serves from in-process fallbacks.',
    registers: [registry],
    collect () { this.set(source.health().state === 'up' ? 1 : 0) }
  })
  // eslint-disable-next-line no-new
  new Counter({
    name: 'trackgate_redis_outages_total',
    help: 'Redis outages seen since start.',
    registers: [registry],
    collect () {
      this.reset()
      this.inc(source.health().outages)
    }
  })
  // eslint-disable-next-line no-new
  new Counter({
    name: 'trackgate_redis_fallback_operations_total',
    help: 'Store operations answered in-process because Redis was unreachable, by store.',
    labelNames: ['store'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const [store, count] of Object.entries(source.health().fallbacks)) this.inc({ store }, count)
    }
  })
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'trackgate_redis_leases_held',
    help: 'Poller leases this instance holds: the trackcodes it checks upstream for the whole cluster.',
    registers: [registry],
    collect () { this.set(source.leasesHeld()) }
  })
}
