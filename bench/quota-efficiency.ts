/**
 * Quota-efficiency benchmark (issue 6, point 2): a simulated day in accelerated time
 * with K concurrent orders, trackgate's real tracking stack against fixed 60 s polling
 * per order, both under the 1000/day quota (see `bench/quota/`).
 *
 *   node --import @tapjs/typescript/import bench/quota-efficiency.ts [--smoke] [--k 5,20,100] [--seed N] [--out DIR]
 *
 * Prints a table per K with the ratio to the baseline, writes
 * `bench/results/quota-efficiency.json` and `bench/charts/quota-efficiency.svg`
 * (`--smoke`: tiny K and a short day, results in a temporary directory unless `--out`).
 * Everything runs in-process on a virtual clock: no sockets, no wall-clock waits.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { REPO_ROOT } from './lib/build.js'
import { formatNumber, loadAverage, table, targetsTable, writeResult } from './lib/report.js'
import { renderQuotaChart } from './quota/chart.js'
import { duration, runQuotaBenchmark, type KFigures, type SideFigures } from './quota/run.js'

const USAGE = 'usage: bench/quota-efficiency.ts [--smoke] [--k 5,20,100] [--seed N] [--out DIR]'
/** Real-time bound of the whole run; the simulation of one K takes seconds. */
const WATCHDOG_MS = 10 * 60_000

function fail (message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`)
  process.exit(2)
}

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    k: { type: 'string' },
    seed: { type: 'string', default: '20250820' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false }
  },
  strict: true
})
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
const smoke = values.smoke === true
const ks = (values.k ?? (smoke ? '3' : '5,20,100')).split(',').map((s) => {
  const n = Number(s)
  if (!Number.isInteger(n) || n < 1 || n > 1000) fail(`--k: expected whole numbers 1..1000, got "${s}"`)
  return n
})
const seed = Number(values.seed)
if (!Number.isInteger(seed) || seed < 0 || seed > 0xFFFFFFFF) fail('--seed: expected a whole number 0..4294967295')
const resultsDir = values.out ?? (smoke ? mkdtempSync(join(tmpdir(), 'trackgate-quota-bench-')) : undefined)
const chartsDir = values.out ?? resultsDir ?? join(REPO_ROOT, 'bench', 'charts')

const watchdog = setTimeout(() => {
  process.stderr.write(`quota-efficiency: still running after ${WATCHDOG_MS / 60_000} min, giving up\n`)
  process.exit(1)
}, WATCHDOG_MS)
watchdog.unref()

function row (name: string, s: SideFigures, ratio: string): Array<string | number> {
  const d = s.detection
  return [
    name,
    formatNumber(s.checksPerOrder),
    ratio,
    duration(d.p50Ms),
    duration(d.p95Ms),
    `${d.detected}/${d.changes}`,
    s.maxChecksIn24h,
    s.refusals + s.upstreamRefusals,
    s.firstRefusalAfterMs === null ? 'never' : `${duration(s.firstRefusalAfterMs)} (${duration(s.ranOutAfterFirstOrderMs)} after the 1st order)`
  ]
}

function report (run: KFigures): string {
  const headers = ['tracker', 'checks/order', 'ratio', 'detection p50', 'detection p95', 'detected', 'max checks in 24 h', 'refusals', 'first refusal']
  const lines = [
    `### K = ${run.k}`,
    '',
    table(headers, [
      row('trackgate', run.trackgate, `×${run.checksRatio.toFixed(3)} / ×${run.checksRatioToDemand.toFixed(3)}`),
      row('baseline, 60 s, same quota', run.baseline, '×1'),
      row('baseline, 60 s, no quota', run.baselineUnlimited, '(demand)')
    ]),
    '',
    `Ratio: trackgate's checks per order ÷ the baseline's under the same quota / without quota. trackgate's largest stretch factor: ×${formatNumber(run.trackgate.maxStretch ?? 1)}; intermediate states skipped (detected through a later one): ${run.trackgate.detection.superseded}; orders Done ${run.trackgate.done}, Gone ${run.trackgate.gone} of ${run.trackgate.orders}.`,
    '',
    targetsTable(run.targets),
    ''
  ]
  return lines.join('\n')
}

const loadAtStart = loadAverage()
const result = await runQuotaBenchmark({ ks, seed, smoke }, (line) => { process.stderr.write(`${line}\n`) })
for (const run of result.runs) process.stdout.write(`${report(run)}\n`)
const command = `node --import @tapjs/typescript/import bench/quota-efficiency.ts ${process.argv.slice(2).join(' ')}`.trim()
const file = writeResult('quota-efficiency', result, { smoke, command, loadAtStart, ...(resultsDir === undefined ? {} : { dir: resultsDir }) })
mkdirSync(chartsDir, { recursive: true })
const chart = join(chartsDir, `quota-efficiency${smoke ? '.smoke' : ''}.svg`)
writeFileSync(chart, renderQuotaChart(result))
process.stdout.write(`results: ${file}\nchart: ${chart}\n`)
