/**
 * The built-in SecretCryptos simulator, when no API key is configured: started on a
 * loopback port before anything else, so `npm start` works on a fresh machine with
 * nothing configured. Decorates `app.simulator` (`null` with a real key); the config
 * plugin then points the upstream client at it. While it runs, every answer of the
 * gateway carries `Trackgate-Simulated: true` (set on the raw response, so event
 * streams and error envelopes carry it too): nothing served is a real order.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { buildSimulator, type Simulator, type SimulatorOptions } from '../simulator/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The in-process simulator, when no API key is configured. */
    simulator: Simulator | null
  }
}

/** The key the embedded simulator accepts; only ever used on loopback. */
export const EMBEDDED_KEY = 'embedded-simulator-key'

export interface SimulatorPluginOptions {
  config: Config
  /** Options of the embedded simulator, e.g. fast timings in tests. */
  simulator?: Omit<SimulatorOptions, 'apiKeys'>
}

async function simulator (app: FastifyInstance, opts: SimulatorPluginOptions): Promise<void> {
  if (opts.config.apiKey !== undefined) {
    app.decorate('simulator', null)
    return
  }
  const sim = await buildSimulator({ dailyQuota: opts.config.dailyQuota, ...opts.simulator, apiKeys: [EMBEDDED_KEY] })
  await sim.app.listen({ host: '127.0.0.1', port: 0 })
  app.decorate('simulator', sim)
  app.addHook('onRequest', async (_request, reply) => { reply.raw.setHeader('trackgate-simulated', 'true') })
  // Registered first: closes last, after the pollers and the upstream pool.
  app.addHook('onClose', async () => { await sim.app.close() })
}

export default fp(simulator, { name: 'simulator' })
