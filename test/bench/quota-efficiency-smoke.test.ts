/**
 * Smoke run of the quota-efficiency benchmark (`bench/quota-efficiency.ts`) at a tiny
 * size: it completes, its figures are well formed (per kind of change and pooled, for
 * trackgate and every baseline), and trackgate never goes over the poll partition —
 * also under a quota far too small for the run. Everything runs on a virtual
 * clock, so nothing here depends on the machine's speed; no performance figure is
 * asserted.
 */
import t, { type Test } from 'tap'
import { fixedIntervalTracker } from '../../bench/quota/baselines/fixed-interval.js'
import { renderQuotaChart } from '../../bench/quota/chart.js'
import { changeKind, detectionFigures, maxInWindow, orderDelays, type DetectionFigures } from '../../bench/quota/detection.js'
import { RefreshTicks } from '../../bench/quota/refresh-ticks.js'
import { runQuotaBenchmark, shapeFor, type SideFigures } from '../../bench/quota/run.js'
import { trackgateTracker } from '../../bench/quota/trackgate-tracker.js'
import { planWorkload } from '../../bench/quota/workload.js'
import { pollLimit, runDay } from '../../bench/quota/world.js'

const DAY = 24 * 3_600_000

function wellFormedDetection (t: Test, d: DetectionFigures, what: string): void {
  t.equal(d.detected + d.missed, d.changes, `${what}: every change is detected or missed`)
  t.ok(d.changes > 0, `${what}: the day had changes to detect`)
  t.equal(d.unmatchedEvents, 0, `${what}: every event carries a state upstream showed`)
  t.ok(d.p50Ms >= 0 && d.p50Ms <= d.p95Ms && d.p95Ms <= d.maxMs, `${what}: percentiles are ordered and non-negative`)
}

function wellFormedSide (t: Test, s: SideFigures, what: string): void {
  t.ok(s.orders > 0, `${what}: orders were created`)
  t.ok(s.checks > 0 && Number.isFinite(s.checksPerOrder), `${what}: checks were counted`)
  t.equal(s.checksPerOrder, s.checks / s.orders)
  t.ok(s.maxChecksIn24h <= s.checks, `${what}: the 24 h maximum is within the total`)
  t.ok(s.pooled.changes > 0, `${what}: the run had changes to detect`)
  const perKind = Object.values(s.byKind).reduce((n, d) => n + d.changes, 0)
  t.equal(perKind, s.pooled.changes, `${what}: every change has one kind`)
  t.ok(s.pooled.p50Ms >= 0 && s.pooled.p50Ms <= s.pooled.p95Ms, `${what}: percentiles are ordered and non-negative`)
}

t.test('a smoke-size run: complete, well-formed, within the partition', async (t) => {
  const result = await runQuotaBenchmark({ ks: [24], seeds: [7], smoke: true })
  t.equal(result.runs.length, 1)
  const run = result.runs[0]
  if (run === undefined) return
  for (const side of [run.trackgate, run.roundRobin, run.previous, run.bestFixed, run.demand, ...run.fixed]) wellFormedSide(t, side, side.name)
  t.equal(run.partition, 800, 'the default poll partition: 0.8 of 1000')
  t.ok(run.trackgate.maxChecksIn24h <= run.partition, `trackgate: at most ${run.partition} checks in any 24 h (${run.trackgate.maxChecksIn24h})`)
  t.equal(run.trackgate.refusals, 0, 'trackgate: no check refused')
  t.equal(run.trackgate.createRefusals, 0, 'no creation refused')
  t.equal(run.trackgate.pooled.missed, 0, 'with room in the quota nothing is missed')
  t.ok(run.fixed.includes(run.bestFixed) && run.fixed.every((f) => f.pooled.p95Ms >= run.bestFixed.pooled.p95Ms), 'the best fixed interval is the one of lowest p95')
  t.equal(run.targets.length, 4)
  const svg = renderQuotaChart(result)
  t.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.match(svg, /K = 24/)
  t.ok(svg.trimEnd().endsWith('</svg>'))
})

t.test('under a quota far too small for the day, trackgate slows down instead of going over; the baseline runs out', async (t) => {
  const { shape, settings } = shapeFor(24, 7, true)
  const tiny = { ...settings, quotaLimit: 60, quotaReserve: 20, pollShare: 0.5 }
  t.equal(pollLimit(tiny), 30)
  const plan = planWorkload(shape)
  const tg = await runDay(plan, tiny, (ctx) => trackgateTracker(ctx, 7))
  t.ok(maxInWindow(tg.checkTimes, DAY) <= 30, `trackgate: at most 30 checks in 24 h (${maxInWindow(tg.checkTimes, DAY)})`)
  t.equal(tg.upstreamRefusals, 0, 'upstream never refused trackgate')
  t.equal(tg.simChecks, tg.checkTimes.length, 'every check counted by the tracker reached the simulator')
  t.same(tg.failures, [])
  const bl = await runDay(plan, tiny, (ctx) => fixedIntervalTracker(ctx))
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
  const plan = planWorkload(shape)
  t.same(plan, planWorkload(shape))
  t.not(JSON.stringify(plan), JSON.stringify(planWorkload({ ...shape, seed: 43 })))
  t.ok(plan.length > 40 && plan.length < 80, `about 20 orders a day over 3 days (${plan.length})`)
  const perDay = [0, 1, 2].map((d) => plan.filter((o) => o.createAt >= d * DAY && o.createAt < (d + 1) * DAY).length)
  t.ok(perDay.every((n) => n > 5), `orders keep arriving every day (${perDay.join(', ')})`)
  t.ok(plan.some((o) => o.payments.length === 0) && plan.some((o) => o.payments.length === 2), 'some orders unpaid, some paid in two parts')
  for (const order of plan) {
    t.ok(order.delaysMin.length >= 1 && order.delaysMin.length <= 3 && order.delaysMin.every((m) => m >= 0 && m <= 2880), 'outputs and delays within upstream rules')
  }
})

t.test('refresh ticks are off whole minutes, jittered, and found from any instant', async (t) => {
  const ticks = new RefreshTicks(0, 60_000, 23_456, 5000, 9)
  const first = [0, 1, 2, 3].map((n) => ticks.tick(n))
  t.ok(first.every((at, n) => at >= 23_456 + n * 60_000 && at < 23_456 + n * 60_000 + 5000), 'phase + jitter')
  t.ok(new Set(first.map((at) => (at - 23_456) % 60_000)).size > 1, 'the jitter varies')
  for (const at of first) {
    t.equal(ticks.lastTick(at), at)
    t.equal(ticks.lastTick(at - 1) < at, true)
    t.equal(ticks.nextTick(at - 1), at)
  }
})

t.test('kinds of change', async (t) => {
  const sig = (cs: number, rcv: string, funded: boolean, out: string): string => `cs=${cs}|rcv=${rcv}|funded=${String(funded)}|out=${out}`
  t.equal(changeKind(sig(0, '0', false, '0.0'), sig(1, '0.5', false, '0.0')), 'payment')
  t.equal(changeKind(sig(1, '1', true, '0.0'), sig(2, '1', true, '0.0')), 'deposit-confirmation')
  t.equal(changeKind(sig(2, '1', true, '0.0,0.0'), sig(2, '1', true, '0.0,2.0')), 'send')
  t.equal(changeKind(sig(2, '1', true, '2.0'), sig(2, '1', true, '2.1')), 'output-confirmation')
  t.equal(changeKind(sig(2, '1', true, '2.0'), 'GONE'), 'gone')
})
