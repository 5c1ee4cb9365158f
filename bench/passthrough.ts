/**
 * Benchmark 3, pass-through overhead: autocannon against the gateway in front of the
 * simulator vs against the simulator directly (the same-run baseline).
 *
 * Processes: the simulator and the gateway each in their own process; autocannon in
 * this one. Three measurements:
 * 1. **Added latency** of an uncached pass-through (`POST /v1/orders/check`, validated,
 *    forwarded with the key, answer relayed byte for byte): one connection, one request
 *    in flight at a time (so no queueing), direct, via a bare forwarder and via the
 *    gateway in turn (`reps` times each, samples pooled); added = gateway − direct, at p50
 *    and p99. The bare forwarder (`bare-forwarder-process.ts`: Fastify and undici and
 *    nothing else) is the floor of that figure on this machine: what one more Node
 *    process and two more loopback hops cost before the gateway does anything.
 * 2. **Throughput** of that route at saturation (`connections` concurrent): requests
 *    per second via the gateway ÷ direct.
 * 3. **Cached routes** (`/v1/prices`, `/v1/meta`, `/v1/meta/mixer`, `/v1/meta/exchange`)
 *    at saturation via the gateway, with the upstream calls they cost during the run;
 *    baseline: the same route on the simulator directly.
 */
import type { BenchBuild } from './lib/build.js'
import { runLoad, type LoadFigures, type LoadSpec } from './lib/load.js'
import { BenchChild } from './lib/proc.js'
import { ratio, round, summarize, type Summary } from './lib/stats.js'
import { Deadline } from './lib/deadline.js'
import { BENCH_KEY, callsOf, gatewayExecArgv, startGatewayProcess, startSimulatorProcess, type BenchSimulator } from './lib/upstream-fixture.js'

/** Options of {@link runPassthrough}. */
export interface PassthroughOptions {
  /** Length of each measured load run, s. */
  durationS: number
  /** Unmeasured load before each target's first run, s. */
  warmupS: number
  /** Concurrent connections of the saturation runs. */
  connections: number
  /** Alternating direct/gateway latency runs, each. */
  reps: number
  /** Hard limit of the whole benchmark, ms. */
  timeLimitMs: number
  build: BenchBuild
  log: (line: string) => void
}

/** Load figures, rounded, with the CPU the servers used. */
export interface RunFigures {
  perSecond: number
  latency: Summary
  responses: number
  non2xx: number
  errors: number
  /** CPU of the proxy measured (the gateway, or the bare forwarder) during the run, % of one core (0 for direct runs). */
  gatewayCpuPercent: number
  /** CPU of the simulator process, % of one core. */
  upstreamCpuPercent: number
  /** CPU of the proxy measured per response, µs (0 for direct runs). */
  proxyCpuUsPerRequest: number
}

/** One cached route. */
export interface CachedRouteFigures {
  route: string
  gateway: RunFigures
  direct: RunFigures
  /** Upstream calls of this route during the gateway run. */
  upstreamCalls: number
  /** Gateway req/s ÷ direct req/s. */
  throughputRatio: number
}

/** The pass-through benchmark's result. */
export interface PassthroughResult {
  name: 'passthrough'
  options: Omit<PassthroughOptions, 'build' | 'log'>
  /** One request in flight at a time. */
  latency: {
    route: string
    direct: RunFigures
    gateway: RunFigures
    addedP50Ms: number
    addedP99Ms: number
    /** Gateway p99 ÷ direct p99. */
    p99Ratio: number
    /** Via the bare forwarder, in turn with the two above: the floor of `added*`. */
    floor: RunFigures
    floorAddedP50Ms: number
    floorAddedP99Ms: number
  }
  /** At saturation. */
  throughput: {
    route: string
    direct: RunFigures
    gateway: RunFigures
    /** Gateway req/s ÷ direct req/s. */
    ratio: number
    /** Upstream calls during the gateway run. */
    upstreamCalls: number
    /** Those ÷ the run's 2xx responses (1: one call per request; requests cut by the end of the run add a few). */
    upstreamCallsPerRequest: number
  }
  cached: CachedRouteFigures[]
  targets: Array<{ target: string, value: string, met: boolean }>
}

const CHECK_ROUTE = 'POST /v1/orders/check'
const CACHED_ROUTES = [
  { path: '/prices?symbols=BTC,ETH', upstream: 'GET /v1/prices' },
  { path: '/meta', upstream: 'GET /v1/meta' },
  { path: '/meta/mixer', upstream: 'GET /v1/meta/mixer' },
  { path: '/meta/exchange', upstream: 'GET /v1/meta/exchange' }
] as const

function figures (load: LoadFigures, gatewayCpuMs: number, upstreamCpuMs: number): RunFigures {
  const r = (v: number): number => round(v, 3)
  const l = load.latency
  return {
    perSecond: round(load.perSecond, 0),
    latency: { count: l.count, min: r(l.min), mean: r(l.mean), p50: r(l.p50), p90: r(l.p90), p99: r(l.p99), max: r(l.max) },
    responses: load.responses,
    non2xx: load.non2xx,
    errors: load.errors + load.timeouts,
    gatewayCpuPercent: round(100 * gatewayCpuMs / load.durationMs, 1),
    upstreamCpuPercent: round(100 * upstreamCpuMs / load.durationMs, 1),
    proxyCpuUsPerRequest: round(1000 * gatewayCpuMs / Math.max(1, load.responses), 0)
  }
}

/** Runs `spec` while reading the CPU the simulator and `proxy` (if any: the process in front of it) used. */
async function measured (spec: LoadSpec, sim: BenchSimulator, proxy: BenchChild | undefined): Promise<{ load: LoadFigures, run: RunFigures }> {
  const g0 = proxy?.cpuMs() ?? 0
  const s0 = sim.child.cpuMs()
  const load = await runLoad(spec)
  const run = figures(load, proxy === undefined ? 0 : proxy.cpuMs() - g0, sim.child.cpuMs() - s0)
  if (load.non2xx > 0 || load.errors > 0) {
    throw new Error(`${spec.method ?? 'GET'} ${spec.url}: ${load.non2xx} non-2xx answers (${JSON.stringify(load.statusCodes)}), ${load.errors} errors — the measurement would not be of the success path`)
  }
  return { load, run }
}

/** Runs the pass-through benchmark; see the module comment. */
export async function runPassthrough (opts: PassthroughOptions): Promise<PassthroughResult> {
  const { log } = opts
  const deadline = new Deadline(opts.timeLimitMs, 'pass-through benchmark')
  const sim = await startSimulatorProcess(opts.build)
  let gateway: BenchChild | undefined
  let forwarder: BenchChild | undefined
  try {
    forwarder = await BenchChild.start({
      name: 'bare-forwarder',
      entry: opts.build.entry('bench/bare-forwarder-process.ts'),
      execArgv: gatewayExecArgv(),
      env: { BENCH_UPSTREAM: sim.baseUrl, BENCH_SIM_KEY: BENCH_KEY }
    })
    const fw = forwarder
    const forwarderUrl = (fw.ready as { url: string }).url
    gateway = await startGatewayProcess(opts.build, sim.baseUrl, {
      UPSTREAM_DAILY_QUOTA: '100000000',
      // The limiter stays on (its per-request cost is part of the overhead) but is never reached.
      RATE_LIMIT_MAX: '10000000'
    })
    const gw = gateway
    const gatewayUrl = `${(gw.ready as { url: string }).url}/v1`
    const trackcode = await sim.createOrder()
    const checkBody = JSON.stringify({ trackcode, outputs: 'summary' })
    const auth = { authorization: `Bearer ${BENCH_KEY}` }
    const checkSpec = (direct: boolean, connections: number, durationS: number, base = direct ? sim.baseUrl : gatewayUrl): LoadSpec => ({
      url: `${base}/orders/check`,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(direct ? auth : {}) },
      body: checkBody,
      connections,
      durationS
    })

    // Warm both paths (JIT, connection pools) without measuring.
    if (opts.warmupS > 0) {
      await runLoad(checkSpec(true, opts.connections, opts.warmupS))
      await runLoad(checkSpec(false, opts.connections, opts.warmupS))
      await runLoad(checkSpec(false, opts.connections, opts.warmupS, forwarderUrl))
    }
    deadline.left()

    log('pass-through: added latency (1 connection, sequential requests)')
    const direct: Array<{ load: LoadFigures, run: RunFigures }> = []
    const viaForwarder: Array<{ load: LoadFigures, run: RunFigures }> = []
    const viaGateway: Array<{ load: LoadFigures, run: RunFigures }> = []
    const repS = opts.durationS / Math.max(1, opts.reps)
    for (let i = 0; i < opts.reps; i++) {
      direct.push(await measured(checkSpec(true, 1, repS), sim, undefined))
      viaForwarder.push(await measured(checkSpec(false, 1, repS, forwarderUrl), sim, fw))
      viaGateway.push(await measured(checkSpec(false, 1, repS), sim, gw))
      deadline.left()
    }
    const pooledDirect = pool(direct)
    const pooledForwarder = pool(viaForwarder)
    const pooledGateway = pool(viaGateway)
    const latency = {
      route: CHECK_ROUTE,
      direct: pooledDirect,
      gateway: pooledGateway,
      addedP50Ms: round(pooledGateway.latency.p50 - pooledDirect.latency.p50, 3),
      addedP99Ms: round(pooledGateway.latency.p99 - pooledDirect.latency.p99, 3),
      p99Ratio: round(ratio(pooledGateway.latency.p99, pooledDirect.latency.p99), 2),
      floor: pooledForwarder,
      floorAddedP50Ms: round(pooledForwarder.latency.p50 - pooledDirect.latency.p50, 3),
      floorAddedP99Ms: round(pooledForwarder.latency.p99 - pooledDirect.latency.p99, 3)
    }
    log(`  direct p50 ${latency.direct.latency.p50} ms p99 ${latency.direct.latency.p99} ms; gateway p50 ${latency.gateway.latency.p50} ms p99 ${latency.gateway.latency.p99} ms; added p99 ${latency.addedP99Ms} ms (bare forwarder: ${latency.floorAddedP99Ms} ms)`)

    log(`pass-through: throughput (${opts.connections} connections)`)
    const satDirect = await measured(checkSpec(true, opts.connections, opts.durationS), sim, undefined)
    await sim.resetStats()
    const satGateway = await measured(checkSpec(false, opts.connections, opts.durationS), sim, gw)
    const gatewayChecks = callsOf(await sim.stats(), CHECK_ROUTE)
    const throughput = {
      route: CHECK_ROUTE,
      direct: satDirect.run,
      gateway: satGateway.run,
      ratio: round(ratio(satGateway.run.perSecond, satDirect.run.perSecond), 3),
      upstreamCalls: gatewayChecks,
      upstreamCallsPerRequest: round(gatewayChecks / Math.max(1, satGateway.load.latency.count), 3)
    }
    log(`  direct ${throughput.direct.perSecond} req/s; gateway ${throughput.gateway.perSecond} req/s (ratio ${throughput.ratio})`)
    deadline.left()

    const cached: CachedRouteFigures[] = []
    for (const route of CACHED_ROUTES) {
      const headers = route.path === '/meta' ? {} : auth
      const spec = (direct: boolean, durationS: number): LoadSpec => ({
        url: `${direct ? sim.baseUrl : gatewayUrl}${route.path}`,
        headers: direct ? headers : {},
        connections: opts.connections,
        durationS
      })
      if (opts.warmupS > 0) await runLoad(spec(false, opts.warmupS))
      const d = await measured(spec(true, opts.durationS), sim, undefined)
      await sim.resetStats()
      const g = await measured(spec(false, opts.durationS), sim, gw)
      const upstreamCalls = callsOf(await sim.stats(), route.upstream)
      cached.push({ route: `GET /v1${route.path}`, gateway: g.run, direct: d.run, upstreamCalls, throughputRatio: round(ratio(g.run.perSecond, d.run.perSecond), 2) })
      log(`  GET /v1${route.path}: gateway ${g.run.perSecond} req/s (${upstreamCalls} upstream calls), direct ${d.run.perSecond} req/s`)
      deadline.left()
    }

    const slowestCached = cached.reduce((m, c) => Math.min(m, c.gateway.perSecond), Number.POSITIVE_INFINITY)
    const maxCachedCalls = cached.reduce((m, c) => Math.max(m, c.upstreamCalls), 0)
    const { build: _b, log: _l, ...options } = opts
    return {
      name: 'passthrough',
      options,
      latency,
      throughput,
      cached,
      targets: [
        { target: '≤ 1 ms added p99 (pass-through)', value: `${latency.addedP99Ms} ms (p50 ${latency.addedP50Ms} ms); a bare forwarder in the same run: ${latency.floorAddedP99Ms} ms (p50 ${latency.floorAddedP50Ms} ms)`, met: latency.addedP99Ms <= 1 },
        { target: 'cached routes ≥ 10k req/s', value: `slowest ${slowestCached} req/s, ≤ ${maxCachedCalls} upstream calls per ${opts.durationS} s run`, met: slowestCached >= 10_000 }
      ]
    }
  } finally {
    await gateway?.stop(5000)
    await forwarder?.stop(5000)
    await sim.child.stop(5000)
  }
}

/** Pools equally long runs: latency from every sample, rates and CPU averaged. */
function pool (runs: Array<{ load: LoadFigures, run: RunFigures }>): RunFigures {
  const avg = (f: (r: RunFigures) => number, digits: number): number => round(runs.reduce((s, r) => s + f(r.run), 0) / runs.length, digits)
  const samples = runs.flatMap((r) => r.load.samples)
  const l = summarize(samples)
  const r3 = (v: number): number => round(v, 3)
  return {
    perSecond: avg((r) => r.perSecond, 0),
    latency: { count: l.count, min: r3(l.min), mean: r3(l.mean), p50: r3(l.p50), p90: r3(l.p90), p99: r3(l.p99), max: r3(l.max) },
    responses: runs.reduce((s, r) => s + r.run.responses, 0),
    non2xx: runs.reduce((s, r) => s + r.run.non2xx, 0),
    errors: runs.reduce((s, r) => s + r.run.errors, 0),
    gatewayCpuPercent: avg((r) => r.gatewayCpuPercent, 1),
    upstreamCpuPercent: avg((r) => r.upstreamCpuPercent, 1),
    proxyCpuUsPerRequest: avg((r) => r.proxyCpuUsPerRequest, 0)
  }
}
