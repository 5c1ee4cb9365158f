import t from 'tap'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import { BURST_KEEP_FRACTION, PollScheduler, PollUsage, SEND_SLACK_MS, SPEND_HORIZON_FRACTION, allowedRate, backoffDelay, stateInterval, stretchFactor, type PollTimings } from '../../src/tracking/scheduler.js'
import type { OrderStatus, TrackedOrder, TrackedOutput } from '../../src/tracking/schemas.js'

const TIMINGS: PollTimings = { pollIntervalMs: 60_000, pollWaitingPaymentMs: 90_000, pollMaxIntervalMs: 900_000 }
const NOW = 1_755_441_793_000
const S = Math.floor(NOW / 1000)

function order (status: OrderStatus, outputs: Array<Partial<TrackedOutput>> = [], deleteAt: number | null = S + 100_000): TrackedOrder {
  return {
    trackcode: '6A5FB3BA8A150EC9',
    type: 'mixer',
    status,
    version: 1,
    updated_at: S,
    deposit: { confirm_status: 2, delete_at: deleteAt },
    status_reason: null,
    outputs: outputs.map((o, i) => ({ index: i + 1, state: 1, confirm: 0, send_at: null, ...o }))
  } as TrackedOrder // only the fields the scheduler reads
}

t.test('stateInterval: slow while waiting for payment, watchful while confirming', async (t) => {
  t.equal(stateInterval(order('WaitingForPayment'), NOW, TIMINGS), 90_000)
  t.equal(stateInterval(order('Confirming'), NOW, TIMINGS), 60_000)
  t.equal(stateInterval(order('Done'), NOW, TIMINGS), null)
  t.equal(stateInterval(order('Gone'), NOW, TIMINGS), null)
})

t.test('stateInterval: a funded order sleeps until its next send time', async (t) => {
  t.equal(stateInterval(order('WaitingForDelivery', [{ state: 1, send_at: S + 300 }, { state: 1, send_at: S + 200 }]), NOW, TIMINGS), 200_000 + SEND_SLACK_MS, 'the earliest pending output, plus slack')
  t.equal(stateInterval(order('WaitingForDelivery', [{ state: 1, send_at: S + 7200 }]), NOW, TIMINGS), 900_000, 'capped at pollMaxIntervalMs')
  t.equal(stateInterval(order('WaitingForDelivery', [{ state: 1, send_at: S + 5 }]), NOW, TIMINGS), 60_000, 'never below pollIntervalMs')
  t.equal(stateInterval(order('WaitingForDelivery', [{ state: 1, send_at: S - 30 }]), NOW, TIMINGS), 60_000, 'a send time past (upstream not refreshed yet)')
  t.equal(stateInterval(order('WaitingForDelivery', [{ state: 2, confirm: 0, send_at: S - 30 }, { state: 1, send_at: S + 7200 }]), NOW, TIMINGS), 60_000, 'a sent output awaits its confirmation')
  t.equal(stateInterval(order('WaitingForDelivery', [{ state: 2, confirm: 1, send_at: S - 30 }, { state: 1, send_at: S + 600 }]), NOW, TIMINGS), 600_000 + SEND_SLACK_MS, 'confirmed outputs do not count')
  t.equal(stateInterval(order('WaitingForDelivery', []), NOW, TIMINGS), 60_000, 'no send time known')
})

t.test('stateInterval: never sleeps past the end of the retention', async (t) => {
  t.equal(stateInterval(order('WaitingForPayment', [], S + 70), NOW, TIMINGS), 70_000 + SEND_SLACK_MS)
  t.equal(stateInterval(order('WaitingForPayment', [], S + 1), NOW, TIMINGS), 60_000, 'but not below pollIntervalMs')
  t.equal(stateInterval(order('WaitingForPayment', [], null), NOW, TIMINGS), 90_000)
})

t.test('allowedRate: a burst while the window has room, never less than the sustainable rate, 0 when full', async (t) => {
  const day = 86_400_000
  const horizon = day * SPEND_HORIZON_FRACTION
  const kept = 950 * BURST_KEEP_FRACTION
  t.equal(allowedRate(950, 950, day), (950 - kept) / horizon, 'fresh: what exceeds the kept part, over the horizon')
  t.ok(allowedRate(950, 950, day) * 3_600_000 > 100, 'about 119 checks an hour with the default quota')
  t.equal(allowedRate(kept, 950, day), 0, 'no burst once only the kept part is left…')
  t.equal(allowedRate(kept, 950, day, 950 / day), 950 / day, '…then the sustainable rate')
  t.equal(allowedRate(900, 950, day, 1), 1, 'whichever is larger')
  t.equal(allowedRate(0, 950, day, 0), 0, 'a full window with nothing leaving it allows nothing')
  t.equal(allowedRate(-5, 950, day), 0, 'never negative')
  t.equal(allowedRate(950, 950, 0), 0, 'a degenerate window allows nothing')
})

t.test('stretchFactor: one factor, ≥ 1, from demand and allowance', async (t) => {
  t.equal(stretchFactor(0, 0), 1, 'no demand: nothing to stretch')
  t.equal(stretchFactor(1, 2), 1, 'demand within the allowance: desired intervals as they are')
  t.equal(stretchFactor(3, 1.5), 2)
  t.equal(stretchFactor(1, 0), Infinity, 'nothing allowed')
})

t.test('PollUsage.sustainableRate: what the window can keep up, given when checks leave it', async (t) => {
  const usage = new PollUsage(1000)
  t.equal(usage.sustainableRate(0, 1000, 10), 10 / 1000, 'an empty window: the free checks spread over a window')
  for (let at = 0; at < 1000; at += 100) usage.record(at)
  // 10 checks spread evenly, none free: one leaves every 100 ms.
  t.equal(usage.sustainableRate(999, 1000, 0), 0, 'nothing free and the next check leaves only later: nothing')
  t.equal(usage.sustainableRate(1000, 1000, 1), 10 / 1000, 'one free as the oldest left, one leaving every 100 ms: the budget over the window')
  const burst = new PollUsage(1000)
  for (let i = 0; i < 10; i++) burst.record(0)
  t.equal(burst.sustainableRate(500, 1000, 2), 2 / 500, 'a burst leaves all at once: until then only the free checks, spread until it leaves')
  t.ok(burst.sustainableRate(500, 1000, 2) < usage.sustainableRate(1000, 1000, 2), 'less than with checks spread evenly')
})

t.test('backoffDelay: exponential, jittered, bounded', async (t) => {
  const lo = (): number => 0
  const hi = (): number => 0.9999999999
  t.equal(backoffDelay(1, TIMINGS, hi), 60_000, 'the first retry after one interval')
  t.equal(backoffDelay(2, TIMINGS, lo), 60_000)
  t.equal(backoffDelay(2, TIMINGS, hi), 120_000)
  t.equal(backoffDelay(3, TIMINGS, hi), 240_000)
  t.equal(backoffDelay(10, TIMINGS, hi), 900_000, 'capped at pollMaxIntervalMs')
  t.equal(backoffDelay(1000, TIMINGS, hi), 900_000, 'huge failure counts do not overflow')
  const draws = new Set(Array.from({ length: 50 }, () => backoffDelay(5, TIMINGS)))
  t.ok(draws.size > 10, 'jitter spreads retries')
  for (const d of draws) t.ok(d >= 60_000 && d <= 900_000)
})

t.test('PollUsage counts checks in the rolling window', async (t) => {
  const usage = new PollUsage(1000)
  usage.record(0)
  usage.record(500)
  usage.record(900)
  t.equal(usage.count(900), 3)
  t.equal(usage.count(1000), 2, 'a check leaves the window after windowMs')
  t.equal(usage.count(2000), 0)
  for (let i = 0; i < 3000; i++) usage.record(3000 + i)
  t.equal(usage.count(5999), 1000, 'old entries are compacted, counts stay right')
})

t.test('PollScheduler: one order with a fresh quota gets its desired interval', async (t) => {
  const now = NOW
  const quota = new MemoryQuota({ limit: 1000, reserve: 50, now: () => now })
  const scheduler = new PollScheduler({ timings: TIMINGS, quota, now: () => now })
  const poller = {}
  t.equal(await scheduler.afterSuccess(order('Confirming'), now, poller), TIMINGS.pollIntervalMs, 'every POLL_INTERVAL_MS, not every 24 h ÷ 950')
  t.equal(await scheduler.afterSuccess(order('WaitingForPayment'), now, poller), TIMINGS.pollWaitingPaymentMs)
  t.equal(scheduler.pollers, 1)
  t.equal(await scheduler.afterSuccess(order('Done'), now, poller), null)
  t.equal(scheduler.pollers, 0, 'a finished order asks for nothing more')
  t.equal(scheduler.demandRate(), 0)
})

t.test('PollScheduler stretches every desired interval by the same factor when the demand is more than allowed', async (t) => {
  let now = NOW
  // Partitions: poll 90, create 10, rest 0.
  const quota = new MemoryQuota({ limit: 100, reserve: 10, pollShare: 0.9, windowMs: 3_600_000, now: () => now })
  const timings = TIMINGS
  const scheduler = new PollScheduler({ timings, quota, now: () => now })
  const confirming = order('Confirming')
  const waiting = order('WaitingForPayment')
  const pollers = Array.from({ length: 8 }, () => ({}))
  for (const [i, p] of pollers.entries()) await scheduler.afterSuccess(i % 2 === 0 ? confirming : waiting, now, p)
  const budget = await scheduler.budget()
  t.equal(budget.budget, 90)
  const demand = scheduler.demandRate()
  t.ok(Math.abs(demand - (4 / 60_000 + 4 / 90_000)) < 1e-15, 'the demand is Σ 1 ÷ desired')
  const s = demand / budget.allowedRate
  t.ok(s > 1, 'the demand exceeds what is allowed')
  const a = await scheduler.afterSuccess(confirming, now, pollers[0] as object) as number
  const b = await scheduler.afterSuccess(waiting, now, pollers[1] as object) as number
  t.equal(a, Math.ceil(60_000 * s), 'desired × s')
  t.equal(b, Math.ceil(90_000 * s), 'the same s for a poller that desires another interval')
  t.equal(scheduler.lastStretch, s)

  // Changed with the strict partitions (issue 10): the REST side no longer shares the
  // pollers' budget; what reduces it is the poll partition's use by other instances'
  // pollers. Here: another instance's pollers take 30 slots, this one's 15 (recorded as theirs).
  for (let i = 0; i < 30; i++) await quota.tryAcquire('poll')
  for (let i = 0; i < 15; i++) {
    t.ok((await quota.tryAcquire('poll')).granted)
    scheduler.usage.record(now)
  }
  t.equal((await quota.tryAcquire('rest')).granted, false, 'REST calls have no slot in the pollers\' partition')
  const later = await scheduler.budget()
  t.equal(later.budget, 60, 'the poll budget excludes what other instances\' pollers used, not what this one\'s used')
  t.equal(later.used, 15)
  t.equal(later.headroom, 45)
  t.ok(later.allowedRate < budget.allowedRate, 'less is allowed as the window fills')
  t.ok(await scheduler.afterSuccess(confirming, now, pollers[0] as object) as number > a, 'so intervals stretch further')

  // Sleeping pollers (a send time hours away) ask for little.
  const sleeper = order('WaitingForDelivery', [{ state: 1, send_at: Math.floor(now / 1000) + 7200 }])
  const before = scheduler.demandRate()
  await scheduler.afterSuccess(sleeper, now, {})
  t.ok(Math.abs(scheduler.demandRate() - before - 1 / timings.pollMaxIntervalMs) < 1e-15, 'a sleeper adds 1 ÷ its safety-net interval, 1/15 of an active poller')

  // Pollers that stop take their demand with them.
  for (const p of pollers) scheduler.dropDemand(p)
  t.equal(scheduler.pollers, 1)

  now += 3_600_000
  const freed = await scheduler.budget()
  t.equal(freed.budget, 90, 'the window frees')
  t.equal(freed.headroom, 90)
  t.equal(await scheduler.afterSuccess(confirming, now, pollers[0] as object), timings.pollIntervalMs, 'and pollers are back to their desired interval')
})

t.test('PollScheduler: a full window stretches to at most one window; a lone check counts as one poller', async (t) => {
  const now = NOW
  const quota = new MemoryQuota({ limit: 100, reserve: 1, windowMs: 3_600_000, now: () => now })
  const scheduler = new PollScheduler({ timings: TIMINGS, quota, now: () => now })
  t.equal(await scheduler.afterSuccess(order('Confirming'), now), TIMINGS.pollIntervalMs, 'no poller registered: the caller alone')
  t.equal(scheduler.pollers, 0, 'nothing registered without a poller')
  t.ok(await scheduler.hasHeadroom())
  // Changed with the strict partitions (issue 10): the REST side filling its own partition
  // leaves the pollers' headroom; another instance filling the poll partition does not.
  for (let i = 0; i < 99; i++) await quota.tryAcquire('rest')
  t.equal((await scheduler.budget()).headroom, 50, 'REST calls leave the poll partition (50) untouched')
  for (let i = 0; i < 50; i++) await quota.tryAcquire('poll')
  t.equal((await scheduler.budget()).headroom, 0)
  t.notOk(await scheduler.hasHeadroom())
  t.equal(await scheduler.afterSuccess(order('Confirming'), now, {}), 3_600_000, 'nothing allowed: planned one window away (re-planned as the window frees)')
  t.equal(scheduler.lastStretch, Infinity)
})

t.test('PollScheduler reads the window from the quota, unless told', async (t) => {
  const now = NOW
  const quota = new MemoryQuota({ limit: 10, reserve: 1, windowMs: 60_000, now: () => now })
  t.equal((await quota.state()).windowMs, 60_000, 'the quota reports its window')
  t.equal((await new PollScheduler({ timings: TIMINGS, quota, now: () => now }).budget()).windowMs, 60_000)
  t.equal((await new PollScheduler({ timings: TIMINGS, quota, now: () => now, windowMs: 5000 }).budget()).windowMs, 5000)
  const { windowMs: _w, ...legacyState } = await quota.state()
  const legacy = { ...quota, tryAcquire: quota.tryAcquire.bind(quota), pause: quota.pause.bind(quota), state: async () => legacyState }
  t.equal((await new PollScheduler({ timings: TIMINGS, quota: legacy, now: () => now }).budget()).windowMs, 86_400_000, 'a store that does not report it: 24 h')
})

t.test('PollScheduler: refusals wait for the window, failures back off', async (t) => {
  const now = NOW
  const quota = new MemoryQuota({ limit: 10, reserve: 1, now: () => now })
  const scheduler = new PollScheduler({ timings: TIMINGS, quota, now: () => now, random: () => 0.5 })
  t.equal(scheduler.afterRefusal(now + 10_000), 10_000 + 15_000 + 1, 'until retryAt, plus up to half an interval of jitter')
  t.equal(scheduler.afterRefusal(now - 10), 15_001)
  t.equal(scheduler.afterFailure(2), 90_000)
  t.equal(await scheduler.pausedUntil(), 0)
  await quota.pause(now + 5000)
  t.equal(await scheduler.pausedUntil(), now + 5000)
})
