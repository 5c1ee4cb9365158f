/**
 * Shares the upstream side with every route: the client, the quota and the
 * short-TTL response cache. With no API key configured it first starts the built-in
 * simulator on a loopback port and points the client at it, so `npm start` works
 * on a fresh machine with nothing configured.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { UpstreamClient, type UpstreamObserver, type UpstreamResult } from '../upstream/client.js'
import { MemoryQuota, type QuotaBudget } from '../upstream/quota.js'
import { CachedLoader, MemoryCacheStore, type CacheStore } from '../upstream/cache.js'
import { buildSimulator, type Simulator, type SimulatorOptions } from '../simulator/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    upstream: UpstreamClient
    quota: QuotaBudget
    upstreamCache: CachedLoader<UpstreamResult>
    /** The in-process simulator, when no API key is configured. */
    simulator: Simulator | null
    /** Told about every upstream attempt (metrics, idempotency); add to it, never replace it. */
    upstreamObservers: Set<UpstreamObserver>
  }
}

export interface UpstreamPluginOptions {
  config: Config
  quota?: QuotaBudget
  cacheStore?: CacheStore<UpstreamResult>
  /** Options of the embedded simulator (used only when no API key is configured), e.g. fast timings in tests. */
  simulator?: Omit<SimulatorOptions, 'apiKeys'>
}

/** The key the embedded simulator accepts; only ever used on loopback. */
const EMBEDDED_KEY = 'embedded-simulator-key'

async function upstream (app: FastifyInstance, opts: UpstreamPluginOptions): Promise<void> {
  let { config } = opts
  let simulator: Simulator | null = null
  if (config.apiKey === undefined) {
    simulator = await buildSimulator({ dailyQuota: config.dailyQuota, ...opts.simulator, apiKeys: [EMBEDDED_KEY] })
    const address = await simulator.app.listen({ host: '127.0.0.1', port: 0 })
    config = { ...config, upstreamUrl: `${address}/v1`, apiKey: EMBEDDED_KEY }
    app.log.warn({ upstream: config.upstreamUrl }, 'SECRETCRYPTOS_API_KEY is not set: serving the built-in SecretCryptos simulator (no real orders)')
  }

  const quota = opts.quota ?? new MemoryQuota({ limit: config.dailyQuota, reserve: config.quotaReserve })
  const observers = new Set<UpstreamObserver>()
  const client = new UpstreamClient({
    baseUrl: config.upstreamUrl,
    apiKey: config.apiKey as string,
    timeoutMs: config.upstreamTimeoutMs,
    connections: config.upstreamConnections,
    quota,
    observer: (event) => {
      // An observer must never break an upstream call.
      for (const observe of observers) {
        try {
          observe(event)
        } catch (err) {
          app.log.error({ err }, 'upstream observer failed')
        }
      }
    }
  })

  app.decorate('config', config)
  app.decorate('quota', quota)
  app.decorate('upstream', client)
  app.decorate('upstreamCache', new CachedLoader(opts.cacheStore ?? new MemoryCacheStore<UpstreamResult>()))
  app.decorate('simulator', simulator)
  app.decorate('upstreamObservers', observers)

  app.addHook('onClose', async () => {
    await client.close()
    if (simulator !== null) await simulator.app.close()
  })
}

export default fp(upstream, { name: 'upstream' })
