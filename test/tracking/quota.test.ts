/**
 * The daily quota: shared with the REST pass-through, a reserve kept for order
 * creation, fair shares when it is short, and never exceeded.
 */
import t from 'tap'
import { createManualClock } from '../../src/simulator/index.js'
import { MemoryQuota } from '../../src/upstream/quota.js'
import { SIM_KEY } from '../helpers/harness.js'
import { T0, createOrder, isSnapshot, isTracking, openRaw, startTrackingStack, waitFor, type RawStream } from './fixtures/helpers.js'

/** Other keys, so creating orders does not use the gateway key's upstream quota. */
const CREATORS = ['creator-key-0123456789', 'creator-key-9876543210']
const HOUR = 3_600_000

t.test('a small quota is never exceeded, however many orders are tracked', async (t) => {
  const s = await startTrackingStack(t, {
    config: { dailyQuota: 10, quotaReserve: 2 },
    // Upstream's own quota for the key is 10 as well: any overshoot would be a 429 there.
    sim: { apiKeys: [SIM_KEY, ...CREATORS], dailyQuota: 10 }
  })
  const codes: string[] = []
  for (let i = 0; i < 12; i++) codes.push(await createOrder(s.sim, CREATORS[i % 2]))

  const answers = await Promise.all(codes.map(async (code) => {
    const res = await fetch(`${s.url}/orders/${code}/subscribe`, { headers: { accept: 'text/event-stream' } })
    return { code, res }
  }))
  const streaming = answers.filter((a) => a.res.status === 200)
  const refused = answers.filter((a) => a.res.status === 429)
  t.equal(streaming.length, 8, 'the general part of the quota (10 − 2 reserved) serves 8 first checks')
  t.equal(refused.length, 4)
  for (const r of refused) {
    t.match(await r.res.json(), { ok: false, code: 'TOO_MANY_REQUESTS' })
    t.match(r.res.headers.get('retry-after'), /^\d+$/, 'with Retry-After')
  }
  const poll = await fetch(`${s.url}/orders/${refused[0]?.code ?? ''}`)
  t.equal(poll.status, 429, 'the polling fallback is refused too')

  // Pollers now share a budget of 8 checks a day: none checks again for hours.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const stats = s.sim.control.stats()
  t.equal(stats.byRoute['POST /v1/orders/check'], 8, 'exactly the checks the quota allows')
  t.notOk('429' in stats.byStatus, 'upstream never had to refuse')
  t.equal(stats.quotaUsed[SIM_KEY], 8)
  t.equal((await s.app.quota.state()).used, 8)
  t.ok((await s.app.quota.tryAcquire('create')).granted, 'the reserve is still there for order creation')
  for (const a of streaming) await a.res.body?.cancel()
})

t.test('when the quota is short, every poller is slowed by the same factor and none is refused', async (t) => {
  const clock = createManualClock(T0)
  const quota = new MemoryQuota({ limit: 21, reserve: 1, windowMs: HOUR, now: () => clock.now() })
  const s = await startTrackingStack(t, { clock, quota, tracking: { quotaWindowMs: HOUR } })
  const streams: RawStream[] = []
  for (let i = 0; i < 4; i++) {
    const code = await createOrder(s.sim)
    const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
    await stream.next(isSnapshot)
    streams.push(stream)
  }
  t.equal(s.checks(), 4)
  // 4 pollers share 20 checks an hour: one check each every 12 minutes (not every 100 ms).
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.equal(s.checks(), 4, 'no poller checks before its fair interval')
  for (let step = 1; step <= 6; step++) {
    clock.advance(12 * 60_000)
    await waitFor(() => s.checks() >= 4 + 4 * step, `step ${step}: one check per poller`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    t.equal(s.checks(), 4 + 4 * step, `step ${step}: exactly one check per poller`)
  }
  t.ok(streams.every((st) => !st.events.some(isTracking)), 'nobody was ever refused or degraded')
  t.ok((await quota.state()).used <= 20, 'the rolling window never held more than the general quota')
  for (const st of streams) st.close()
})

t.test('a refused check degrades tracking until the window frees', async (t) => {
  // The pollers are told the window is 1 s while it is an hour: they plan too many
  // checks, as when another gateway shares the key without sharing the quota store.
  const clock = createManualClock(T0)
  const quota = new MemoryQuota({ limit: 4, reserve: 1, windowMs: HOUR, now: () => clock.now() })
  const s = await startTrackingStack(t, { clock, quota, tracking: { quotaWindowMs: 1000 } })
  const code = await createOrder(s.sim)
  const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await stream.next(isSnapshot)
  const degraded = await stream.next(isTracking)
  const state = JSON.parse(degraded.data ?? '') as { state: string, reason: string }
  t.same([state.state, state.reason], ['degraded', 'QUOTA_EXHAUSTED'])
  t.equal(s.checks(), 3, 'the general quota (4 − 1) was used, and not one call more')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(s.checks(), 3, 'refused checks make no call')

  clock.advance(HOUR)
  const live = await stream.next((e) => isTracking(e) && (JSON.parse(e.data ?? '') as { state: string }).state === 'live')
  t.ok(live, 'live again once the window frees')
  t.ok(s.checks() >= 4)
  stream.close()
})
