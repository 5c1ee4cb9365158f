/**
 * Quota-efficiency benchmark (issue 11, points 4–5): several simulated days in virtual
 * time with K orders created per 24 h, trackgate's allocator (its real tracking stack)
 * against same-run baselines — round-robin at the poll partition's rate, the best fixed
 * interval found with hindsight, the previous scheduler — and the unlimited 60 s
 * poller as the reference of demand (see `bench/quota/`).
 *
 *   node --import @tapjs/typescript/import bench/quota-efficiency.ts [--smoke] [--k 5,20,100] [--seeds 1,2,3] [--quota 1000] [--poll-share 0.8] [--out DIR]
 *
 * Prints a table per K (pooled over the seeds, and per kind of change) with the ratios
 * to the baselines, writes `bench/results/quota-efficiency.json` and
 * `bench/charts/quota-efficiency.svg` (`--smoke`: tiny sizes, results in a temporary
 * directory unless `--out`). Everything runs in-process on a virtual clock.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { REPO_ROOT } from './lib/build.js'
import { formatNumber, loadAverage, table, targetsTable, writeResult } from './lib/report.js'
import { ratio } from './lib/stats.js'
import { renderQuotaChart } from './quota/chart.js'
import { CHANGE_KINDS } from './quota/detection.js'
import { duration, runQuotaBenchmark, type KFigures, type SideFigures } from './quota/run.js'

const USAGE = 'usage: bench/quota-efficiency.ts [--smoke] [--k 5,20,100] [--seeds 1,2,3] [--quota 1000] [--poll-share 0.8] [--out DIR]'
/** Real-time bound of the whole run. */
const WATCHDOG_MS = 30 * 60_000

function fail (message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`)
  process.exit(2)
}

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    k: { type: 'string' },
    seeds: { type: 'string' },
    quota: { type: 'string', default: '1000' },
    'poll-share': { type: 'string' },
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
const whole = (name: string, s: string, max: number): number => {
  const n = Number(s)
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`--${name}: expected whole numbers 1..${max}, got "${s}"`)
  return n
}
const ks = (values.k ?? (smoke ? '24' : '5,20,100')).split(',').map((s) => whole('k', s, 1000))
const seeds = (values.seeds ?? (smoke ? '7' : '1,2,3')).split(',').map((s) => whole('seeds', s, 0xFFFFFFF))
const quotaLimit = whole('quota', values.quota, 1_000_000)
const pollShareArg = values['poll-share']
const pollShare = pollShareArg === undefined ? undefined : Number(pollShareArg)
if (pollShare !== undefined && !(pollShare > 0 && pollShare <= 1)) fail(`--poll-share: expected a fraction in (0, 1], got "${pollShareArg}"`)
const resultsDir = values.out ?? (smoke ? mkdtempSync(join(tmpdir(), 'trackgate-quota-bench-')) : undefined)
const chartsDir = values.out ?? resultsDir ?? join(REPO_ROOT, 'bench', 'charts')

const watchdog = setTimeout(() => {
  process.stderr.write(`quota-efficiency: still running after ${WATCHDOG_MS / 60_000} min, giving up\n`)
  process.exit(1)
}, WATCHDOG_MS)
watchdog.unref()

function times (base: number, value: number): string {
  const r = ratio(base, value)
  return Number.isFinite(r) ? `×${r.toFixed(2)}` : '–'
}

function row (s: SideFigures, trackgateP95: number): Array<string | number> {
  return [
    s.name,
    formatNumber(s.checksPerOrder),
    duration(s.pooled.p50Ms),
    duration(s.pooled.p95Ms),
    s.name === 'trackgate' ? '' : times(s.pooled.p95Ms, trackgateP95),
    ...CHANGE_KINDS.map((k) => duration(s.byKind[k].p95Ms)),
    `${s.pooled.changes - s.pooled.missed}/${s.pooled.changes}`,
    s.maxChecksIn24h,
    s.refusals
  ]
}

function report (run: KFigures): string {
  const headers = ['tracker', 'checks/order', 'p50', 'p95', 'its p95 ÷ trackgate\'s', ...CHANGE_KINDS.map((k) => `p95 ${k}`), 'detected', 'max in 24 h', 'refused']
  const p95 = run.trackgate.pooled.p95Ms
  const sides = [run.trackgate, run.roundRobin, run.bestFixed, run.previous, run.demand]
  const tg = run.trackgate
  return [
    `### K = ${run.k} orders / 24 h (poll partition ${run.partition} / 24 h)`,
    '',
    table(headers, sides.map((s) => row(s, p95))),
    '',
    `trackgate p50 per kind: ${CHANGE_KINDS.map((k) => `${k} ${duration(tg.byKind[k].p50Ms)} (${tg.byKind[k].changes})`).join(', ')}; p95 per seed: ${tg.p95BySeed.map((v) => duration(v)).join(' / ')}; round-robin p95 per seed: ${run.roundRobin.p95BySeed.map((v) => duration(v)).join(' / ')}.`,
    `Fixed intervals tried (pooled p95): ${run.fixed.map((f) => `${f.name.replace('fixed ', '')} ${duration(f.pooled.p95Ms)}`).join(', ')}; the best, with hindsight: ${run.bestFixed.name}. The demand row (60 s, no quota) ran the first seed only.`,
    '',
    targetsTable(run.targets),
    ''
  ].join('\n')
}

const loadAtStart = loadAverage()
const result = await runQuotaBenchmark({ ks, seeds, smoke, quotaLimit, ...(pollShare === undefined ? {} : { pollShare }) }, (line) => { process.stderr.write(`${line}\n`) })
for (const run of result.runs) process.stdout.write(`${report(run)}\n`)
const command = `node --import @tapjs/typescript/import bench/quota-efficiency.ts ${process.argv.slice(2).join(' ')}`.trim()
const suffix = `${quotaLimit === 1000 ? '' : `-${quotaLimit}`}${pollShare === undefined ? '' : `-share-${pollShare}`}`
const file = writeResult(`quota-efficiency${suffix}`, result, { smoke, command, loadAtStart, ...(resultsDir === undefined ? {} : { dir: resultsDir }) })
mkdirSync(chartsDir, { recursive: true })
const chart = join(chartsDir, `quota-efficiency${suffix}${smoke ? '.smoke' : ''}.svg`)
writeFileSync(chart, renderQuotaChart(result))
process.stdout.write(`results: ${file}\nchart: ${chart}\n`)
