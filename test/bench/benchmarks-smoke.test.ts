/**
 * Smoke run of the benchmarks (`bench/`) at tiny sizes: they must start their
 * processes, measure, stop by themselves and produce well-formed figures. Nothing here
 * asserts a performance figure: only what holds on any machine, however busy.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { renderCharts } from '../../bench/charts.js'
import { quantile, summarize, type Summary } from '../../bench/lib/stats.js'
import type { ResultFile } from '../../bench/lib/report.js'
import { renderBarChart } from '../../bench/lib/svg.js'
import { runSuite, SMOKE } from '../../bench/suite.js'

function wellFormed (t: Test, s: Summary, what: string, count: number): void {
  t.equal(s.count, count, `${what}: one sample per measurement`)
  for (const key of ['min', 'mean', 'p50', 'p90', 'p99', 'max'] as const) {
    t.ok(Number.isFinite(s[key]) && s[key] >= 0, `${what}.${key} is a non-negative number`)
  }
  t.ok(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max, `${what}: percentiles are ordered`)
}

t.test('quantile and summarize', async (t) => {
  const hundred = Float64Array.from({ length: 100 }, (_, i) => i + 1)
  t.equal(quantile(hundred, 0.5), 50)
  t.equal(quantile(hundred, 0.99), 99)
  t.equal(quantile(hundred, 1), 100)
  t.equal(quantile(hundred, 0), 1)
  t.ok(Number.isNaN(quantile([], 0.5)))
  const s = summarize([3, Number.NaN, 1, 2])
  t.same({ count: s.count, min: s.min, p50: s.p50, max: s.max, mean: s.mean }, { count: 3, min: 1, p50: 2, max: 3, mean: 2 })
})

t.test('bar chart SVG', async (t) => {
  const svg = renderBarChart({
    title: 'A & B',
    categories: ['x', 'y'],
    series: [{ name: 'one', values: [1, 10_000], color: '#000' }, { name: 'two', values: [Number.NaN, 5], color: '#f00' }],
    yLabel: 'units',
    log: true,
    reference: { value: 1000, label: 'limit' }
  })
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.match(svg, /A &amp; B/, 'text is escaped')
  t.equal(svg.match(/<rect x=/g)?.length, 3 + 2, 'one rect per finite value, one per legend entry')
  t.match(svg, /stroke-dasharray/, 'reference line drawn')
})

t.test('every benchmark runs end to end at smoke size', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trackgate-bench-smoke-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const lines: string[] = []
  const result = await runSuite({ smoke: true, resultsDir: dir, command: 'test/bench/benchmarks-smoke.test.ts', log: (l) => { lines.push(l) } })

  t.test('pass-through', async (t) => {
    const p = result.passthrough
    if (p === undefined) throw new Error('no pass-through result')
    t.ok(p.latency.direct.latency.count > 0 && p.latency.gateway.latency.count > 0, 'latency samples on both paths')
    wellFormed(t, p.latency.direct.latency, 'direct latency', p.latency.direct.latency.count)
    wellFormed(t, p.latency.gateway.latency, 'gateway latency', p.latency.gateway.latency.count)
    wellFormed(t, p.latency.floor.latency, 'bare forwarder latency', p.latency.floor.latency.count)
    t.ok(p.latency.floor.latency.count > 0, 'the bare forwarder answered in the same run')
    t.ok(p.latency.gateway.proxyCpuUsPerRequest > 0 && p.latency.floor.proxyCpuUsPerRequest > 0, 'CPU per request read for both proxies')
    t.ok(Number.isFinite(p.latency.addedP99Ms) && Number.isFinite(p.latency.floorAddedP99Ms), 'added p99 computed for both')
    t.ok(p.throughput.direct.perSecond > 0 && p.throughput.gateway.perSecond > 0, 'throughput on both paths')
    const answered = p.throughput.gateway.latency.count
    t.ok(p.throughput.upstreamCalls >= answered && p.throughput.upstreamCalls <= answered + SMOKE.passthrough.connections,
      `each uncached check is forwarded upstream once (${p.throughput.upstreamCalls} calls for ${answered} answers; the last ${SMOKE.passthrough.connections} may be cut)`)
    t.equal(p.cached.length, 4, 'four cached routes')
    for (const c of p.cached) {
      t.ok(c.gateway.perSecond > 0 && c.direct.perSecond > 0, `${c.route}: both measured`)
      t.ok(c.upstreamCalls <= 1, `${c.route}: at most one upstream call in a run shorter than its TTL`)
    }
    t.equal(p.targets.length, 2, 'targets evaluated')
  })

  t.test('memory-served routes', async (t) => {
    const m = result.memoryRoutes
    if (m === undefined) throw new Error('no memory-routes result')
    t.same(m.routes.map((r) => r.route), [
      'GET /orders/{trackcode}', 'GET /orders/{trackcode} (If-None-Match → 304)', 'GET /v1/meta', 'GET /v1/meta/mixer', 'GET /v1/prices', 'GET /healthz'
    ], 'every memory-served route measured')
    for (const r of m.routes) {
      t.ok(r.gatewayPerSecond > 0 && r.baselinePerSecond > 0, `${r.route}: gateway and bare Fastify both measured`)
      t.ok(Number.isFinite(r.ratio) && r.ratio > 0, `${r.route}: ratio printed`)
      t.ok(r.upstreamCalls <= 1, `${r.route}: served from memory (${r.upstreamCalls} upstream calls)`)
    }
    t.equal(m.routes[1]?.status, 304, 'the conditional request is answered 304')
    t.equal(m.targets.length, m.routes.length, 'one target per route')
  })

  t.test('fan-out', async (t) => {
    const f = result.fanout
    if (f === undefined) throw new Error('no fan-out result')
    const n = SMOKE.fanout.sizes[0] as number
    const size = f.sizes[0]
    if (size === undefined) throw new Error('no size measured')
    t.equal(size.n, n)
    const g = size.gateway
    t.equal(g.setup.opened, n, 'every gateway stream opened')
    t.equal(g.setup.failed, 0)
    t.equal(g.hold.open, n, 'every stream held')
    t.equal(g.rounds.length, SMOKE.fanout.rounds)
    for (const r of g.rounds) {
      t.equal(r.received, n, `version ${r.version} reached every subscriber`)
      wellFormed(t, r.latency, `round v${r.version} latency`, n)
      t.ok(r.version >= 2, 'a new version after the payment')
      t.ok(r.frameBytes > 0)
      t.ok(r.flushMs >= r.fanoutLoopMs && r.fanoutLoopMs >= 0, 'written to every socket after the fan-out loop queued it')
      t.ok(r.payToPublishMs >= 0 && r.payToLastMs >= r.payToPublishMs, 'payment, then publication, then arrival')
    }
    t.equal(g.spuriousVersions, 0, 'no version published while nothing changed upstream')
    t.ok(g.upstream.atMostOnePerPoll, `at most one check per poll (${g.upstream.calls} in ${g.upstream.pollsAtInterval} intervals)`)
    t.ok(g.setupUpstreamCalls <= Math.floor(g.setup.totalMs / SMOKE.fanout.pollIntervalMs) + 1, 'subscribing costs no upstream call beyond the poller\'s')
    t.ok(g.memory.rssKb > 0 && Number.isFinite(g.memory.rssPerSubscriberKb), 'memory read')
    for (const run of [g, size.plugin]) {
      if (run === undefined) throw new Error('no @fastify/sse variant run')
      t.equal(run.slow?.readers, SMOKE.fanout.slowReaders, `${run.writer}: every slow reader opened`)
      t.ok(Number.isFinite(run.slow?.rssHeldPerReaderKb), `${run.writer}: slow-reader memory read`)
      t.equal(run.shutdown.leftOpen, 0, `${run.writer}: the shutdown ended every stream`)
      t.ok(run.shutdown.allClosedMs >= 0 && run.shutdown.shutdownMs >= 0, `${run.writer}: shutdown timed`)
    }
    const p = size.plugin
    if (p === undefined) throw new Error('no @fastify/sse variant run')
    t.equal(p.writer, 'plugin')
    t.equal(p.setup.opened, n, 'every @fastify/sse stream opened')
    for (const r of p.rounds) t.equal(r.received, n, `@fastify/sse: version ${r.version} reached every subscriber`)
    t.ok(size.pluginRatios !== undefined && typeof size.pluginRatios.withinTenPercent === 'boolean', 'the two writers compared')
    const b = size.baseline
    if (b === undefined) throw new Error('no baseline run')
    t.equal(b.setup.opened, n, 'every baseline stream opened')
    const warm = Math.min(SMOKE.fanout.warmup, Math.floor(n / 10))
    t.ok(b.setupUpstreamCalls >= n - warm, 'the baseline spends one upstream call per new subscriber')
    const floor = size.floor
    if (floor === undefined) throw new Error('no delivery floor run')
    t.equal(floor.opened, n, 'every stream on the bare broadcast server opened')
    t.equal(floor.failed, 0)
    t.equal(floor.rounds.length, SMOKE.fanout.rounds, 'as many broadcasts as gateway rounds')
    for (const r of floor.rounds) {
      t.equal(r.received, n, `floor: version ${r.version} reached every subscriber`)
      wellFormed(t, r.latency, `floor v${r.version} latency`, n)
      t.equal(r.frameBytes, g.rounds[0]?.frameBytes, 'the floor\'s frame is the gateway\'s size')
      t.ok(r.flushMs >= r.fanoutLoopMs && r.fanoutLoopMs >= 0, 'floor: flushed after its loop')
    }
    wellFormed(t, floor.delivery, 'floor delivery', n * SMOKE.fanout.rounds)
    t.ok(size.floorRatios !== undefined && Number.isFinite(size.floorRatios.deliveryP99) && size.floorRatios.deliveryP99 > 0, 'gateway ÷ floor computed')
    t.ok(f.targets.some((x) => x.target.startsWith('comparison, not the issue\'s target')), 'the floor comparison is listed, labelled as a comparison')
    t.match(result.report, /bare broadcast \(floor\)/, 'the floor is in the delivery table')
    t.equal(f.largestNHeld, n)
  })

  t.test('subscriber heap', async (t) => {
    const h = result.subscriberHeap
    if (h === undefined) throw new Error('no subscriber heap result')
    t.equal(h.added, SMOKE.subscriberHeap.n, 'every stream added')
    t.ok(h.heapPerSubscriberBytes > 0, 'subscribers take heap')
    t.ok(h.top.length > 0 && h.top.length <= SMOKE.subscriberHeap.top, 'largest contributors listed')
    for (const d of h.top) t.ok(d.perUnitBytes >= 8 && typeof d.group === 'string', `${d.group} grows`)
  })

  t.test('result files and charts', async (t) => {
    t.same(result.files.map((f) => f.replace(dir, '')).sort(), ['/fanout.smoke.json', '/memory-routes.smoke.json', '/passthrough.smoke.json', '/subscriber-heap.smoke.json'])
    for (const file of result.files) {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as ResultFile<unknown>
      t.equal(parsed.smoke, true)
      t.ok(parsed.machine.nproc >= 1 && parsed.machine.node.startsWith('v'), 'machine described')
      t.equal(parsed.loadAverage.start.length, 3)
    }
    t.match(result.report, /### Fan-out/)
    t.match(result.report, /### Pass-through/)
    t.match(result.report, /### Memory-served routes vs bare Fastify/)
  })

  t.test('charts from the results', async (t) => {
    // renderCharts reads <name>.json: copy the smoke results under those names.
    const chartsIn = mkdtempSync(join(tmpdir(), 'trackgate-bench-charts-'))
    t.teardown(() => { rmSync(chartsIn, { recursive: true, force: true }) })
    for (const name of ['fanout', 'passthrough']) {
      const text = readFileSync(join(dir, `${name}.smoke.json`), 'utf8')
      writeFileSync(join(chartsIn, `${name}.json`), text)
    }
    const written = renderCharts(chartsIn, join(chartsIn, 'charts'))
    t.equal(written.length, 5)
    for (const file of written) t.ok(existsSync(file) && readFileSync(file, 'utf8').startsWith('<svg'), file)
  })
})
