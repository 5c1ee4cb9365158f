/**
 * Test harness: a real simulator and a real gateway, each listening on a loopback
 * port, wired together the way production wires trackgate to SecretCryptos.
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildApp } from '../../src/app.js'
import { defaultConfig, type Config } from '../../src/config.js'
import { buildSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js'

export const SIM_KEY = 'sim-test-key-0123456789abcdef'

export interface RunningSimulator extends Simulator {
  url: string
  /** The simulator's `/v1` base URL, what the gateway is configured with. */
  baseUrl: string
}

export async function startSimulator (opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const sim = await buildSimulator({ apiKeys: [SIM_KEY], ...opts })
  const url = await sim.app.listen({ host: '127.0.0.1', port: 0 })
  return Object.assign(sim, { url, baseUrl: `${url}/v1` })
}

/** A config for tests: the given upstream, the test key, quiet logs, fast timings. */
export function testConfig (upstreamUrl: string, overrides: Partial<Config> = {}): Config {
  return {
    ...defaultConfig(),
    upstreamUrl,
    apiKey: SIM_KEY,
    logLevel: 'silent',
    upstreamTimeoutMs: 2000,
    // Tests send many requests from 127.0.0.1; the rate-limit tests turn limits back on.
    rateLimitMax: 0,
    rateLimitCreateMax: 0,
    ...overrides
  }
}

export interface RunningGateway {
  app: FastifyInstance
  url: string
}

export async function startGateway (config: Config, opts: { logger?: FastifyServerOptions['logger'] } = {}): Promise<RunningGateway> {
  const app = await buildApp(config, opts.logger === undefined ? {} : { logger: opts.logger })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url }
}

/** Simulator + gateway in front of it; `close()` stops both. */
export async function startStack (overrides: Partial<Config> = {}, simOpts: SimulatorOptions = {}): Promise<{ sim: RunningSimulator, gw: RunningGateway, close: () => Promise<void> }> {
  const sim = await startSimulator(simOpts)
  const gw = await startGateway(testConfig(sim.baseUrl, overrides))
  return {
    sim,
    gw,
    close: async () => {
      await gw.app.close()
      await sim.app.close()
    }
  }
}
