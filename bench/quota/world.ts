/**
 * One simulated run of several days: a virtual clock, the simulated SecretCryptos
 * upstream on it, the run's orders created (each creation charged to the quota's
 * `create` partition) and paid on schedule, the ground truth of what a check could
 * show at every refresh tick, and a tracker (trackgate or a baseline) following every
 * order from its creation. The upstream is driven in-process (`inject()`): no sockets.
 *
 * Upstream's refreshes are not on whole minutes ({@link RefreshTicks}: a phase offset
 * and a jitter per tick): the simulator runs live and, while a check is answered, its
 * clock reads the last tick — so the check reports the order as of that refresh.
 */
import type { FastifyInstance } from 'fastify'
import { buildSimulator, type SimulatorControl } from '../../src/simulator/index.js'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import type { OrderTimeline, Stamped } from './detection.js'
import { GONE, signatureOfView } from './signature.js'
import { VirtualClock } from '../../test/helpers/virtual-clock.js'
import type { PlannedOrder } from './workload.js'
import { RefreshTicks } from './refresh-ticks.js'

/** The simulator's API key. */
export const SIM_KEY = 'quota-bench-key'
/** Start of the run. */
export const T0 = Date.UTC(2025, 7, 20, 6, 0, 0)
/** Upstream's refresh period. */
export const REFRESH_MS = 60_000

const ADDRESSES = ['35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', '1P279UBChDFPAky8S4DcKGaaxKEMYBK9MM', 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq']
const PERCENTS: Readonly<Record<number, string[]>> = { 1: ['100'], 2: ['60', '40'], 3: ['50', '30', '20'] }
const DEPOSIT = 1

/** The run's settings that every tracker shares. */
export interface WorldSettings {
  /** Local quota (calls per rolling 24 h), the `create` partition, the pollers' share. */
  quotaLimit: number
  quotaReserve: number
  pollShare: number
  /** Simulator lifecycle: payment seen → confirmed; output sent → confirmed. */
  confirmMs: number
  outputConfirmMs: number
  /** Upstream's refresh ticks: phase offset from the start, jitter of each tick. */
  phaseMs: number
  jitterMs: number
  /** Changes visible before `T0 + warmupMs` are not measured (the window starts empty). */
  warmupMs: number
  /** The run ends at `T0 + horizonMs`. */
  horizonMs: number
}

/** The pollers' partition of a run's quota. */
export function pollLimit (s: WorldSettings): number {
  return Math.floor(s.quotaLimit * s.pollShare)
}

/** What a tracker is told and asked. */
export interface Tracker {
  /** Starts following `trackcode` (the customer's page opens); resolves once the first snapshot is in. */
  follow (trackcode: string): Promise<void>
  /** The customer's page closes. */
  leave (trackcode: string): void
  /** States emitted to the follower of `trackcode`, the first one being the initial snapshot. */
  events (trackcode: string): Stamped[]
  /** Stops every timer of the tracker. */
  close (): void
}

/** Everything a tracker may use. */
export interface WorldContext {
  clock: VirtualClock
  sim: FastifyInstance
  control: SimulatorControl
  quota: MemoryQuota
  /** Sends one check to the simulator, taking a `poll` slot first (as the gateway's upstream client does). */
  check (trackcode: string): Promise<CheckAttempt>
}

/** One check attempt. */
export type CheckAttempt =
  | { refused: false, statusCode: number, raw: Buffer, body: Record<string, unknown>, retryAfter?: string }
  | { refused: true, retryAt: number }

/** What a day produced. */
export interface WorldOutcome {
  timelines: Map<string, OrderTimeline>
  /** Virtual times of the checks sent upstream. */
  checkTimes: number[]
  /** Check attempts the local quota refused (no call made). */
  refusals: number
  firstRefusalAt: number | null
  /** Answers 429 from the simulator (its own quota of `quotaLimit`). */
  upstreamRefusals: number
  /** Checks the simulator counted (cross-check of `checkTimes`). */
  simChecks: number
  /** Orders whose last visible state was Done / Gone by the end. */
  done: number
  gone: number
  /** Orders created. */
  orders: number
  /** Orders whose creation or first subscription failed (with why). */
  failures: string[]
  /** Creations the quota's `create` partition refused (the order was not created). */
  createRefusals: number
  /** (ms after T0, checks in the trailing 24 h) every 15 simulated minutes. */
  windowSeries: Array<[number, number]>
}

interface Live {
  code: string
  truth: Stamped[]
  deleteAt: number
  followedUntil: number
  finished: boolean
}

/** Runs one day with the tracker `makeTracker` builds. */
export async function runDay (plan: readonly PlannedOrder[], settings: WorldSettings, makeTracker: (ctx: WorldContext) => Tracker, tickSeed = 1): Promise<WorldOutcome> {
  const clock = new VirtualClock(T0)
  const ticks = new RefreshTicks(T0, REFRESH_MS, settings.phaseMs, settings.jitterMs, tickSeed)
  // While checks are answered, the simulator's clock reads the last refresh tick.
  let answering = 0
  let asOf = 0
  const simClock = { now: () => answering > 0 ? asOf : clock.now() }
  const { app: sim, control } = await buildSimulator({
    apiKeys: [SIM_KEY],
    // The local quota is the one measured; upstream's own is the same limit (the
    // local one never lets more through).
    dailyQuota: settings.quotaLimit,
    clock: simClock,
    timing: { confirmMs: settings.confirmMs, outputConfirmMs: settings.outputConfirmMs },
    refreshIntervalMs: 0
  })
  const quota = new MemoryQuota({ limit: settings.quotaLimit, reserve: settings.quotaReserve, pollShare: settings.pollShare, now: () => clock.now() })
  let createRefusals = 0
  const outsideChecks = (what: string): void => {
    if (answering > 0) throw new Error(`${what} while a check was being answered (the simulator's clock was set back)`)
  }
  const checkTimes: number[] = []
  let refusals = 0
  let firstRefusalAt: number | null = null
  let upstreamRefusals = 0

  const ctx: WorldContext = {
    clock,
    sim,
    control,
    quota,
    async check (trackcode) {
      const decision = await quota.tryAcquire('poll')
      if (!decision.granted) {
        if (process.env.ZZ_DEBUG) console.log('REFUSED', (clock.now() - T0) / 3600000, JSON.stringify((await quota.state()).partitions), (globalThis as any).zzAlloc?.state().budget, JSON.stringify((globalThis as any).zzAlloc?.state().checks))
        refusals++
        firstRefusalAt ??= clock.now()
        return { refused: true, retryAt: decision.retryAt }
      }
      checkTimes.push(clock.now())
      const tick = ticks.lastTick(clock.now())
      if (answering > 0 && asOf !== tick) throw new Error('concurrent checks at different refresh ticks')
      answering++
      asOf = tick
      let res
      try {
        res = await clock.track(sim.inject({
          method: 'POST',
          url: '/v1/orders/check',
          headers: { authorization: `Bearer ${SIM_KEY}` },
          payload: { trackcode, outputs: 'full', mask_addresses: true }
        }))
      } finally {
        answering--
      }
      if (res.statusCode === 429) {
        upstreamRefusals++
        // What the upstream client does: treat the quota as spent until upstream allows.
        const seconds = Number(res.headers['retry-after'])
        await quota.pause(clock.now() + (Number.isFinite(seconds) ? seconds * 1000 : 60_000))
      }
      const retryAfter = res.headers['retry-after']
      const body = liveCountdowns(res.json(), clock.now() - tick)
      return { refused: false, statusCode: res.statusCode, raw: Buffer.from(JSON.stringify(body)), body, ...(typeof retryAfter === 'string' ? { retryAfter } : {}) }
    }
  }
  const tracker = makeTracker(ctx)
  const live: Live[] = []
  const windowSeries: Array<[number, number]> = []

  async function create (order: PlannedOrder): Promise<void> {
    outsideChecks('a creation')
    const slot = await quota.tryAcquire('create')
    if (!slot.granted) {
      createRefusals++
      return
    }
    const res = await sim.inject({
      method: 'POST',
      url: '/v1/mixer/orders',
      headers: { authorization: `Bearer ${SIM_KEY}` },
      payload: {
        action: 'create_order',
        addresses: order.delaysMin.map((delay, i) => ({ address: ADDRESSES[i], percent: PERCENTS[order.delaysMin.length]?.[i], delay: String(delay) })),
        amount: DEPOSIT.toFixed(8),
        crypto: 'btc',
        network: 'btc',
        qrcode: 0
      }
    })
    if (res.statusCode !== 200) throw new Error(`order creation failed: ${res.statusCode} ${res.body}`)
    const code = (res.json() as { trackcode: string }).trackcode
    const view = control.getOrder(code)
    if (view === undefined) throw new Error('created order not found')
    const entry: Live = { code, truth: [{ at: clock.now(), sig: signatureOfView(view) }], deleteAt: view.deleteAt, followedUntil: T0 + settings.horizonMs, finished: false }
    live.push(entry)
    for (const p of order.payments) {
      clock.at(T0 + p.at, () => {
        outsideChecks('a payment')
        const current = control.getOrder(code)
        if (current === undefined) return
        const amount = p.fraction >= 1 ? undefined : (DEPOSIT * p.fraction).toFixed(8)
        control.pay(code, amount)
      })
    }
    if (order.leaveAt !== null) {
      clock.at(T0 + order.leaveAt, () => {
        entry.followedUntil = clock.now()
        tracker.leave(code)
      })
    }
    await tracker.follow(code)
  }

  const failures: string[] = []
  for (const order of plan) {
    clock.at(T0 + order.createAt, () => {
      void clock.track(create(order).catch((err: unknown) => { failures.push(err instanceof Error ? err.message : String(err)) }))
    })
  }

  // Ground truth: the state a check shows from each refresh tick on.
  let n = 0
  const tick = (): void => {
    outsideChecks('a refresh')
    const now = clock.now()
    for (const entry of live) {
      if (entry.finished) continue
      const view = control.getOrder(entry.code)
      const sig = view === undefined ? GONE : signatureOfView(view)
      const last = entry.truth[entry.truth.length - 1] as Stamped
      if (sig !== last.sig) entry.truth.push({ at: now, sig })
      if (sig === GONE || (view !== undefined && view.outputs.every((o) => o.state === 2 && o.confirm === 1))) entry.finished = true
    }
    n++
    if (ticks.tick(n) < T0 + settings.horizonMs) clock.at(ticks.tick(n), tick)
  }
  clock.at(ticks.tick(0), tick)
  const sample = (): void => {
    const now = clock.now()
    windowSeries.push([now - T0, countSince(checkTimes, now - 24 * 3_600_000)])
    if (now + 15 * 60_000 <= T0 + settings.horizonMs) clock.setTimeout(sample, 15 * 60_000)
  }
  clock.at(T0, sample)

  try {
    await clock.runUntil(T0 + settings.horizonMs)
  } finally {
    tracker.close()
  }

  const timelines = new Map<string, OrderTimeline>()
  let done = 0
  let gone = 0
  for (const entry of live) {
    timelines.set(entry.code, { truth: entry.truth, events: tracker.events(entry.code), followedUntil: entry.followedUntil, countFrom: T0 + settings.warmupMs })
    const last = entry.truth[entry.truth.length - 1] as Stamped
    if (last.sig === GONE) gone++
    else if (entry.finished) done++
  }
  const stats = control.stats()
  const simChecks = stats.byRoute['POST /v1/orders/check'] ?? 0
  await sim.close()
  return { timelines, checkTimes, refusals, firstRefusalAt, upstreamRefusals, simChecks, done, gone, orders: live.length, failures, createRefusals, windowSeries }
}

/**
 * The countdowns of an answer given as of a tick `staleMs` ago, counted down to now
 * (upstream's countdowns are live, its order data as of the last refresh); ±1 s.
 */
function liveCountdowns (body: Record<string, unknown>, staleMs: number): Record<string, unknown> {
  const down = (v: unknown): unknown => typeof v === 'number' && v > 0 ? Math.max(0, Math.ceil(v - staleMs / 1000)) : v
  const deposit = body.deposit as Record<string, unknown> | undefined
  if (deposit !== undefined && typeof deposit === 'object') deposit.delete_in_sec = down(deposit.delete_in_sec)
  if (Array.isArray(body.outputs)) for (const o of body.outputs as Array<Record<string, unknown>>) o.left_seconds = down(o.left_seconds)
  return body
}

function countSince (sorted: readonly number[], from: number): number {
  let n = 0
  for (let i = sorted.length - 1; i >= 0 && (sorted[i] as number) > from; i--) n++
  return n
}
