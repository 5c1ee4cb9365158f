/**
 * The charts of BENCHMARKS.md, drawn from the latest result files
 * (`bench/results/<name>.json`) into `bench/charts/*.svg`. Run by `npm run bench` after a
 * full run, or alone: `node --import @tapjs/typescript/import bench/charts.ts`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FanoutResult } from './fanout.js'
import type { PassthroughResult } from './passthrough.js'
import { REPO_ROOT } from './lib/build.js'
import { RESULTS_DIR, type ResultFile } from './lib/report.js'
import { renderBarChart, shortNumber, type BarChart } from './lib/svg.js'

/** Where the charts go. */
export const CHARTS_DIR = join(REPO_ROOT, 'bench', 'charts')

const GATEWAY = '#2e86de'
const BASELINE = '#e67e22'
const DIRECT = '#7f8c8d'
const FLOOR = '#b8c4c6'

function read<T> (dir: string, name: string): ResultFile<T> | undefined {
  const path = join(dir, `${name}.json`)
  if (!existsSync(path)) return undefined
  return JSON.parse(readFileSync(path, 'utf8')) as ResultFile<T>
}

const ms = (v: number): string => `${shortNumber(v)} ms`

/** The charts of a fan-out result. */
export function fanoutCharts (r: FanoutResult): Record<string, BarChart> {
  const categories = r.sizes.map((s) => `N = ${s.n.toLocaleString('en-US')}`)
  const baseline = (f: (s: FanoutResult['sizes'][number]) => number | undefined): number[] => r.sizes.map((s) => f(s) ?? Number.NaN)
  return {
    'fanout-memory': {
      title: 'Memory per SSE subscriber (RSS, after a forced GC)',
      subtitle: 'Marginal RSS of N − 100 subscribers over a 100-stream reference (negative noise not drawn)',
      categories,
      series: [
        { name: 'trackgate', values: r.sizes.map((s) => s.gateway.memory.rssPerSubscriberKb), color: GATEWAY },
        { name: 'trackgate excl. young gen.', values: r.sizes.map((s) => s.gateway.memory.rssExclYoungPerSubscriberKb), color: '#85c1e9' },
        { name: 'per-client proxy', values: baseline((s) => s.baseline?.memory.rssPerSubscriberKb), color: BASELINE },
        { name: 'proxy excl. young gen.', values: baseline((s) => s.baseline?.memory.rssExclYoungPerSubscriberKb), color: '#f5cba7' }
      ],
      yLabel: 'KiB per subscriber',
      reference: { value: 10_000 / 1024, label: 'target 10 KB' }
    },
    'fanout-upstream': {
      title: 'Upstream /orders/check calls per day, one order, polled every 60 s',
      subtitle: 'Measured calls per polling interval × 1,440 intervals per day (log scale)',
      categories,
      series: [
        { name: 'trackgate', values: r.sizes.map((s) => s.projection.gatewayCallsPerDay), color: GATEWAY },
        { name: 'per-client proxy (baseline)', values: r.sizes.map((s) => s.projection.baselineCallsPerDay), color: BASELINE }
      ],
      yLabel: 'calls per day',
      log: true,
      reference: { value: 1000, label: 'daily quota 1,000' }
    },
    'fanout-latency': {
      title: 'Upstream change → every subscriber (trackgate)',
      subtitle: 'Publication → arrival at each client, all rounds; floor: the same broadcast from a bare server',
      categories,
      series: [
        { name: 'p50', values: r.sizes.map((s) => s.gateway.delivery.p50), color: '#85c1e9' },
        { name: 'p99', values: r.sizes.map((s) => s.gateway.delivery.p99), color: GATEWAY },
        { name: 'last subscriber (worst round)', values: r.sizes.map((s) => s.gateway.publishToLastMaxMs), color: '#1b4f72' },
        { name: 'floor p99 (bare broadcast)', values: baseline((s) => s.floor?.delivery.p99), color: DIRECT }
      ],
      yLabel: 'ms',
      reference: { value: 100, label: 'target p99 100 ms' },
      format: ms
    }
  }
}

/** The charts of a pass-through result. */
export function passthroughCharts (r: PassthroughResult): Record<string, BarChart> {
  const l = r.latency
  return {
    'passthrough-latency': {
      title: `Latency of ${l.route}, one request in flight`,
      subtitle: `Added by the gateway: p50 ${l.addedP50Ms} ms, p99 ${l.addedP99Ms} ms (target ≤ 1 ms at p99); by a bare forwarder: p50 ${l.floorAddedP50Ms} ms, p99 ${l.floorAddedP99Ms} ms`,
      categories: ['p50', 'p90', 'p99'],
      series: [
        { name: 'simulator directly', values: [l.direct.latency.p50, l.direct.latency.p90, l.direct.latency.p99], color: DIRECT },
        { name: 'via a bare forwarder', values: [l.floor.latency.p50, l.floor.latency.p90, l.floor.latency.p99], color: FLOOR },
        { name: 'via trackgate', values: [l.gateway.latency.p50, l.gateway.latency.p90, l.gateway.latency.p99], color: GATEWAY }
      ],
      yLabel: 'ms',
      format: ms
    },
    'passthrough-throughput': {
      title: `Requests per second at saturation (${r.options.connections} connections)`,
      subtitle: 'Pass-through check and cached routes; the simulator directly is the baseline',
      categories: [r.throughput.route.replace('POST /v1', 'POST '), ...r.cached.map((c) => c.route.replace('GET /v1', '').replace(/\?.*/, ''))],
      series: [
        { name: 'simulator directly', values: [r.throughput.direct.perSecond, ...r.cached.map((c) => c.direct.perSecond)], color: DIRECT },
        { name: 'via trackgate', values: [r.throughput.gateway.perSecond, ...r.cached.map((c) => c.gateway.perSecond)], color: GATEWAY }
      ],
      yLabel: 'requests per second',
      reference: { value: 10_000, label: 'target for cached routes 10k req/s' }
    }
  }
}

/** Draws every chart whose result file exists; returns the files written. */
export function renderCharts (resultsDir = RESULTS_DIR, chartsDir = CHARTS_DIR): string[] {
  const charts: Record<string, BarChart> = {}
  const fanout = read<FanoutResult>(resultsDir, 'fanout')
  if (fanout !== undefined) Object.assign(charts, fanoutCharts(fanout.result))
  const passthrough = read<PassthroughResult>(resultsDir, 'passthrough')
  if (passthrough !== undefined) Object.assign(charts, passthroughCharts(passthrough.result))
  mkdirSync(chartsDir, { recursive: true })
  const written: string[] = []
  for (const [name, chart] of Object.entries(charts)) {
    const path = join(chartsDir, `${name}.svg`)
    writeFileSync(path, renderBarChart(chart))
    written.push(path)
  }
  return written
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const f of renderCharts()) process.stdout.write(`wrote ${f}\n`)
}
