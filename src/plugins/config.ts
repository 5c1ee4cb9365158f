/**
 * Decorates `app.config`: the configuration every plugin and route reads. With the
 * embedded simulator running (no API key), its upstream is the simulator.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { EMBEDDED_KEY } from './simulator.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

async function config (app: FastifyInstance, opts: { config: Config }): Promise<void> {
  let config = opts.config
  const simulator = app.simulator
  if (simulator !== null) {
    const address = simulator.app.server.address()
    if (address === null || typeof address === 'string') throw new Error('the embedded simulator is not listening on a port')
    config = { ...config, upstreamUrl: `http://127.0.0.1:${address.port}/v1`, apiKey: EMBEDDED_KEY }
    app.log.warn({ upstream: config.upstreamUrl }, 'SECRETCRYPTOS_API_KEY is not set: serving the built-in SecretCryptos simulator (no real orders)')
  }
  app.decorate('config', config)
}

export default fp(config, { name: 'config', dependencies: ['simulator'] })
