/**
 * The one way tests start what they need: a simulator (or another upstream), gateway
 * instances in front of it, optionally a real redis-server they share and a proxy that
 * counts what reaches upstream — everything listening on loopback, wired the way
 * production wires trackgate to SecretCryptos, and closed when the test ends.
 */
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp, type BuildOptions as AppOptions } from '../../src/app.js'
import type { Config } from '../../src/config.js'
import { buildSimulator, createManualClock, type ManualClock, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js'
import { derivedClock } from '../../src/tracking/clock.js'
import { startCountingProxy, type CountingProxy } from './counting-proxy.js'
import { CHECK_ROUTE, FAST, SIM_KEY, T0, testConfig } from './fixtures.js'
import { startRedis, type RedisServer } from './redis-server.js'

export interface RunningSimulator extends Simulator {
  url: string
  /** The simulator's `/v1` base URL, what the gateway is configured with. */
  baseUrl: string
}

/** One gateway instance. */
export interface Gateway {
  app: FastifyInstance
  url: string
  config: Config
  /** Log lines at warn and above, parsed (only with `logs: true`). */
  logs: Array<{ level: number, msg: string }>
  closed: boolean
  /** Closes it (once; also done when the test ends). */
  close: () => Promise<void>
}

/** How to start one more gateway instance. */
export interface GatewayOptions {
  /** Laid over the test config (and {@link FAST} with `fast`). */
  config?: Partial<Config>
  /** `buildApp` options: stores, tracking options, logger, embedded simulator. */
  app?: AppOptions
  /** Track on real time, like a separate process would, instead of the manual clock. */
  realTime?: boolean
  /** Keep its warn-and-above log lines in {@link Gateway.logs}. */
  logs?: boolean
}

export interface BuildOptions extends GatewayOptions {
  /** Simulator options (the simulator accepts {@link SIM_KEY} unless `apiKeys` says otherwise). */
  sim?: SimulatorOptions
  /** Another upstream's `/v1` base URL (e.g. a fake upstream): then no simulator is started. */
  upstream?: string
  /**
   * A manual clock ('manual': a new one at {@link T0}) for the simulator; the gateways
   * track on it too (real-time timers, simulated time), unless `realTime`.
   */
  clock?: ManualClock | 'manual'
  /** Added to the clock's time to make the gateways' (a clock slightly off). */
  clockSkew?: () => number
  /** Fast tracking timings ({@link FAST}) and a simulator quota that never runs out. */
  fast?: boolean
  /** A real redis-server (started here, or the one given) every gateway shares. */
  redis?: boolean | RedisServer
  /** Put a {@link CountingProxy} between the gateways and the simulator. */
  countUpstream?: boolean
  /** How many gateway instances to start now (default 1); more with {@link Built.gateway}. */
  instances?: number
}

export interface Built {
  /** The simulator (throws when built with `upstream`). */
  sim: RunningSimulator
  /** The manual clock (throws when there is none). */
  clock: ManualClock
  /** The shared redis-server (throws when built without `redis`). */
  redis: RedisServer
  /** The counting proxy (throws when built without `countUpstream`). */
  proxy: CountingProxy
  /** Every gateway instance started so far, in order. */
  gateways: Gateway[]
  /** The first gateway instance (throws when there is none). */
  gw: Gateway
  /** Shortcuts to the first gateway's app and URL. */
  app: FastifyInstance
  url: string
  /** The upstream `/v1` URL the gateways are configured with. */
  upstreamUrl: string
  /** The config a gateway would get with these `overrides`. */
  configFor: (overrides?: Partial<Config>) => Config
  /** Starts one more gateway instance (closed when the test ends). */
  gateway: (opts?: GatewayOptions) => Promise<Gateway>
  /** Order checks the simulator received. */
  checks: () => number
  /** Calls the simulator received on `route` (`"POST /v1/mixer/orders"`). */
  calls: (route: string) => number
}

function missing (what: string): never {
  throw new Error(`build(): this test was built without ${what}`)
}

/** Starts a simulator; closed when `t` ends. */
async function startSimulator (t: Test, opts: SimulatorOptions): Promise<RunningSimulator> {
  const sim = await buildSimulator({ apiKeys: [SIM_KEY], ...opts })
  t.teardown(async () => { await sim.app.close() })
  const url = await sim.app.listen({ host: '127.0.0.1', port: 0 })
  return Object.assign(sim, { url, baseUrl: `${url}/v1` })
}

/** A logger writing parsed JSON lines into `logs`. */
function logStream (logs: Gateway['logs']): Writable {
  return new Writable({
    write (chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') logs.push(JSON.parse(line) as { level: number, msg: string })
      done()
    }
  })
}

export async function build (t: Test, options: BuildOptions = {}): Promise<Built> {
  const clock = options.clock === 'manual' ? createManualClock(T0) : options.clock
  const redis = options.redis === true ? await startRedis(t) : options.redis === false ? undefined : options.redis
  const sim = options.upstream === undefined
    ? await startSimulator(t, { ...(clock === undefined ? {} : { clock }), ...(options.fast === true ? { dailyQuota: 10_000_000 } : {}), ...options.sim })
    : undefined
  const proxy = options.countUpstream === true ? await startCountingProxy(t, sim?.url ?? missing('a simulator')) : undefined
  const upstreamUrl = proxy?.baseUrl ?? options.upstream ?? sim?.baseUrl ?? missing('an upstream')
  const configFor = (overrides: Partial<Config> = {}): Config => testConfig(upstreamUrl, {
    ...(options.fast === true ? FAST : {}),
    ...(redis === undefined ? {} : { redisUrl: redis.url }),
    ...options.config,
    ...overrides
  })
  const gateways: Gateway[] = []

  const gateway = async (opts: GatewayOptions = {}): Promise<Gateway> => {
    const logs: Gateway['logs'] = []
    const appOptions: AppOptions = { ...options.app, ...opts.app }
    const realTime = opts.realTime ?? options.realTime ?? false
    if (clock !== undefined && !realTime && appOptions.tracking?.clock === undefined) {
      const skew = options.clockSkew
      appOptions.tracking = { ...appOptions.tracking, clock: derivedClock(skew === undefined ? () => clock.now() : () => clock.now() + skew()) }
    }
    if (opts.logs ?? options.logs ?? false) appOptions.logger = { level: 'warn', stream: logStream(logs) }
    const config = configFor({ ...opts.config })
    const app = await buildApp(config, appOptions)
    const instance: Gateway = {
      app,
      url: '',
      config,
      logs,
      closed: false,
      close: async () => {
        if (instance.closed) return
        instance.closed = true
        await app.close()
      }
    }
    t.teardown(instance.close)
    instance.url = await app.listen({ host: '127.0.0.1', port: 0 })
    gateways.push(instance)
    return instance
  }

  for (let i = 0; i < (options.instances ?? 1); i++) await gateway()
  const first = (): Gateway => gateways[0] ?? missing('a gateway')
  const calls = (route: string): number => (sim ?? missing('a simulator')).control.stats().byRoute[route] ?? 0
  return {
    get sim () { return sim ?? missing('a simulator') },
    get clock () { return clock ?? missing('a manual clock') },
    get redis () { return redis ?? missing('redis') },
    get proxy () { return proxy ?? missing('a counting proxy') },
    gateways,
    get gw () { return first() },
    get app () { return first().app },
    get url () { return first().url },
    upstreamUrl,
    configFor,
    gateway,
    checks: () => calls(CHECK_ROUTE),
    calls
  }
}
