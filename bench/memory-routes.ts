/**
 * Benchmark 4, memory-served routes: the answers the gateway gives without calling
 * upstream, at saturation, against a bare Fastify hello-world route measured in the
 * same run (the framework's own limit on this machine).
 *
 * Processes: the simulator, the gateway (exactly `src/server.ts`'s app, configuration
 * from the environment with the **production log level**, `info`: an access line per
 * answered request) and the baseline (`bench/bare-fastify-process.ts`: Fastify with its
 * default logger — a line per request and per response — and one route), each in its
 * own process; autocannon in this one.
 *
 * Routes: `GET /orders/{trackcode}` (the polling fallback, served from the poller's
 * snapshot once a first call made one), the same with `If-None-Match` of the current
 * version (a bodiless 304), cached `GET /v1/meta`, `GET /v1/meta/mixer` and
 * `GET /v1/prices`, and `GET /healthz`. For each, `reps` pairs of equally long runs —
 * baseline, then gateway — so both see the same machine; rates are averaged and the
 * ratio is gateway ÷ baseline. The upstream calls made during each route's gateway runs
 * are counted (the simulator's counters): 0 means the route was served from memory (for
 * the order routes, a call or two may be the poller's own, on its interval).
 */
import type { BenchBuild } from './lib/build.js'
import { runLoad, type LoadSpec } from './lib/load.js'
import { BenchChild } from './lib/proc.js'
import { ratio, round } from './lib/stats.js'
import { Deadline } from './lib/deadline.js'
import { gatewayExecArgv, startGatewayProcess, startSimulatorProcess } from './lib/upstream-fixture.js'

/** Options of {@link runMemoryRoutes}. */
export interface MemoryRoutesOptions {
  /** Length of each measured run, s. */
  durationS: number
  /** Unmeasured load on each route (and the baseline) before its first run, s. */
  warmupS: number
  /** Concurrent connections (one request in flight each). */
  connections: number
  /** Baseline/gateway run pairs per route. */
  reps: number
  /** Hard limit of the whole benchmark, ms. */
  timeLimitMs: number
  build: BenchBuild
  log: (line: string) => void
}

/** One route's figures. */
export interface MemoryRouteFigures {
  route: string
  /** The status every answer must have. */
  status: number
  gatewayPerSecond: number
  gatewayP99Ms: number
  /** Gateway CPU, % of one core, averaged over its runs. */
  gatewayCpuPercent: number
  baselinePerSecond: number
  baselineP99Ms: number
  baselineCpuPercent: number
  /** Gateway CPU time per answer, µs (moves less with the machine's load than the rates). */
  gatewayCpuUsPerRequest: number
  /** The same for bare Fastify. */
  baselineCpuUsPerRequest: number
  /** Gateway req/s ÷ bare Fastify req/s. */
  ratio: number
  /** Upstream calls during the gateway runs. */
  upstreamCalls: number
}

/** The memory-served routes benchmark's result. */
export interface MemoryRoutesResult {
  name: 'memory-routes'
  options: Omit<MemoryRoutesOptions, 'build' | 'log'>
  routes: MemoryRouteFigures[]
  targets: Array<{ target: string, value: string, met: boolean }>
}

/** The target of issue 13: each route at ≥ 70 % of bare Fastify. */
const TARGET_RATIO = 0.7

/** Runs the benchmark; see the module comment. */
export async function runMemoryRoutes (opts: MemoryRoutesOptions): Promise<MemoryRoutesResult> {
  const { log } = opts
  const deadline = new Deadline(opts.timeLimitMs, 'memory-routes benchmark')
  const sim = await startSimulatorProcess(opts.build)
  let gateway: BenchChild | undefined
  let bare: BenchChild | undefined
  try {
    gateway = await startGatewayProcess(opts.build, sim.baseUrl, {
      // Production's level: every answered request is logged.
      LOG_LEVEL: 'info',
      UPSTREAM_DAILY_QUOTA: '100000000',
      // The limiter runs and costs what it costs, but is never reached.
      RATE_LIMIT_MAX: '10000000'
    })
    bare = await BenchChild.start({ name: 'bare-fastify', entry: opts.build.entry('bench/bare-fastify-process.ts'), execArgv: gatewayExecArgv() })
    const gw = gateway
    const base = bare
    const gatewayUrl = (gw.ready as { url: string }).url
    const bareUrl = (base.ready as { url: string }).url

    // An order, and a first poll: it starts the order's poller, whose snapshot the
    // measured requests are then served from.
    const trackcode = await sim.createOrder()
    const first = await fetch(`${gatewayUrl}/orders/${trackcode}`)
    const etag = first.headers.get('etag')
    await first.arrayBuffer()
    if (first.status !== 200 || etag === null) throw new Error(`GET /orders/{trackcode}: ${first.status}, ETag ${String(etag)}`)

    const routes: Array<{ route: string, path: string, headers?: Record<string, string>, status: number, upstream: string[] }> = [
      { route: 'GET /orders/{trackcode}', path: `/orders/${trackcode}`, status: 200, upstream: ['POST /v1/orders/check'] },
      { route: 'GET /orders/{trackcode} (If-None-Match → 304)', path: `/orders/${trackcode}`, headers: { 'if-none-match': etag }, status: 304, upstream: ['POST /v1/orders/check'] },
      { route: 'GET /v1/meta', path: '/v1/meta', status: 200, upstream: ['GET /v1/meta'] },
      { route: 'GET /v1/meta/mixer', path: '/v1/meta/mixer', status: 200, upstream: ['GET /v1/meta/mixer'] },
      { route: 'GET /v1/prices', path: '/v1/prices?symbols=BTC,ETH', status: 200, upstream: ['GET /v1/prices'] },
      { route: 'GET /healthz', path: '/healthz', status: 200, upstream: [] }
    ]

    const run = async (child: BenchChild, spec: LoadSpec): Promise<{ perSecond: number, p99: number, cpuPercent: number }> => {
      const c0 = child.cpuMs()
      const load = await runLoad(spec)
      const cpuMs = child.cpuMs() - c0
      const bad = load.responses - load.latency.count
      if (bad > 0 || load.errors > 0 || load.timeouts > 0) {
        throw new Error(`${spec.url}: ${bad} answers other than ${spec.okStatus ?? '2xx'} (${JSON.stringify(load.statusCodes)}), ${load.errors} errors, ${load.timeouts} timeouts`)
      }
      return { perSecond: load.perSecond, p99: load.latency.p99, cpuPercent: 100 * cpuMs / load.durationMs }
    }
    const bareSpec = (durationS: number): LoadSpec => ({ url: `${bareUrl}/`, connections: opts.connections, durationS })

    if (opts.warmupS > 0) await runLoad(bareSpec(opts.warmupS))
    const out: MemoryRouteFigures[] = []
    for (const r of routes) {
      const spec = (durationS: number): LoadSpec => ({
        url: `${gatewayUrl}${r.path}`,
        connections: opts.connections,
        durationS,
        ...(r.headers === undefined ? {} : { headers: r.headers }),
        ...(r.status === 200 ? {} : { okStatus: r.status })
      })
      if (opts.warmupS > 0) await runLoad(spec(opts.warmupS))
      await sim.resetStats()
      const g: Array<Awaited<ReturnType<typeof run>>> = []
      const b: Array<Awaited<ReturnType<typeof run>>> = []
      for (let i = 0; i < opts.reps; i++) {
        b.push(await run(base, bareSpec(opts.durationS)))
        g.push(await run(gw, spec(opts.durationS)))
        deadline.left()
      }
      const stats = await sim.stats()
      const upstreamCalls = r.upstream.reduce((s, u) => s + (stats.byRoute[u] ?? 0), 0)
      const avg = (xs: typeof g, f: (x: typeof g[number]) => number, digits: number): number => round(xs.reduce((s, x) => s + f(x), 0) / xs.length, digits)
      const figures: MemoryRouteFigures = {
        route: r.route,
        status: r.status,
        gatewayPerSecond: avg(g, (x) => x.perSecond, 0),
        gatewayP99Ms: avg(g, (x) => x.p99, 3),
        gatewayCpuPercent: avg(g, (x) => x.cpuPercent, 1),
        baselinePerSecond: avg(b, (x) => x.perSecond, 0),
        baselineP99Ms: avg(b, (x) => x.p99, 3),
        baselineCpuPercent: avg(b, (x) => x.cpuPercent, 1),
        gatewayCpuUsPerRequest: 0,
        baselineCpuUsPerRequest: 0,
        ratio: 0,
        upstreamCalls
      }
      figures.ratio = round(ratio(figures.gatewayPerSecond, figures.baselinePerSecond), 3)
      // % of a core ÷ answers per second = µs of CPU per answer × 10⁻⁴.
      figures.gatewayCpuUsPerRequest = round(10_000 * figures.gatewayCpuPercent / Math.max(1, figures.gatewayPerSecond), 1)
      figures.baselineCpuUsPerRequest = round(10_000 * figures.baselineCpuPercent / Math.max(1, figures.baselinePerSecond), 1)
      out.push(figures)
      log(`  ${r.route}: gateway ${figures.gatewayPerSecond} req/s, bare Fastify ${figures.baselinePerSecond} req/s (×${figures.ratio}), ${upstreamCalls} upstream calls`)
    }

    const { build: _b, log: _l, ...options } = opts
    return {
      name: 'memory-routes',
      options,
      routes: out,
      targets: out.map((r) => ({
        target: `${r.route} ≥ ${TARGET_RATIO * 100} % of bare Fastify, from memory`,
        value: `×${r.ratio} (${r.gatewayPerSecond} vs ${r.baselinePerSecond} req/s), ${r.upstreamCalls} upstream calls`,
        met: r.ratio >= TARGET_RATIO
      }))
    }
  } finally {
    await bare?.stop(5000)
    await gateway?.stop(5000)
    await sim.child.stop(5000)
  }
}
