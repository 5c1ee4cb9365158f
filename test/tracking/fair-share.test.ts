/**
 * The fair share of the quota, played out in virtual time: real pollers, refresher,
 * scheduler and rolling quota, a virtual clock and a scripted upstream. Nothing here
 * depends on real time: every check happens at the virtual instant it was planned.
 */
import t from 'tap'
import { GatewayError } from '../../src/errors.js'
import { MemoryBus } from '../../src/state/bus/memory.js'
import { MemoryLeaseStore } from '../../src/state/leases/memory.js'
import { Poller } from '../../src/tracking/poller.js'
import { Refresher, type CheckFn } from '../../src/tracking/refresher.js'
import { PollScheduler, type PollTimings } from '../../src/tracking/scheduler.js'
import { MemorySnapshotStore } from '../../src/state/snapshots/memory.js'
import { DAY_MS } from '../../src/state/quota/index.js'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import { VirtualClock } from '../helpers/virtual-clock.js'
import { silentLogger } from '../helpers/silent-logger.js'

const T0 = Date.UTC(2025, 7, 20, 16, 0, 0)
const HOUR = 3_600_000
const TIMINGS: PollTimings = { pollIntervalMs: 60_000, pollWaitingPaymentMs: 90_000, pollMaxIntervalMs: 900_000 }

const silent = silentLogger

/** How an order answers checks: a payment being confirmed (watched every `pollIntervalMs`), or funded with its send time days away (asleep, `pollMaxIntervalMs`). */
type Kind = 'confirming' | 'sleeping'

interface Call {
  trackcode: string
  at: number
}

function checkBody (trackcode: string, kind: Kind, now: number): Record<string, unknown> {
  const deleteInSec = Math.floor((T0 + 30 * DAY_MS - now) / 1000)
  const funded = kind === 'sleeping'
  return {
    ok: true,
    type: 'mixer',
    trackcode,
    deposit: {
      confirm_status: funded ? 2 : 1,
      coin: 'btc',
      network: 'btc',
      delete_in_sec: deleteInSec,
      funding: { waiting_balance: '1.00000000', received_balance: funded ? '1.00000000' : '0.50000000', remaining_need: funded ? '0.00000000' : '0.50000000', is_fully_funded: funded, can_start: funded }
    },
    ...(funded ? {} : { status_reason: 'INSUFFICIENT_FUNDS' }),
    outputs: [{ index: 1, address: '35iM…EL', destination_tag: null, coin: 'btc', network: 'btc', share_percent: 100, delay_label: '480h 0m', delay_seconds: 1_728_000, state: funded ? 1 : 0, confirm: 0, tx: '', amount: '0.99000000', left_seconds: funded ? Math.floor((T0 + 20 * DAY_MS - now) / 1000) : 0 }]
  }
}

/**
 * Pollers sharing one quota in virtual time. The pollers' partition is 950 of 1000 unless
 * `pollShare` says otherwise: the budget these scenarios were written for.
 */
function fleet (opts: { limit: number, reserve: number, pollShare?: number }) {
  const clock = new VirtualClock(T0)
  const quota = new MemoryQuota({ limit: opts.limit, reserve: opts.reserve, pollShare: opts.pollShare ?? 0.95, now: () => clock.now() })
  const scheduler = new PollScheduler({ timings: TIMINGS, quota, now: () => clock.now(), random: () => 0.5 })
  const kinds = new Map<string, Kind>()
  const calls: Call[] = []
  let refusals = 0
  // What the upstream client does: a slot first, refused → 429 without a call.
  const check: CheckFn = async (trackcode) => {
    const decision = await quota.tryAcquire('poll')
    if (!decision.granted) {
      refusals++
      throw new GatewayError(429, 'TOO_MANY_REQUESTS', 'quota', { headers: { 'retry-after': String(Math.ceil((decision.retryAt - clock.now()) / 1000)) } })
    }
    calls.push({ trackcode, at: clock.now() })
    return { statusCode: 200, raw: Buffer.alloc(0), body: checkBody(trackcode, kinds.get(trackcode) ?? 'confirming', clock.now()) }
  }
  const store = new MemorySnapshotStore({ now: () => clock.now() })
  const bus = new MemoryBus()
  const refresher = new Refresher({ check, store, bus, clock, scheduler, notFoundCacheMs: HOUR, snapshotTtlMs: 40 * DAY_MS, log: silent })
  const lease = new MemoryLeaseStore(() => clock.now())
  const shutdown = new AbortController()
  const pollers = new Map<string, Poller>()
  let n = 0

  return {
    clock,
    quota,
    scheduler,
    calls,
    refusals: () => refusals,
    /** Starts tracking a new order the way a first subscriber does: one check, then its poller. */
    async track (kind: Kind): Promise<string> {
      const trackcode = (0xA000000000000000n + BigInt(++n)).toString(16).toUpperCase()
      kinds.set(trackcode, kind)
      const first = await refresher.refresh(trackcode)
      if (first.kind !== 'snapshot') throw new Error(`first check failed: ${first.kind}`)
      const poller = new Poller({ trackcode, refresher, scheduler, bus, lease, owner: 'gw', clock, signal: shutdown.signal, log: silent }, first.snapshot)
      pollers.set(trackcode, poller)
      poller.start()
      return trackcode
    },
    stop (trackcode: string): void {
      pollers.get(trackcode)?.stop()
    },
    /** Checks of `trackcode`, in time order. */
    times (trackcode: string, from = 0, to = Infinity): number[] {
      return calls.filter((c) => c.trackcode === trackcode && c.at >= from && c.at < to).map((c) => c.at)
    },
    close (): void {
      for (const p of pollers.values()) p.stop()
      shutdown.abort()
    }
  }
}

/** Most calls any rolling window of `windowMs` (`(t − windowMs, t]`, as the quota counts) ever held. */
function maxInWindow (calls: Call[], windowMs: number): number {
  const at = calls.map((c) => c.at).sort((a, b) => a - b)
  let max = 0
  let lo = 0
  for (let hi = 0; hi < at.length; hi++) {
    while ((at[lo] as number) <= (at[hi] as number) - windowMs) lo++
    max = Math.max(max, hi - lo + 1)
  }
  return max
}

function gaps (times: number[]): number[] {
  return times.slice(1).map((at, i) => at - (times[i] as number))
}

t.test('one order with a fresh daily quota is checked every POLL_INTERVAL_MS', async (t) => {
  const f = fleet({ limit: 1000, reserve: 50 })
  t.teardown(() => { f.close() })
  const code = await f.track('confirming')
  // The fresh quota allows about 119 checks an hour at first: one order wants 60.
  await f.clock.runUntil(T0 + 4 * HOUR)
  const spacing = gaps(f.times(code))
  t.equal(spacing.length, 4 * 60, 'one check a minute for 4 hours')
  t.ok(spacing.every((g) => g === TIMINGS.pollIntervalMs), 'every gap is exactly POLL_INTERVAL_MS (not 24 h ÷ 950 ≈ 91 s)')
  t.equal(f.scheduler.lastStretch, 1)

  // Followed for three days, one order alone wants 1440 checks a day: more than the
  // 950 the quota gives pollers. It is slowed down as the window fills, never refused.
  await f.clock.runUntil(T0 + 3 * 24 * HOUR)
  t.equal(f.refusals(), 0, 'no check was ever refused')
  t.ok(maxInWindow(f.calls, DAY_MS) <= 950, `at most limit − reserve in any 24 h (max ${maxInWindow(f.calls, DAY_MS)})`)
  t.ok(gaps(f.times(code)).every((g) => g >= TIMINGS.pollIntervalMs), 'never faster than POLL_INTERVAL_MS')
  t.ok(gaps(f.times(code, T0 + 2 * 24 * HOUR)).some((g) => g > TIMINGS.pollIntervalMs), 'stretched once the window filled')
})

t.test('orders wanting more than the quota: the same stretch for all, the window never overfilled', async (t) => {
  const f = fleet({ limit: 1000, reserve: 50 })
  t.teardown(() => { f.close() })
  const codes: string[] = []
  for (let i = 0; i < 30; i++) codes.push(await f.track('confirming'))
  // 30 orders at one check a minute want 1800 checks an hour; the fresh quota allows
  // 950 over 6 h (≈ 158 an hour) at first, less as it is spent.
  await f.clock.runUntil(T0 + 4 * 24 * HOUR)
  t.equal(f.refusals(), 0, 'no check was ever refused: the spacing alone kept within the quota')
  const max = maxInWindow(f.calls, DAY_MS)
  t.ok(max <= 950, `at most limit − reserve in any 24 h (max ${max})`)
  t.ok(max >= 700, `and most of it was used (max ${max})`)
  const counts = codes.map((c) => f.times(c).length)
  const spread = Math.max(...counts) - Math.min(...counts)
  t.ok(spread <= Math.max(2, 0.03 * Math.min(...counts)), `every order got the same number of checks, within 3 % (${Math.min(...counts)}..${Math.max(...counts)})`)
  t.ok(f.scheduler.lastStretch > 1, 'intervals are stretched')

  // At one instant, every poller's next interval is its desired one times the same factor.
  const day = T0 + 4 * 24 * HOUR
  const a = f.times(codes[0] as string, day - 6 * HOUR)
  const b = f.times(codes[1] as string, day - 6 * HOUR)
  t.ok(Math.abs(a.length - b.length) <= 1, 'equal share over the last hours too')
})

t.test('pollers sleeping until a send time barely count', async (t) => {
  await t.test('with room in the quota they slow no one', async (t) => {
    const f = fleet({ limit: 1000, reserve: 50 })
    t.teardown(() => { f.close() })
    const active = await f.track('confirming')
    const sleepers: string[] = []
    for (let i = 0; i < 4; i++) sleepers.push(await f.track('sleeping'))
    await f.clock.runUntil(T0 + 2 * HOUR)
    t.equal(f.times(active).length, 2 * 60 + 1)
    t.ok(gaps(f.times(active)).every((g) => g === TIMINGS.pollIntervalMs), 'the active order is still checked every minute (5 equal shares of the day would be one check per 7.6 min)')
    for (const s of sleepers) t.ok(gaps(f.times(s)).every((g) => g === TIMINGS.pollMaxIntervalMs), 'sleepers check at their safety-net interval')
    t.equal(f.refusals(), 0)
  })

  await t.test('when the quota is short they weigh what they ask for', async (t) => {
    const alone = fleet({ limit: 1000, reserve: 50 })
    const crowded = fleet({ limit: 1000, reserve: 50 })
    t.teardown(() => { alone.close(); crowded.close() })
    const a: string[] = []
    const c: string[] = []
    for (let i = 0; i < 20; i++) a.push(await alone.track('confirming'))
    for (let i = 0; i < 20; i++) c.push(await crowded.track('confirming'))
    for (let i = 0; i < 20; i++) await crowded.track('sleeping')
    await alone.clock.runUntil(T0 + 24 * HOUR)
    await crowded.clock.runUntil(T0 + 24 * HOUR)
    const checksAlone = a.reduce((n, code) => n + alone.times(code).length, 0)
    const checksCrowded = c.reduce((n, code) => n + crowded.times(code).length, 0)
    // 20 sleepers ask for 80 checks an hour, 20 active orders for 1200: the active
    // ones keep about 1200 / 1280 of their share (counted as equals they would keep half).
    t.ok(checksCrowded >= 0.85 * checksAlone, `active orders kept ${checksCrowded} of ${checksAlone} checks next to 20 sleepers`)
    t.equal(alone.refusals() + crowded.refusals(), 0)
  })
})

t.test('fewer orders, or a window freeing, speed the pollers up again', async (t) => {
  await t.test('when most orders finish, the others speed up at once', async (t) => {
    const f = fleet({ limit: 1000, reserve: 50 })
    t.teardown(() => { f.close() })
    const codes: string[] = []
    for (let i = 0; i < 30; i++) codes.push(await f.track('confirming'))
    const leave = T0 + 24 * HOUR
    await f.clock.runUntil(leave)
    for (const code of codes.slice(3)) f.stop(code)
    await f.clock.runUntil(leave + 3 * HOUR)
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length)
    for (const code of codes.slice(0, 3)) {
      const before = mean(gaps(f.times(code, leave - 6 * HOUR, leave)))
      const after = mean(gaps(f.times(code, leave, leave + 3 * HOUR)))
      t.ok(after < before / 3, `${Math.round(before / 1000)} s apart among 30, ${Math.round(after / 1000)} s among 3`)
    }
    t.equal(f.refusals(), 0)
    t.ok(maxInWindow(f.calls, DAY_MS) <= 950)
  })

  await t.test('REST traffic does not slow the pollers: their partition is their own', async (t) => {
    // Changed with the strict partitions (issue 10): pollers no longer share with the REST
    // side, so REST calls spending their whole partition leave the pollers' pace as it was.
    const quiet = fleet({ limit: 1000, reserve: 50, pollShare: 0.5 })
    const busy = fleet({ limit: 1000, reserve: 50, pollShare: 0.5 })
    t.teardown(() => {
      quiet.close()
      busy.close()
    })
    let granted = 0
    for (let i = 0; i < 900; i++) if ((await busy.quota.tryAcquire('rest')).granted) granted++
    t.equal(granted, 450, 'the REST side stops at its partition (1000 − 50 − 500)')
    const a = await quiet.track('confirming')
    const b = await busy.track('confirming')
    await quiet.clock.runUntil(T0 + 27 * HOUR)
    await busy.clock.runUntil(T0 + 27 * HOUR)
    t.ok(quiet.times(a).length > 500, `the order was checked (${quiet.times(a).length} times)`)
    t.same(busy.times(b), quiet.times(a), 'the same checks at the same times as with no REST traffic at all')
    t.equal(busy.refusals(), 0)
    t.ok(maxInWindow(busy.calls, DAY_MS) <= 500, 'within the poll partition')
  })
})
