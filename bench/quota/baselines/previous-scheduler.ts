/**
 * The previous scheduler (issue 6), kept as a baseline of the quota benchmark: copied
 * unchanged from `src/tracking/scheduler.ts` at commit 86c352a (before the allocator
 * replaced it), but for the imports and the exports only this benchmark needs. Not
 * product code. Its own description follows.
 *
 * When to check an order next.
 *
 * The spacing of two checks of one trackcode is the product of:
 *
 * 1. **the state-aware interval** ({@link stateInterval}): waiting for a payment is
 *    slow (`pollWaitingPaymentMs`); a payment being confirmed is watched at
 *    `pollIntervalMs`; a funded order sleeps until its earliest pending output's
 *    `send_at` (plus a little slack for upstream's once-a-minute refresh), capped at
 *    `pollMaxIntervalMs`, and is watched at `pollIntervalMs` while a sent output waits
 *    for its confirmation; Done and Gone are not checked at all. Never past the end of
 *    the order's retention, when it turns Gone. This is the poller's *desired* interval.
 * 2. **a stretch factor shared by every poller**: `s = max(1, D ÷ A)`
 *    ({@link stretchFactor}), where `D = Σ 1 ÷ desired` is what the running pollers ask
 *    for together and `A` ({@link allowedRate}) what the quota lets them spend: a burst
 *    while the window has room, the sustainable rate otherwise. A fresh quota
 *    therefore serves a few pollers at their desired interval (one order followed
 *    alone is checked every `pollIntervalMs`, not every `24 h ÷ budget`), pollers
 *    sleeping until a far send time ask for little and barely slow the others, and
 *    when the demand is more than the quota can serve, every interval stretches by
 *    the same factor — more as the window fills, less again as it frees — instead of
 *    the first pollers starving the last.
 *
 * After a failure the spacing is an exponential backoff with jitter
 * ({@link backoffDelay}); a refused quota slot waits for the moment the window frees.
 * The quota itself is enforced by `QuotaBudget.tryAcquire` in the upstream client:
 * this module only spaces checks so that refusals stay rare and fair.
 */
import { DAY_MS, type QuotaBudget } from '../../../src/state/quota/index.js'
import type { TrackedOrder } from '../../../src/tracking/schemas.js'

/** The poll settings of the configuration. */
interface PollTimings {
  pollIntervalMs: number
  pollWaitingPaymentMs: number
  pollMaxIntervalMs: number
}

/** Added to a planned send time before checking, ms (upstream refreshes about once a minute). */
const SEND_SLACK_MS = 2000

/**
 * State-aware spacing after a check that produced `order`, ms; `null` when the order
 * is finished and must not be checked again.
 */
function stateInterval (order: TrackedOrder, nowMs: number, t: PollTimings): number | null {
  const slack = Math.min(SEND_SLACK_MS, t.pollIntervalMs)
  let delay: number
  switch (order.status) {
    case 'Done':
    case 'Gone':
      return null
    case 'WaitingForPayment':
      delay = t.pollWaitingPaymentMs
      break
    case 'Confirming':
      delay = t.pollIntervalMs
      break
    case 'WaitingForDelivery': {
      const awaitingConfirmation = order.outputs.some((o) => o.state === 2 && o.confirm !== 1)
      let earliest = Infinity
      for (const o of order.outputs) if (o.state !== 2 && typeof o.send_at === 'number' && o.send_at * 1000 < earliest) earliest = o.send_at * 1000
      if (awaitingConfirmation || earliest === Infinity) delay = t.pollIntervalMs
      else delay = Math.min(Math.max(earliest - nowMs + slack, t.pollIntervalMs), t.pollMaxIntervalMs)
      break
    }
  }
  const deleteAt = order.deposit.delete_at
  if (typeof deleteAt === 'number') delay = Math.min(delay, Math.max(deleteAt * 1000 - nowMs + slack, t.pollIntervalMs))
  return delay
}

/**
 * Part of the quota window over which pollers may spend, in a burst, the checks the
 * window still allows them: a quarter (6 h of a 24 h quota). See {@link allowedRate}.
 */
const SPEND_HORIZON_FRACTION = 0.25

/**
 * Part of the poll budget a burst never spends: a quarter. What is left of it is
 * spread by the sustainable rate until the window frees.
 */
const BURST_KEEP_FRACTION = 0.25

/**
 * Part of the poll budget the sustainable rate leaves unspent, so that pollers
 * planning on the edge of a full window are not refused for a few milliseconds
 * (at least one check).
 */
const SUSTAINABLE_MARGIN = 0.01

/**
 * Checks per ms the pollers may spend together (`A`): the larger of
 *
 * - the **burst rate** `(headroom − budget × BURST_KEEP_FRACTION) ÷ (windowMs ×
 *   SPEND_HORIZON_FRACTION)`: what the window still allows pollers beyond a quarter of
 *   their budget, spent over a quarter of the window. A fresh default quota (950
 *   checks for pollers) thus allows about 119 checks an hour at first: e.g. one order
 *   checked every minute and another waiting for its payment every 90 s, unstretched;
 * - the **sustainable rate** `sustainable` ({@link PollUsage.sustainableRate}): the
 *   highest constant rate the window can keep up for a whole window from now on,
 *   given when the pollers' own checks leave it — `budget ÷ windowMs` once checks are
 *   spread evenly, less while a burst still fills the window, 0 when the window is
 *   full and nothing leaves it soon.
 *
 * Neither spends what the window cannot give, so pollers following this rate never
 * find it full (the quota still refuses what would overshoot). Under a lasting
 * overload the burst is spent within hours, the quarter kept back is then spread
 * until the first checks age out, and from the second day on the rate is the
 * sustainable `budget ÷ windowMs` (in simulated days of overload the worst hour of the
 * first day still gets two thirds of it). A constant `budget ÷ windowMs` term instead
 * (the textbook "sustainable plus headroom ÷ horizon") is not safe with a rolling
 * window: nothing leaves it until a whole window after it was spent, so under a
 * lasting demand that sum empties a fresh window in half a day, and every poller is
 * then refused until the first checks age out. Smaller fractions make bigger bursts
 * and a leaner end of the first day; larger ones the opposite.
 */
function allowedRate (headroom: number, budget: number, windowMs: number, sustainable = 0): number {
  if (!(windowMs > 0)) return 0
  const burst = Math.max(0, headroom - Math.max(0, budget) * BURST_KEEP_FRACTION) / (windowMs * SPEND_HORIZON_FRACTION)
  return Math.max(burst, Math.max(0, sustainable))
}

/**
 * How much every poller's desired interval is stretched: `max(1, demand ÷ allowed)`
 * (rates in checks per ms); 1 with no demand, `Infinity` when checks are wanted but
 * none are allowed. The same factor for every poller is what "stretch fairly" means.
 */
function stretchFactor (demandRate: number, allowed: number): number {
  if (!(demandRate > 0)) return 1
  if (!(allowed > 0)) return Infinity
  return Math.max(1, demandRate / allowed)
}

/**
 * Delay before retrying after `failures` consecutive failed checks (1 = the first):
 * uniformly drawn between `pollIntervalMs` and `min(pollMaxIntervalMs,
 * pollIntervalMs × 2^(failures−1))` — exponential growth, jitter so pollers that failed
 * together do not retry together.
 */
function backoffDelay (failures: number, t: PollTimings, random: () => number = Math.random): number {
  const base = t.pollIntervalMs
  const ceiling = Math.max(base, Math.min(t.pollMaxIntervalMs, base * 2 ** Math.min(Math.max(0, failures - 1), 30)))
  return Math.round(base + random() * (ceiling - base))
}

/**
 * The checks pollers made in the rolling window (their times, ascending), to tell
 * them apart from the other users of the shared quota (the REST pass-through) and to
 * know when each leaves the window. Memory is bounded by the quota limit (no more
 * checks can fit in the window).
 */
class PollUsage {
  readonly #times: number[] = []
  #head = 0
  readonly #windowMs: number

  constructor (windowMs: number) {
    this.#windowMs = windowMs
  }

  /** Records a check made at `at` (epoch ms). */
  record (at: number): void {
    this.#times.push(at)
  }

  /** Checks made in the window ending at `now` (of `windowMs`, default the constructor's; older ones are forgotten). */
  count (now: number, windowMs = this.#windowMs): number {
    const from = now - windowMs
    while (this.#head < this.#times.length && (this.#times[this.#head] as number) <= from) this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head)
      this.#head = 0
    }
    return this.#times.length - this.#head
  }

  /**
   * The highest constant rate, checks per ms, at which pollers could check from `now`
   * on for a whole window without ever finding it full: `min over τ ≤ windowMs of
   * (headroom + checks leaving the window within τ) ÷ τ`, `headroom` being the checks
   * free now. Only the recorded checks are known to leave; other users' calls are
   * assumed to stay (they are replaced as they age out). O(checks in the window).
   */
  sustainableRate (now: number, windowMs: number, headroom: number): number {
    const n = this.count(now, windowMs)
    const free = Math.max(0, headroom)
    let best = (free + n) / windowMs
    let tau = 0
    for (let k = 0; k < n; k++) {
      // Just before the (k+1)-th oldest leaves, k of them have left. Recorded times are
      // ascending but for concurrent checks: keep the leaving times monotonic.
      tau = Math.max(tau, (this.#times[this.#head + k] as number) + windowMs - now)
      if (tau > 0) best = Math.min(best, (free + k) / tau)
    }
    return best
  }
}

/** The quota as the pollers see it at one moment. */
interface PollBudget {
  /** Length of the rolling window, ms. */
  windowMs: number
  /** Checks the window allows pollers: the general part of the quota minus what others used in it. */
  budget: number
  /** Checks pollers made in the window. */
  used: number
  /** Checks the window still allows pollers (`budget − used`, at least 0). */
  headroom: number
  /** The sustainable part of {@link allowedRate}, checks per ms. */
  sustainableRate: number
  /** What pollers may spend together, checks per ms ({@link allowedRate}). */
  allowedRate: number
}

/** Options of {@link PollScheduler}. */
interface PollSchedulerOptions {
  timings: PollTimings
  quota: QuotaBudget
  /**
   * Length of the quota's rolling window, ms. Default: what the quota's `state()`
   * reports, else 24 h. Only to override a store that does not report it.
   */
  windowMs?: number
  now: () => number
  random?: () => number
}

/** Recompute the running sum of demands from scratch this often (floating-point drift). */
const DEMAND_RESUM_EVERY = 1024
/** How long a computed sustainable rate is reused while the window's counts stay the same, ms. */
const SUSTAINABLE_CACHE_MS = 1000

/**
 * Puts {@link stateInterval}, the stretch of the quota's fair share and
 * {@link backoffDelay} together with the live quota.
 *
 * Each running poller registers its *desired* interval (its state-aware one) with
 * {@link setDemand}; the total demand `Σ 1 ÷ desired` against {@link allowedRate} gives
 * one stretch factor, applied to every poller's desired interval. Pollers that sleep
 * for hours until a send time ask for little, so they barely slow the others.
 */
export class PollScheduler {
  readonly timings: PollTimings
  readonly usage: PollUsage
  readonly #quota: QuotaBudget
  readonly #windowMs: number | undefined
  readonly #now: () => number
  readonly #random: () => number
  /** Desired rate (checks per ms) of each running poller. */
  readonly #demand = new Map<object, number>()
  #demandRate = 0
  #demandUpdates = 0
  #lastStretch = 1
  #sustainableCache: { at: number, used: number, headroom: number, rate: number } | null = null

  constructor (opts: PollSchedulerOptions) {
    this.timings = opts.timings
    this.#quota = opts.quota
    this.#windowMs = opts.windowMs
    this.#now = opts.now
    this.#random = opts.random ?? Math.random
    // Counted over the quota's window, as `budget()` learns it.
    this.usage = new PollUsage(opts.windowMs ?? DAY_MS)
  }

  /** Registers (or updates) the desired interval of a running poller, ms. */
  setDemand (poller: object, desiredMs: number): void {
    const rate = 1 / Math.max(1, desiredMs)
    const before = this.#demand.get(poller) ?? 0
    this.#demand.set(poller, rate)
    this.#demandRate += rate - before
    this.#tidyDemand()
  }

  /** Forgets a poller's demand (it stopped, or another gateway polls its order). */
  dropDemand (poller: object): void {
    const before = this.#demand.get(poller)
    if (before === undefined) return
    this.#demand.delete(poller)
    this.#demandRate -= before
    this.#tidyDemand()
  }

  /** Total desired rate of the registered pollers, checks per ms. */
  demandRate (): number {
    return this.#demandRate
  }

  /** Pollers with a registered demand. */
  get pollers (): number {
    return this.#demand.size
  }

  /** The stretch factor computed last (1 when nothing is stretched), for metrics. */
  get lastStretch (): number {
    return this.#lastStretch
  }

  /** The quota as pollers see it now. */
  async budget (): Promise<PollBudget> {
    const state = await this.#quota.state()
    const windowMs = this.#windowMs ?? state.windowMs ?? DAY_MS
    const used = this.usage.count(this.#now(), windowMs)
    const othersUsed = Math.max(0, state.used - used)
    const budget = state.limit - state.reserve - othersUsed
    const headroom = Math.max(0, budget - used)
    const sustainable = this.#sustainable(windowMs, budget, used, headroom)
    return { windowMs, budget, used, headroom, sustainableRate: sustainable, allowedRate: allowedRate(headroom, budget, windowMs, sustainable) }
  }

  /** {@link PollUsage.sustainableRate} less the margin, recomputed at most once a second while nothing changes. */
  #sustainable (windowMs: number, budget: number, used: number, headroom: number): number {
    const now = this.#now()
    const c = this.#sustainableCache
    if (c !== null && c.used === used && c.headroom === headroom && now >= c.at && now - c.at < SUSTAINABLE_CACHE_MS) return c.rate
    const margin = Math.max(1, Math.ceil(Math.max(0, budget) * SUSTAINABLE_MARGIN))
    const rate = this.usage.sustainableRate(now, windowMs, headroom - margin)
    this.#sustainableCache = { at: now, used, headroom, rate }
    return rate
  }

  /**
   * Spacing after a successful check, made at `checkedAt`, that produced `order`:
   * its desired interval stretched by the current factor, at most one window;
   * `null` → stop polling. With `poller`, registers that poller's desired interval
   * first (and forgets it on `null`).
   */
  async afterSuccess (order: TrackedOrder, checkedAt: number, poller?: object): Promise<number | null> {
    const desired = stateInterval(order, checkedAt, this.timings)
    if (desired === null) {
      if (poller !== undefined) this.dropDemand(poller)
      return null
    }
    if (poller !== undefined) this.setDemand(poller, desired)
    const { windowMs, allowedRate: allowed } = await this.budget()
    const s = stretchFactor(this.#demandRate + (poller === undefined ? 1 / Math.max(1, desired) : 0), allowed)
    this.#lastStretch = s
    // Nothing is planned further than a window away: by then every check in it has aged out.
    return Math.max(desired, Math.min(windowMs, Math.ceil(desired * s)))
  }

  /** True when the window has a check left for pollers (a nudge may spend it). */
  async hasHeadroom (): Promise<boolean> {
    const [budget, pausedUntil] = await Promise.all([this.budget(), this.pausedUntil()])
    return budget.headroom >= 1 && pausedUntil <= this.#now()
  }

  /** Spacing after the `failures`-th consecutive failure. */
  afterFailure (failures: number): number {
    return backoffDelay(failures, this.timings, this.#random)
  }

  /**
   * Delay until a check refused by the quota can succeed: until `retryAt`, plus a
   * jitter of up to half an interval so refused pollers do not all return at once.
   */
  afterRefusal (retryAt: number): number {
    const jitter = this.#random() * this.timings.pollIntervalMs / 2
    return Math.max(retryAt - this.#now(), 0) + Math.round(jitter) + 1
  }

  /** When upstream's own TOO_MANY_REQUESTS pause ends (0 when none). */
  async pausedUntil (): Promise<number> {
    return (await this.#quota.state()).pausedUntil
  }

  #tidyDemand (): void {
    if (this.#demand.size === 0) {
      this.#demandRate = 0
      return
    }
    if (++this.#demandUpdates % DEMAND_RESUM_EVERY !== 0) return
    let sum = 0
    for (const rate of this.#demand.values()) sum += rate
    this.#demandRate = sum
  }
}
