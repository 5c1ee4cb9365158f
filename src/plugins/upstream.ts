/**
 * Shares the upstream side with every route: the client (which charges the payer's
 * allowance in `app.state.allowances`, then takes a slot of `app.state.quota`, before
 * every authenticated call), the short-TTL response cache over `app.state.cache`, and
 * whether upstream is reachable (`app.upstreamReachable`).
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { UpstreamClient, type UpstreamObserver, type UpstreamResult } from '../upstream/client.js'
import { CachedLoader } from '../upstream/cached-loader.js'
import { upstreamReachability, type UpstreamCheck } from '../upstream/reachability.js'

declare module 'fastify' {
  interface FastifyInstance {
    upstream: UpstreamClient
    upstreamCache: CachedLoader<UpstreamResult>
    /** Told about every upstream attempt (metrics, idempotency); add to it, never replace it. */
    upstreamObservers: Set<UpstreamObserver>
    /** Whether upstream answers its ping (reused for a few seconds): `/readyz` and `/metrics` share it. */
    upstreamReachable: () => Promise<UpstreamCheck>
  }
}

async function upstream (app: FastifyInstance): Promise<void> {
  const config = app.config
  const observers = new Set<UpstreamObserver>()
  const client = new UpstreamClient({
    baseUrl: config.upstreamUrl,
    apiKey: config.apiKey as string,
    timeoutMs: config.upstreamTimeoutMs,
    connections: config.upstreamConnections,
    quota: app.state.quota,
    allowances: app.state.allowances,
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

  app.decorate('upstream', client)
  app.decorate('upstreamCache', new CachedLoader(app.state.cache))
  app.decorate('upstreamObservers', observers)
  app.decorate('upstreamReachable', upstreamReachability(app))
  app.addHook('onClose', async () => { await client.close() })
}

export default fp(upstream, { name: 'upstream', dependencies: ['config', 'state'] })
