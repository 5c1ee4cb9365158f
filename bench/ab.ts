/**
 * A/B of the memory-served routes between two checkouts of this repository (say a
 * `git worktree` of `main` and the branch under work): the simulator, bare Fastify and
 * one gateway built from each checkout, all started at once; then, per route and
 * repetition, one run each in turn — bare, A, B — so the three see the same machine.
 * Prints the gateways' CPU per request (µs, from `/proc`) of every run and the median.
 *
 * Why it exists: the machine's speed and a process's luck move single runs of
 * `bench/memory-routes.ts` by several µs per request (BENCHMARKS.md §4), more than most
 * single changes save. Read B against A in the same run, and each route against
 * `/healthz` (whose code rarely changes). One of the two gateway processes can stay 3–6 µs
 * per request slower than the other on every route for its whole life: run it twice,
 * A and B swapped, before believing a difference. A diagnostic: no target, no result file.
 *
 *   node --import @tapjs/typescript/import bench/ab.ts --a ../trackgate-main [--b .]
 *        [--routes order,304,meta,mixer,prices,healthz] [--reps 3] [--seconds 3]
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { BenchBuild } from './lib/build.js'
import { runLoad, type LoadSpec } from './lib/load.js'
import { BenchChild } from './lib/proc.js'
import { table } from './lib/report.js'
import { gatewayExecArgv, startGatewayProcess, startSimulatorProcess } from './lib/upstream-fixture.js'

/** The routes it can measure (the memory-served routes of `bench/memory-routes.ts`). */
const ROUTES = ['order', '304', 'meta', 'mixer', 'prices', 'healthz'] as const
type RouteName = typeof ROUTES[number]

/** Options of {@link runAb}. */
export interface AbOptions {
  /** Checkouts of the repository (directories holding `bench/lib/build.ts`): A, then B. */
  a: string
  b: string
  routes: readonly RouteName[]
  /** Runs per route and side. */
  reps: number
  /** Length of each run, s (after a 1 s warm-up per route and side). */
  seconds: number
}

/** One route's CPU per request, µs, per run. */
export interface AbRoute {
  route: RouteName
  bare: number[]
  a: number[]
  b: number[]
}

/** The gateways' settings: `bench/memory-routes.ts`'s (production log level; quota and limits never reached). */
const GATEWAY_ENV = { LOG_LEVEL: 'info', UPSTREAM_DAILY_QUOTA: '100000000', RATE_LIMIT_MAX: '10000000' }

/** The transpiled copy of a checkout, built by that checkout's own `bench/lib/build.ts`. */
async function buildOf (dir: string): Promise<BenchBuild> {
  const module = await import(pathToFileURL(resolve(dir, 'bench/lib/build.ts')).href) as { buildForChildren: () => BenchBuild }
  return module.buildForChildren()
}

/** Runs the A/B; see the module comment. */
export async function runAb (opts: AbOptions): Promise<AbRoute[]> {
  const builds: BenchBuild[] = []
  const children: BenchChild[] = []
  try {
    builds.push(await buildOf(opts.a), await buildOf(opts.b))
    const [buildA, buildB] = builds as [BenchBuild, BenchBuild]
    const sim = await startSimulatorProcess(buildA)
    children.push(sim.child)
    const gateways = [await startGatewayProcess(buildA, sim.baseUrl, GATEWAY_ENV), await startGatewayProcess(buildB, sim.baseUrl, GATEWAY_ENV)]
    children.push(...gateways)
    const bare = await BenchChild.start({ name: 'bare-fastify', entry: buildA.entry('bench/bare-fastify-process.ts'), execArgv: gatewayExecArgv() })
    children.push(bare)

    // One order, polled once through each gateway: its poller's snapshot serves the runs.
    const trackcode = await sim.createOrder()
    const urls = gateways.map((g) => (g.ready as { url: string }).url)
    const etags: string[] = []
    for (const url of urls) {
      const first = await fetch(`${url}/orders/${trackcode}`)
      await first.arrayBuffer()
      const etag = first.headers.get('etag')
      if (first.status !== 200 || etag === null) throw new Error(`GET /orders/{trackcode}: ${first.status}`)
      etags.push(etag)
    }
    const paths: Record<RouteName, string> = {
      order: `/orders/${trackcode}`,
      304: `/orders/${trackcode}`,
      meta: '/v1/meta',
      mixer: '/v1/meta/mixer',
      prices: '/v1/prices?symbols=BTC,ETH',
      healthz: '/healthz'
    }
    const cpuPerRequest = async (child: BenchChild, spec: LoadSpec): Promise<number> => {
      const before = child.cpuMs()
      const load = await runLoad(spec)
      const cpuMs = child.cpuMs() - before
      if (load.responses !== load.latency.count || load.errors > 0) throw new Error(`${spec.url}: ${JSON.stringify(load.statusCodes)}, ${load.errors} errors`)
      return 1000 * cpuMs / Math.max(1, load.responses)
    }
    const bareSpec: LoadSpec = { url: `${(bare.ready as { url: string }).url}/`, connections: 10, durationS: opts.seconds }
    await runLoad({ ...bareSpec, durationS: 1 })
    const out: AbRoute[] = []
    for (const route of opts.routes) {
      const specs = urls.map((url, i): LoadSpec => ({
        url: `${url}${paths[route]}`,
        connections: 10,
        durationS: opts.seconds,
        ...(route === '304' ? { headers: { 'if-none-match': etags[i] as string }, okStatus: 304 } : {})
      }))
      for (const spec of specs) await runLoad({ ...spec, durationS: 1 })
      const figures: AbRoute = { route, bare: [], a: [], b: [] }
      for (let rep = 0; rep < opts.reps; rep++) {
        figures.bare.push(await cpuPerRequest(bare, bareSpec))
        figures.a.push(await cpuPerRequest(gateways[0] as BenchChild, specs[0] as LoadSpec))
        figures.b.push(await cpuPerRequest(gateways[1] as BenchChild, specs[1] as LoadSpec))
      }
      out.push(figures)
    }
    return out
  } finally {
    for (const child of children.reverse()) await child.stop(5000)
    for (const build of builds) build.remove()
  }
}

/** The middle value (the upper one of an even count). */
function median (xs: readonly number[]): number {
  return [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN
}

/** The figures as a table: medians, every run, and what ×0.70 of bare Fastify allows. */
export function abTable (routes: readonly AbRoute[]): string {
  const runs = (xs: readonly number[]): string => `${median(xs).toFixed(1)} (${xs.map((x) => x.toFixed(1)).join(', ')})`
  return table(
    ['route', 'bare Fastify, µs per request', 'A', 'B', 'B − A (medians)', '×0.70 of bare allows ≤'],
    routes.map((r) => [r.route, runs(r.bare), runs(r.a), runs(r.b), (median(r.b) - median(r.a)).toFixed(1), (median(r.bare) / 0.7).toFixed(1)])
  ) + '\n'
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const { values } = parseArgs({
    options: {
      a: { type: 'string' },
      b: { type: 'string', default: '.' },
      routes: { type: 'string', default: ROUTES.join(',') },
      reps: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '3' }
    }
  })
  if (values.a === undefined) throw new Error('--a: the checkout to compare against (e.g. a worktree of main)')
  const routes = values.routes.split(',')
  for (const r of routes) if (!(ROUTES as readonly string[]).includes(r)) throw new Error(`--routes: ${r} is not one of ${ROUTES.join(', ')}`)
  const reps = Number(values.reps)
  const seconds = Number(values.seconds)
  if (!Number.isInteger(reps) || reps < 1 || reps > 20) throw new Error('--reps: 1..20')
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 30) throw new Error('--seconds: 1..30')
  process.stdout.write(abTable(await runAb({ a: values.a, b: values.b, routes: routes as RouteName[], reps, seconds })))
}
