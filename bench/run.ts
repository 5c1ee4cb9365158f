/**
 * `npm run bench` — runs the benchmarks and prints their figures with the ratio to each
 * one's same-run baseline; writes `bench/results/<name>.json` and the charts.
 *
 *   node --import @tapjs/typescript/import bench/run.ts [--smoke] [--only passthrough|memory-routes|fanout|subscriber-heap]
 *        [--sizes 1000,5000,10000] [--clients 2] [--writer-only] [--out DIR] [--wait-quiet SECONDS]
 *
 * `--smoke`: tiny sizes (what the test suite runs), results in a temporary directory
 * unless `--out` is given (`--out DIR`: results and charts in DIR, the recorded ones in
 * `bench/results/` and `bench/charts/` left as they are). `--writer-only`: the fan-out measures the product's
 * writer alone (no `@fastify/sse` variant, no per-client proxy baseline, no slow readers;
 * the delivery floor, a bare broadcast at the same N, is kept): a quicker run for iterating on delivery, never the recorded figure. Loopback only; every run is bounded in time and stops by
 * itself (a watchdog ends the process if a benchmark overruns its limit).
 * `--wait-quiet S`: first wait up to S seconds for the machine's 1-minute load average
 * to drop below half its cores (other work on the machine skews every figure).
 */
import { mkdtempSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { renderCharts } from './charts.js'
import { loadAverage } from './lib/report.js'
import { sleep } from './lib/time.js'
import { BENCHMARK_NAMES, FULL, SMOKE, runSuite, type BenchmarkName } from './suite.js'

const USAGE = 'usage: bench/run.ts [--smoke] [--only passthrough|memory-routes|fanout|subscriber-heap] [--sizes N,N,…] [--clients K] [--writer-only] [--out DIR] [--wait-quiet SECONDS]'

function fail (message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`)
  process.exit(2)
}

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    sizes: { type: 'string' },
    clients: { type: 'string' },
    'writer-only': { type: 'boolean', default: false },
    out: { type: 'string' },
    'wait-quiet': { type: 'string' },
    help: { type: 'boolean', default: false }
  },
  strict: true
})
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}

const only = values.only?.flatMap((o) => o.split(',')).map((o) => {
  if (!(BENCHMARK_NAMES as readonly string[]).includes(o)) fail(`unknown benchmark "${o}" (known: ${BENCHMARK_NAMES.join(', ')})`)
  return o as BenchmarkName
})
const sizes = values.sizes?.split(',').map((s) => {
  const n = Number(s)
  if (!Number.isInteger(n) || n < 1 || n > 100_000) fail(`--sizes: expected whole numbers 1..100000, got "${s}"`)
  return n
})
const clients = values.clients === undefined ? undefined : Number(values.clients)
if (clients !== undefined && (!Number.isInteger(clients) || clients < 1 || clients > 16)) fail('--clients: expected 1..16')
const smoke = values.smoke === true
const resultsDir = values.out ?? (smoke ? mkdtempSync(join(tmpdir(), 'trackgate-bench-results-')) : undefined)

const log = (line: string): void => { process.stderr.write(`${line}\n`) }

const quietBelow = availableParallelism() / 2
if (values['wait-quiet'] !== undefined) {
  const waitS = Number(values['wait-quiet'])
  if (!Number.isFinite(waitS) || waitS < 0 || waitS > 3600) fail('--wait-quiet: expected 0..3600 seconds')
  const until = Date.now() + waitS * 1000
  while ((loadAverage()[0] as number) >= quietBelow && Date.now() < until) {
    log(`waiting for a quiet machine (1-min load ${loadAverage()[0]}, want < ${quietBelow})`)
    await sleep(15_000)
  }
}
if ((loadAverage()[0] as number) >= quietBelow) {
  log(`warning: the machine is busy (1-min load ${loadAverage()[0]} on ${availableParallelism()} cores): other processes share the measured ones' CPU; figures will be pessimistic and noisy`)
}

// Watchdog: the sum of the benchmarks' own limits, plus room to start and stop.
const preset = smoke ? SMOKE : FULL
const limitMs = preset.fanout.timeLimitMs + preset.passthrough.timeLimitMs + preset.memoryRoutes.timeLimitMs + preset.subscriberHeap.timeLimitMs + 60_000
setTimeout(() => {
  process.stderr.write(`bench: still running after ${limitMs / 1000} s; giving up\n`)
  process.exit(1)
}, limitMs).unref()

const command = `node --import @tapjs/typescript/import bench/run.ts${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`

try {
  const result = await runSuite({
    smoke,
    command,
    log,
    ...(only === undefined ? {} : { only }),
    ...(sizes === undefined ? {} : { sizes }),
    ...(clients === undefined ? {} : { clients }),
    writerOnly: values['writer-only'] === true,
    ...(resultsDir === undefined ? {} : { resultsDir })
  })
  process.stdout.write(`${result.report}\n\n`)
  for (const f of result.files) process.stdout.write(`wrote ${f}\n`)
  // With --out, the charts go beside the results they are drawn from, not over the recorded ones.
  if (!smoke) for (const f of resultsDir === undefined ? renderCharts() : renderCharts(resultsDir, resultsDir)) process.stdout.write(`wrote ${f}\n`)
  process.exit(0)
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
}
