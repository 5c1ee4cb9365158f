/**
 * The poll allocator in virtual time: the real allocator, pollers, refresher, rolling
 * quota and simulator on one virtual clock (upstream refreshing once a minute, off the
 * whole minute). Nothing here depends on real time: every check happens at the virtual
 * instant it was decided.
 */
import t, { type Test } from 'tap'
import { GatewayError } from '../../src/errors.js'
import { buildSimulator } from '../../src/simulator/index.js'
import { MemoryBus } from '../../src/state/bus/memory.js'
import { MemoryLeaseStore } from '../../src/state/leases/memory.js'
import { MemoryOrderRegistry } from '../../src/state/orders/memory.js'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import { MemorySnapshotStore } from '../../src/state/snapshots/memory.js'
import { Allocator } from '../../src/tracking/allocator.js'
import { pollPartition } from '../../src/tracking/index.js'
import { Poller } from '../../src/tracking/poller.js'
import { Refresher, type CheckFn } from '../../src/tracking/refresher.js'
import type { TrackedOrder } from '../../src/tracking/schemas.js'
import { BTC_A, BTC_B } from '../helpers/fixtures.js'
import { silentLogger } from '../helpers/silent-logger.js'
import { VirtualClock } from '../helpers/virtual-clock.js'

const T0 = Date.UTC(2025, 7, 20, 16, 0, 0)
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const KEY = 'allocator-test-key'
const TIMINGS = { pollIntervalMs: MINUTE, pollWaitingPaymentMs: 90_000, pollMaxIntervalMs: 15 * MINUTE }

interface Call { code: string, at: number, funded: boolean, sent: boolean, first: boolean }

/** Who pays a subscriber's first check of an order the gateway does not know. */
const SUBSCRIBER = { id: 'ip:203.0.113.7', limit: 1_000_000 }

async function world (t: Test, opts: { limit: number, windowMs?: number }) {
  const clock = new VirtualClock(T0 + 46_300)
  // Upstream refreshes 17.3 s past each minute (the allocator has to learn it); orders
  // are created off its ticks.
  const sim = await buildSimulator({ apiKeys: [KEY], dailyQuota: 10_000_000, clock: { now: () => clock.now() - 17_300 }, refreshIntervalMs: MINUTE, timing: { confirmMs: 2 * MINUTE, outputConfirmMs: 3 * MINUTE } })
  t.teardown(async () => { await sim.app.close() })
  // The pollers' partition is `opts.limit`; a subscriber's first check comes out of the
  // rest, as the gateway charges the first check of an order it does not know.
  const quota = new MemoryQuota({ limit: 2 * opts.limit, reserve: 0, pollShare: 0.5, windowMs: opts.windowMs ?? 24 * HOUR, now: () => clock.now() })
  const calls: Call[] = []
  let refusals = 0
  const check: CheckFn = async (code, _signal, _retry, payer) => {
    const decision = await quota.tryAcquire(payer === undefined ? 'poll' : 'rest')
    if (!decision.granted) {
      refusals++
      throw new GatewayError(429, 'TOO_MANY_REQUESTS', 'quota', { headers: { 'retry-after': String(Math.ceil((decision.retryAt - clock.now()) / 1000)) } })
    }
    const at = clock.now()
    const res = await clock.track(sim.app.inject({ method: 'POST', url: '/v1/orders/check', headers: { authorization: `Bearer ${KEY}` }, payload: { trackcode: code, outputs: 'full', mask_addresses: true } }))
    const body = res.json() as { deposit?: { funding?: { can_start?: boolean } }, outputs?: Array<{ state: number }> }
    calls.push({ code, at, funded: body.deposit?.funding?.can_start === true, sent: body.outputs?.[0]?.state === 2, first: payer !== undefined })
    return { statusCode: res.statusCode, raw: res.rawPayload, body: res.json() }
  }
  const store = new MemorySnapshotStore({ now: () => clock.now() })
  const bus = new MemoryBus()
  const known = new MemoryOrderRegistry({ now: () => clock.now() })
  const refresher = new Refresher({
    check,
    store,
    bus,
    clock,
    pausedUntil: async () => 0,
    retryMs: { refused: MINUTE, rateLimited: 15 * MINUTE },
    onChecked: (code, order, sentAt) => { allocator.observe(code, order, sentAt) },
    notFoundCacheMs: HOUR,
    snapshotTtlMs: 72 * HOUR,
    log: silentLogger
  })
  const lease = new MemoryLeaseStore(() => clock.now())
  const shutdown = new AbortController()
  // The refresher (above) shows the allocator every check made.
  const allocator: Allocator = new Allocator({
    partition: pollPartition(quota),
    clock,
    timings: TIMINGS,
    known,
    stored: async (code) => await store.get(code),
    log: silentLogger,
    executor: (code, initial) => new Poller({ trackcode: code, refresher, bus, lease, owner: 'gw', clock, timings: TIMINGS, signal: shutdown.signal, log: silentLogger, random: () => 0.5 }, initial)
  })
  const alloc = allocator
  t.teardown(() => { alloc.close(); shutdown.abort() })
  return {
    clock,
    sim,
    allocator: alloc,
    known,
    calls,
    refusals: () => refusals,
    async create (delaysMin: number[]): Promise<string> {
      const res = await sim.app.inject({
        method: 'POST',
        url: '/v1/mixer/orders',
        headers: { authorization: `Bearer ${KEY}` },
        payload: { action: 'create_order', addresses: delaysMin.map((d, i) => ({ address: [BTC_A, BTC_B][i], percent: delaysMin.length === 1 ? '100' : '50', delay: String(d) })), amount: '1.00000000', crypto: 'btc', network: 'btc' }
      })
      return (res.json() as { trackcode: string }).trackcode
    },
    /** A subscriber's way in: one check, then the allocator follows the order. */
    async follow (code: string): Promise<void> {
      const first = await clock.track(refresher.refresh(code, { payer: SUBSCRIBER }))
      if (first.kind !== 'snapshot') throw new Error(`first check failed: ${first.kind}`)
      alloc.follow(code, first.snapshot, () => {})
    },
    /**
     * The way in of an order the gateway knows (created through it): the hub's first
     * check is a `poll`, charged to the allocator's first-look reserve. False when refused.
     */
    async followPolled (code: string): Promise<boolean> {
      alloc.chargeFirstLook(code)
      const first = await clock.track(refresher.refresh(code, {}))
      if (first.kind !== 'snapshot') return false
      alloc.follow(code, first.snapshot, () => {})
      return true
    },
    async latest (code: string): Promise<TrackedOrder | undefined> {
      return (await store.get(code))?.order
    },
    checksOf (code: string, from = 0, to = Infinity): number[] {
      return calls.filter((c) => c.code === code && c.at >= from && c.at < to).map((c) => c.at)
    },
    /** The first check of `code` that showed `what`. */
    firstShowing (code: string, what: 'funded' | 'sent'): number {
      return calls.find((c) => c.code === code && c[what])?.at ?? Infinity
    }
  }
}

t.test('a planned send is checked once, just after the refresh that follows it, and not polled before', async (t) => {
  const w = await world(t, { limit: 500 })
  const codes: string[] = []
  // Several orders, so the refresh phase is learned from the first sends.
  for (let i = 0; i < 6; i++) codes.push(await w.create([10 + 7 * i]))
  for (const code of codes) {
    await w.follow(code)
    w.sim.control.pay(code)
  }
  await w.clock.runUntil(T0 + 2 * HOUR)
  t.equal(w.refusals(), 0)
  let looks = 0
  for (const code of codes) {
    const order = await w.latest(code)
    const sendAt = (order?.outputs[0]?.send_at ?? 0) * 1000
    const funded = w.firstShowing(code, 'funded')
    const seen = w.firstShowing(code, 'sent')
    t.ok(sendAt > 0 && funded < sendAt - 5 * MINUTE, `${code}: funded well before its send`)
    t.same(w.checksOf(code, funded + 1, sendAt), [], `${code}: no check between the deposit seen confirmed and the planned send`)
    looks += w.checksOf(code, sendAt, seen + 1).length
    const tick = Math.ceil((sendAt - 17_300) / MINUTE) * MINUTE + 17_300
    t.ok(seen - tick >= 0 && seen - tick <= 5_000, `${code}: the send is seen within seconds of upstream's refresh (${(seen - tick) / 1000} s)`)
    t.equal(order?.status, 'Done', `${code}: followed to Done`)
  }
  // One look per send, plus at most a binary search over the phase's 60 candidates.
  t.ok(looks <= codes.length + 6, `${looks} looks for ${codes.length} sends`)
  t.ok(w.allocator.phase.uncertainty() < 0.2, `the refresh phase was learned (${w.allocator.phase.uncertainty()})`)
})

t.test('many orders within a small partition: never over it, never refused', async (t) => {
  const w = await world(t, { limit: 40, windowMs: HOUR })
  const codes: string[] = []
  for (let i = 0; i < 30; i++) {
    await w.clock.runUntil(T0 + i * 2 * MINUTE + 1234)
    const code = await w.create([i % 3 === 0 ? 5 : 90])
    codes.push(code)
    await w.follow(code)
    if (i % 4 !== 0) w.clock.at(w.clock.now() + (5 + i) * MINUTE, () => { w.sim.control.pay(code) })
  }
  await w.clock.runUntil(T0 + 6 * HOUR)
  let max = 0
  const at = w.calls.filter((c) => !c.first).map((c) => c.at).sort((a, b) => a - b)
  for (let hi = 0, lo = 0; hi < at.length; hi++) {
    while ((at[lo] as number) <= (at[hi] as number) - HOUR) lo++
    max = Math.max(max, hi - lo + 1)
  }
  t.ok(max <= 40, `never more than the partition in a window (max ${max})`)
  t.equal(w.refusals(), 0, 'no check was refused')
  const done = (await Promise.all(codes.map(async (c) => await w.latest(c)))).filter((o) => o?.status === 'Done').length
  t.ok(done >= 10, `tracking went on within the budget (${done} orders Done)`)
  t.ok(w.allocator.state().checks.watch !== undefined, 'the watch spent credit')
})

t.test('an unregistered order nobody follows is no longer tracked', async (t) => {
  const w = await world(t, { limit: 500 })
  const code = await w.create([90])
  await w.known.remember(code, { source: 'registered', by: 'token:shop', since: w.clock.now() }, 49 * HOUR)
  w.allocator.start()
  await w.clock.runUntil(T0 + 10 * MINUTE)
  t.equal(w.allocator.size, 1, 'tracked while registered')
  await w.known.forget(code)
  await w.clock.runUntil(T0 + 20 * MINUTE)
  t.equal(w.allocator.size, 0, 'untracked once the registry no longer lists it')
  const after = w.checksOf(code, T0 + 20 * MINUTE).length
  await w.clock.runUntil(T0 + 3 * HOUR)
  t.equal(w.checksOf(code, T0 + 20 * MINUTE).length, after, 'and never checked again')
})

t.test('a known order nobody watches is tracked until Done', async (t) => {
  const w = await world(t, { limit: 500 })
  const code = await w.create([3])
  await w.known.remember(code, { source: 'created', by: 'ip:203.0.113.7', since: w.clock.now() }, 49 * HOUR)
  w.allocator.start()
  w.clock.at(w.clock.now() + 4 * MINUTE, () => { w.sim.control.pay(code) })
  await w.clock.runUntil(T0 + HOUR)
  t.equal((await w.latest(code))?.status, 'Done')
  t.equal(w.allocator.size, 0, 'no longer tracked once Done')
  t.ok(w.checksOf(code).length <= 20, `with few checks (${w.checksOf(code).length})`)
})

t.test('first looks are never refused, however full the window is of appointments', async (t) => {
  const w = await world(t, { limit: 40, windowMs: HOUR })
  const codes: string[] = []
  const refusedFirst: string[] = []
  let thinning = 0
  const sample = (): void => {
    thinning = Math.max(thinning, w.allocator.state().thinning)
    if (w.clock.now() < T0 + 3 * HOUR) w.clock.setTimeout(sample, MINUTE)
  }
  w.clock.setTimeout(sample, MINUTE)
  // An order every 2 minutes, each paid at once with two outputs sent within the next
  // hour: more appointments than a window of 40 holds.
  for (let i = 0; i < 60; i++) {
    await w.clock.runUntil(T0 + i * 2 * MINUTE + 4321)
    const code = await w.create([3 + (i % 5) * 7, 30 + (i % 4) * 9])
    codes.push(code)
    if (!await w.followPolled(code)) refusedFirst.push(code)
    w.sim.control.pay(code)
  }
  await w.clock.runUntil(T0 + 4 * HOUR)
  t.same(refusedFirst, [], 'every first look found a slot')
  t.equal(w.refusals(), 0, 'no check at all was refused')
  const at = w.calls.map((c) => c.at).sort((a, b) => a - b)
  let max = 0
  for (let hi = 0, lo = 0; hi < at.length; hi++) {
    while ((at[lo] as number) <= (at[hi] as number) - HOUR) lo++
    max = Math.max(max, hi - lo + 1)
  }
  t.ok(max <= 40, `never more than the partition in a window, first looks included (max ${max})`)
  t.equal(w.allocator.state().checks['first-look'], codes.length, 'each first look was charged to the allocator')
  t.ok(thinning > 0, `the appointments were thinned meanwhile (level ${thinning})`)
})
