import t from 'tap'
import { MemoryQuota } from '../../src/upstream/quota.js'
import { PollScheduler, PollUsage, SEND_SLACK_MS, backoffDelay, fairInterval, stateInterval, type PollTimings } from '../../src/tracking/scheduler.js'
import type { OrderStatus, TrackedOrder, TrackedOutput } from '../../src/tracking/status.js'

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
  }
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

t.test('fairInterval shares the budget equally', async (t) => {
  const day = 86_400_000
  t.equal(fairInterval(1, 950, day), Math.ceil(day / 950), 'one poller may use the whole budget over the window')
  t.equal(fairInterval(10, 950, day), Math.ceil(10 * day / 950))
  t.equal(fairInterval(10, 0, day), 10 * day, 'an empty budget counts as 1')
  t.equal(fairInterval(0, 950, day), 0)
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

t.test('PollScheduler stretches intervals fairly when the quota cannot serve everyone', async (t) => {
  let now = NOW
  let pollers = 1
  const quota = new MemoryQuota({ limit: 100, reserve: 10, windowMs: 3_600_000, now: () => now })
  const scheduler = new PollScheduler({ timings: { pollIntervalMs: 1000, pollWaitingPaymentMs: 1000, pollMaxIntervalMs: 60_000 }, quota, windowMs: 3_600_000, activePollers: () => pollers, now: () => now })
  const confirming = order('Confirming')
  t.equal(await scheduler.pollBudget(), 90)
  t.equal(await scheduler.afterSuccess(confirming, now), 40_000, 'one poller: 90 checks an hour → every 40 s, not every second')

  // The REST pass-through used 30 slots; pollers 15 (recorded as theirs).
  for (let i = 0; i < 30; i++) await quota.tryAcquire('rest')
  for (let i = 0; i < 15; i++) {
    t.ok((await quota.tryAcquire('poll')).granted)
    scheduler.usage.record(now)
  }
  t.equal(await scheduler.pollBudget(), 60, 'the budget excludes what others used, not what pollers used')
  pollers = 6
  t.equal(await scheduler.afterSuccess(confirming, now), 360_000, '6 pollers share 60 checks an hour: one each per 6 min')
  t.equal(await scheduler.afterSuccess(order('Done'), now), null)

  now += 3_600_000
  t.equal(await scheduler.pollBudget(), 90, 'the window frees')
})

t.test('PollScheduler: refusals wait for the window, failures back off', async (t) => {
  const now = NOW
  const quota = new MemoryQuota({ limit: 10, reserve: 1, now: () => now })
  const scheduler = new PollScheduler({ timings: TIMINGS, quota, windowMs: 86_400_000, activePollers: () => 1, now: () => now, random: () => 0.5 })
  t.equal(scheduler.afterRefusal(now + 10_000), 10_000 + 15_000 + 1, 'until retryAt, plus up to half an interval of jitter')
  t.equal(scheduler.afterRefusal(now - 10), 15_001)
  t.equal(scheduler.afterFailure(2), 90_000)
  t.equal(await scheduler.pausedUntil(), 0)
  await quota.pause(now + 5000)
  t.equal(await scheduler.pausedUntil(), now + 5000)
})
