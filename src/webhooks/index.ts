/**
 * The webhooks plugin: decorates `app.webhooks` (the worker, the allow-list, the
 * resolver the URL checks use) and runs this instance's delivery worker from `onReady`
 * to `onClose`. Registered after `state` and before `tracking`: it wraps
 * `app.state.snapshots` so that a stored change with events kicks the local worker at
 * once (other instances find it on their next round).
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { SnapshotStore } from '../state/snapshots/index.js'
import { AllowList, systemResolver, type Resolver } from './ssrf.js'
import { WebhookWorker } from './worker.js'

export interface WebhooksOptions {
  /** Resolver of the URL checks (tests map names to addresses). Default: the system's. */
  resolve?: Resolver
  /** Spacing of the worker's rounds. Default 1000 ms. */
  intervalMs?: number
  /** Spacing of the worker's retention sweeps (memory and Redis). Default one minute. */
  sweepEveryMs?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    webhooks: { worker: WebhookWorker, allow: AllowList, resolve: Resolver }
  }
}

/** `store` whose `put` calls `kick` after storing a change that has events. */
function kicking (store: SnapshotStore, kick: () => void): SnapshotStore {
  return {
    get: async (trackcode) => await store.get(trackcode),
    held: (trackcode) => store.held(trackcode),
    markNotFound: async (trackcode, ttlMs) => { await store.markNotFound(trackcode, ttlMs) },
    isNotFound: async (trackcode) => await store.isNotFound(trackcode),
    put: async (trackcode, snapshot, ttlMs, expected, events) => {
      const stored = await store.put(trackcode, snapshot, ttlMs, expected, events)
      if (stored && events !== undefined && events.length > 0) kick()
      return stored
    }
  }
}

async function webhooks (app: FastifyInstance, opts: WebhooksOptions): Promise<void> {
  const config = app.config
  const allow = new AllowList(config.webhookAllowHosts)
  const resolve = opts.resolve ?? systemResolver
  const worker = new WebhookWorker({
    store: app.state.webhooks,
    log: app.log.child({ module: 'webhooks' }),
    allow,
    resolve,
    timeoutMs: config.webhookTimeoutMs,
    retryBaseMs: config.webhookRetryBaseMs,
    retryForMs: config.webhookRetryForMs,
    disableAfterMs: config.webhookDisableAfterMs,
    // With SQLite the state database's sweep deletes them (src/state/sqlite/stores.ts).
    ...(config.redisUrl === undefined && config.stateBackend === 'sqlite' ? {} : { retentionMs: config.webhookDeliveryRetentionMs }),
    ...(opts.intervalMs === undefined ? {} : { intervalMs: opts.intervalMs }),
    ...(opts.sweepEveryMs === undefined ? {} : { sweepEveryMs: opts.sweepEveryMs })
  })
  app.state.snapshots = kicking(app.state.snapshots, () => { worker.kick() })
  app.decorate('webhooks', { worker, allow, resolve })
  app.addHook('onReady', async () => { worker.start() })
  app.addHook('onClose', async () => { await worker.stop() })
}

export default fp(webhooks, { name: 'webhooks', dependencies: ['config', 'state'] })
