/**
 * Smoke run of the quota-efficiency benchmark (`bench/quota-efficiency.ts`) at a tiny
 * size: it completes, its figures are well formed, and trackgate never goes over the
 * quota — also under a quota far too small for the day. Everything runs on a virtual
 * clock, so nothing here depends on the machine's speed; no performance figure is
 * asserted.
 */
import t, { type Test } from 'tap'
import { baselineTracker } from '../../bench/quota/baseline-tracker.js'
import { renderQuotaChart } from '../../bench/quota/chart.js'
import { detectionFigures, maxInWindow, orderDelays, type DetectionFigures } from '../../bench/quota/detection.js'
import { runQuotaBenchmark, shapeFor, type SideFigures } from '../../bench/quota/run.js'
import { trackgateTracker } from '../../bench/quota/trackgate-tracker.js'
import { planWorkload } from '../../bench/quota/workload.js'
import { runDay } from '../../bench/quota/world.js'

const DAY = 24 * 3_600_000

function wellFormedDetection (t: Test, d: DetectionFigures, what: string): void {
  t.equal(d.detected + d.missed, d.changes, `${what}: every change is detected or missed`)
  t.ok(d.changes > 0, `${what}: the day had changes to detect`)
  t.equal(d.unmatchedEvents, 0, `${what}: every event carries a state upstream showed`)
  t.ok(d.p50Ms >= 0 && d.p50Ms <= d.p95Ms && d.p95Ms <= d.maxMs, `${what}: percentiles are ordered and non-negative`)
}

function wellFormedSide (t: Test, s: SideFigures, orders: number, what: string): void {
  t.equal(s.orders, orders, `${what}: every order was created`)
  t.same(s.failures, [], `${what}: every order was followed`)
  t.ok(s.checks > 0 && Number.isFinite(s.checksPerOrder), `${what}: checks were counted`)
  t.equal(s.checksPerOrder, s.checks / s.orders)
  t.ok(s.maxChecksIn24h <= s.checks, `${what}: the 24 h maximum is within the total`)
  wellFormedDetection(t, s.detection, what)
}

t.test('a smoke-size day: complete, well-formed, within the quota', async (t) => {
  const result = await runQuotaBenchmark({ ks: [3], seed: 7, smoke: true })
  t.equal(result.runs.length, 1)
  const run = result.runs[0]
  if (run === undefined) return
  wellFormedSide(t, run.trackgate, 3, 'trackgate')
  wellFormedSide(t, run.baseline, 3, 'baseline')
  wellFormedSide(t, run.baselineUnlimited, 3, 'baseline without quota')
  const budget = result.settings.quotaLimit - result.settings.quotaReserve
  t.ok(run.trackgate.maxChecksIn24h <= budget, `trackgate: at most ${budget} checks in any 24 h (${run.trackgate.maxChecksIn24h})`)
  t.equal(run.trackgate.refusals, 0, 'trackgate: no check refused by the local quota')
  t.equal(run.trackgate.upstreamRefusals, 0, 'trackgate: no 429 from upstream')
  t.equal(run.trackgate.detection.missed, 0, 'with room in the quota nothing is missed')
  t.equal(run.checksRatio, run.trackgate.checksPerOrder / run.baseline.checksPerOrder, 'the ratio is trackgate over the baseline')
  t.equal(run.targets.length, 4)
  const svg = renderQuotaChart(result)
  t.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.match(svg, /K = 3/)
  t.ok(svg.trimEnd().endsWith('</svg>'))
})

t.test('under a quota far too small for the day, trackgate slows down instead of going over; the baseline runs out', async (t) => {
  const { shape, settings } = shapeFor(3, 7, true)
  const tiny = { ...settings, quotaLimit: 40, quotaReserve: 10 }
  const plan = planWorkload(shape)
  const tg = await runDay(plan, tiny, (ctx) => trackgateTracker(ctx, 7))
  t.ok(maxInWindow(tg.checkTimes, DAY) <= 30, `trackgate: at most 30 checks in 24 h (${maxInWindow(tg.checkTimes, DAY)})`)
  t.equal(tg.upstreamRefusals, 0, 'upstream never refused trackgate')
  t.equal(tg.simChecks, tg.checkTimes.length, 'every check counted by the tracker reached the simulator')
  t.same(tg.failures, [])
  const bl = await runDay(plan, tiny, (ctx) => baselineTracker(ctx))
  t.equal(maxInWindow(bl.checkTimes, DAY), 30, 'the baseline used the whole budget')
  t.ok(bl.refusals > 0 && bl.firstRefusalAt !== null, 'and was then refused')
  wellFormedDetection(t, detectionFigures(tg.timelines.values()), 'trackgate, tiny quota')
})

t.test('detection delay arithmetic', async (t) => {
  const truth = [{ at: 0, sig: 'a' }, { at: 60_000, sig: 'b' }, { at: 120_000, sig: 'c' }, { at: 600_000, sig: 'd' }]
  // b is never emitted (c supersedes it), d comes after the follower left.
  const d = orderDelays({ truth, events: [{ at: 0, sig: 'a' }, { at: 150_000, sig: 'c' }, { at: 700_000, sig: 'x' }], followedUntil: 500_000 })
  t.same(d.delays, [90_000, 30_000])
  t.equal(d.superseded, 1)
  t.equal(d.unmatched, 1)
  const missed = orderDelays({ truth, events: [{ at: 0, sig: 'a' }], followedUntil: 500_000 })
  t.same(missed.delays, [Infinity, Infinity])
  const f = detectionFigures([{ truth, events: [{ at: 0, sig: 'a' }, { at: 61_000, sig: 'b' }], followedUntil: 500_000 }])
  t.same({ changes: f.changes, detected: f.detected, missed: f.missed, p50: f.p50Ms, p95: f.p95Ms }, { changes: 2, detected: 1, missed: 1, p50: 1000, p95: Infinity })
  t.equal(maxInWindow([0, 1, DAY - 1, DAY], DAY), 3, 'the window is (t − 24 h, t]: the call at 0 has left it at 24 h')
})

t.test('the workload is reproducible from its seed', async (t) => {
  const { shape } = shapeFor(20, 42, false)
  t.same(planWorkload(shape), planWorkload(shape))
  t.not(JSON.stringify(planWorkload(shape)), JSON.stringify(planWorkload({ ...shape, seed: 43 })))
  for (const order of planWorkload(shape)) {
    t.ok(order.delaysMin.length >= 1 && order.delaysMin.length <= 3 && order.delaysMin.every((m) => m >= 0 && m <= 2880), 'outputs and delays within upstream rules')
    t.ok([order.createAt, ...order.payments.map((p) => p.at)].every((at) => at % 60_000 !== 0), 'no event on a refresh tick')
  }
})
