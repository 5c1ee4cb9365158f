/**
 * Builds every store of the state layer (`src/state/`) from the configuration and
 * decorates `app.state` with them: in-process stores, or, with `REDIS_URL`, the
 * cluster's Redis stores (also decorated as `app.redis`, with their connection,
 * health and metrics). Stores given in the options (tests) take precedence.
 *
 * An unreachable Redis does not stop the start: the instance serves with its
 * fallbacks and joins when Redis answers.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { memoryStores, type StateStores } from '../state/index.js'
import { registerRedisMetrics } from '../state/redis/metrics.js'
import { createRedisCluster } from '../state/redis/cluster.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The shared state, one store per port. */
    state: StateStores
  }
}

export interface StatePluginOptions {
  /** Stores to use instead of those the configuration selects. */
  stores?: Partial<StateStores>
  /** Time of the stores that keep time (snapshots, leases): the tracking clock's. Default `Date.now`. */
  now?: () => number
}

async function state (app: FastifyInstance, opts: StatePluginOptions): Promise<void> {
  const config = app.config
  let stores: StateStores
  if (config.redisUrl === undefined) {
    stores = memoryStores(config, opts.now)
  } else {
    const cluster = createRedisCluster(config, { log: app.log.child({ module: 'redis' }), ...(opts.now === undefined ? {} : { now: opts.now }) })
    app.decorate('redis', cluster)
    // Added before every other plugin's: runs after them, once pollers released their leases.
    app.addHook('onClose', async () => { await cluster.link.close() })
    app.addHook('onReady', async () => {
      if (app.hasDecorator('metrics')) registerRedisMetrics(app.metrics, { health: () => cluster.health(), leasesHeld: () => cluster.leases.heldCount })
    })
    await cluster.link.start()
    stores = cluster
  }
  app.decorate('state', { ...pick(stores), ...opts.stores })
}

/** The ports of `stores` alone (a Redis cluster carries its link too). */
function pick (stores: StateStores): StateStores {
  const { quota, cache, idempotency, snapshots, bus, leases, orders, allowances } = stores
  return { quota, cache, idempotency, snapshots, bus, leases, orders, allowances }
}

export default fp(state, { name: 'state', dependencies: ['config'] })
