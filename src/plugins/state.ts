/**
 * Builds every store of the state layer (`src/state/`) from the configuration and
 * decorates `app.state` with them:
 * - with `REDIS_URL`, the cluster's Redis stores (also decorated as `app.redis`, with
 *   their connection, health and metrics);
 * - otherwise `STATE_BACKEND`: `sqlite` (the default), the stores on the state database
 *   in `DATA_DIR` (opened, created and migrated here, swept of expired rows every
 *   {@link SWEEP_INTERVAL_MS}, closed with the app); `memory`, in-process stores (tests).
 * Stores given in the options (tests) take precedence.
 *
 * An unreachable Redis does not stop the start: the instance serves with its
 * fallbacks and joins when Redis answers. A database that cannot be opened does.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { memoryStores, type StateStores } from '../state/index.js'
import { registerRedisMetrics } from '../state/redis/metrics.js'
import { createRedisCluster } from '../state/redis/cluster.js'
import { openStateDatabase } from '../state/sqlite/database.js'
import { SWEEP_INTERVAL_MS, sqliteStores } from '../state/sqlite/stores.js'

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
  if (config.redisUrl !== undefined) {
    const cluster = createRedisCluster(config, { log: app.log.child({ module: 'redis' }), ...(opts.now === undefined ? {} : { now: opts.now }) })
    app.decorate('redis', cluster)
    // Added before every other plugin's: runs after them, once pollers released their leases.
    app.addHook('onClose', async () => { await cluster.link.close() })
    app.addHook('onReady', async () => {
      if (app.hasDecorator('metrics')) registerRedisMetrics(app.metrics, { health: () => cluster.health(), leasesHeld: () => cluster.leases.heldCount })
    })
    await cluster.link.start()
    stores = cluster
  } else if (config.stateBackend === 'sqlite') {
    const log = app.log.child({ module: 'sqlite' })
    const db = openStateDatabase(config.dataDir)
    log.info({ path: db.path, migrated: db.migrated }, 'state database open')
    const sqlite = sqliteStores(config, db, opts.now)
    const sweeper = setInterval(() => {
      try {
        const deleted = sqlite.sweep()
        if (deleted > 0) log.debug({ deleted }, 'expired rows deleted')
      } catch (err) {
        log.warn({ err }, 'sweep of expired rows failed')
      }
    }, SWEEP_INTERVAL_MS)
    sweeper.unref()
    // Added before every other plugin's: runs after them, once the last snapshot is written.
    app.addHook('onClose', async () => {
      clearInterval(sweeper)
      db.close()
    })
    stores = sqlite
  } else {
    stores = memoryStores(config, opts.now)
  }
  app.decorate('state', { ...pick(stores), ...opts.stores })
}

/** The ports of `stores` alone (a Redis cluster carries its link too, the SQLite stores their sweep). */
function pick (stores: StateStores): StateStores {
  const { quota, cache, idempotency, snapshots, bus, leases, leader, interest, orders, allowances, webhooks } = stores
  return { quota, cache, idempotency, snapshots, bus, leases, leader, interest, orders, allowances, webhooks }
}

export default fp(state, { name: 'state', dependencies: ['config'] })
