/**
 * The daily quota: strict partitions for the pollers, order creation and the rest, fair
 * shares when the pollers' is short, and never exceeded. (How the shares are
 * computed is proven in virtual time in fair-share.test.ts; here the whole gateway.)
 */
import t from 'tap'
import { createManualClock, createScaledClock } from '../../src/simulator/index.js'
import { derivedClock } from '../../src/tracking/clock.js'
import { type QuotaBudget } from '../../src/state/quota/index.js'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import { T0, createOrder, SIM_KEY } from '../helpers/fixtures.js'
import { isSnapshot, isTracking, openRaw, type RawStream } from '../helpers/sse-reader.js'
import { waitFor } from '../helpers/wait-for.js'
import { build } from '../helpers/build.js'

/** Other keys, so creating orders does not use the gateway key's upstream quota. */
const CREATORS = ['creator-key-0123456789', 'creator-key-9876543210']
const HOUR = 3_600_000

t.test('a small quota is never exceeded, however many orders are tracked', async (t) => {
  const s = await build(t, {
    clock: 'manual',
    fast: true,
    // Partitions: create 2, poll 2, rest 6. The orders are created elsewhere (other keys),
    // so the gateway does not know them: their first checks are the subscribers', out of
    // `rest` (changed with issue 10: they were `poll` checks of the general part, 8).
    config: { dailyQuota: 10, quotaReserve: 2, quotaPollShare: 0.2 },
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
  t.equal(streaming.length, 6, 'the rest partition (10 − 2 reserved − 2 for pollers) serves 6 first checks')
  t.equal(refused.length, 6)
  for (const r of refused) {
    t.match(await r.res.json(), { ok: false, code: 'TOO_MANY_REQUESTS' })
    t.match(r.res.headers.get('retry-after'), /^\d+$/, 'with Retry-After')
  }
  const poll = await fetch(`${s.url}/orders/${refused[0]?.code ?? ''}`)
  t.equal(poll.status, 429, 'the polling fallback is refused too')

  // Pollers now share a budget of 2 checks a day: none checks again for hours.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const stats = s.sim.control.stats()
  t.equal(stats.byRoute['POST /v1/orders/check'], 6, 'exactly the checks the quota allows')
  t.notOk('429' in stats.byStatus, 'upstream never had to refuse')
  t.equal(stats.quotaUsed[SIM_KEY], 6)
  t.equal((await s.app.state.quota.state()).used, 6)
  t.ok((await s.app.state.quota.tryAcquire('create')).granted, 'the reserve is still there for order creation')
  for (const a of streaming) await a.res.body?.cancel()
})

t.test('when the quota is short, pollers are slowed down and none is refused', async (t) => {
  // A scaled clock (one real second is ten simulated minutes), shared by the simulator,
  // the quota and the tracker: two simulated hours pass in about twelve seconds.
  const SCALE = 600
  const clock = createScaledClock(SCALE, T0)
  // The pollers' partition is 20 an hour; the subscribers' first checks (orders the gateway
  // did not create) come out of the other half.
  const memory = new MemoryQuota({ limit: 40, reserve: 0, pollShare: 0.5, windowMs: HOUR, now: () => clock.now() })
  let refused = 0
  let maxUsed = 0
  const quota: QuotaBudget = {
    tryAcquire: async (purpose) => {
      const decision = await memory.tryAcquire(purpose)
      if (!decision.granted) refused++
      maxUsed = Math.max(maxUsed, (await memory.state()).partitions.poll.used)
      return decision
    },
    pause: async (until) => { await memory.pause(until) },
    state: async () => await memory.state()
  }
  // Minute-scale polling, so that 4 orders want 4 checks a simulated minute: 240 an
  // hour, for a quota of 20 an hour.
  const { sim, app, url, checks } = await build(t, {
    fast: true,
    sim: { clock },
    config: { pollIntervalMs: 60_000, pollWaitingPaymentMs: 60_000, pollMaxIntervalMs: 900_000 },
    app: { state: { quota }, tracking: { clock: derivedClock(() => clock.now(), SCALE) } }
  })
  const streams: RawStream[] = []
  for (let i = 0; i < 4; i++) {
    const code = await createOrder(sim)
    const stream = await openRaw(`${url}/orders/${code}/subscribe`)
    await stream.next(isSnapshot)
    streams.push(stream)
  }
  const start = clock.now()
  await waitFor(() => clock.now() >= start + 2 * HOUR, 'two simulated hours', 120_000)
  t.equal(refused, 0, 'the spacing alone kept the pollers within the quota: no slot was ever refused')
  t.ok(maxUsed <= 20, `the rolling window never held more than the pollers' partition (max ${maxUsed})`)
  t.ok(checks() > 8, `polling went on (${checks()} checks)`)
  // The run spans a little more than two windows (the first checks came before it).
  t.ok(checks() <= 60, `within what three windows allow (${checks()} checks), not the 480 the orders wanted`)
  t.ok(app.allocator.state().budget.used <= 20, 'the allocator saw the partition as it is')
  t.ok(streams.every((st) => !st.events.some(isTracking)), 'nobody was ever degraded')
  for (const st of streams) st.close()
})

t.test('a refused check degrades tracking until the window frees', async (t) => {
  // The pollers are shown a huge quota while the store enforces 4 (as when a store's
  // state misreports its limit): they plan checks the real quota refuses.
  const clock = createManualClock(T0)
  // Partitions: create 1, poll 3, rest 0.
  const memory = new MemoryQuota({ limit: 4, reserve: 1, pollShare: 0.75, windowMs: HOUR, now: () => clock.now() })
  const quota: QuotaBudget = {
    tryAcquire: async (purpose) => await memory.tryAcquire(purpose),
    pause: async (until) => { await memory.pause(until) },
    state: async () => {
      const state = await memory.state()
      return { ...state, limit: 10_000_000, partitions: { ...state.partitions, poll: { limit: 10_000_000, used: state.partitions.poll.used, remaining: 10_000_000 } } }
    }
  }
  const s = await build(t, { clock, fast: true, app: { state: { quota } } })
  // Known to the gateway (as if created through it): every check is a `poll`.
  const code = await createOrder(s.sim)
  await s.app.state.orders.remember(code, { source: 'created', by: 'ip:127.0.0.1', since: Date.now() }, HOUR)
  const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await stream.next(isSnapshot)
  const degraded = await stream.next(isTracking)
  const state = JSON.parse(degraded.data ?? '') as { state: string, reason: string }
  t.same([state.state, state.reason], ['degraded', 'QUOTA_EXHAUSTED'])
  t.equal(s.checks(), 3, 'the poll partition (3) was used, and not one call more')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(s.checks(), 3, 'refused checks make no call')

  clock.advance(HOUR)
  const live = await stream.next((e) => isTracking(e) && (JSON.parse(e.data ?? '') as { state: string }).state === 'live')
  t.ok(live, 'live again once the window frees')
  t.ok(s.checks() >= 4)
  stream.close()
})
