/**
 * The allocator: the one decision point for every order tracked on this instance. It
 * decides which order is checked when, within the pollers' partition of the quota, and
 * the pollers (`poller.ts`) carry its decisions out. This file composes the parts in
 * `allocator/`, one concept each:
 *
 * - `appointments.ts`: predictable changes (a planned send, the end of retention, a
 *   confirmation of learned lag) get one check just after the refresh that follows them;
 * - `watch.ts`: unpredictable ones (payment, top-up, confirmation of unknown lag, a late
 *   change) rank orders by the delay they have accumulated undetected, and each refresh
 *   period the watch's credit goes to the highest;
 * - `budget.ts`: the hard limit of the partition, the reservations of planned checks and
 *   the pacing of the watch;
 * - `refresh-phase.ts`, `lags.ts`, `progress.ts`: upstream's refresh phase and the
 *   confirmation lags, learned from what checks show;
 * - `explain.ts`: why and when each order is next checked, and the allocator's state.
 *
 * Orders come in two ways: followed by subscribers (the hub, {@link Allocator.follow}),
 * and known without subscribers (created through the gateway or registered by a token,
 * read from the orders registry: {@link Allocator.syncKnown}) — those are tracked until
 * Done or Gone all the same. Every check of an order, whoever makes it, is shown to the
 * allocator ({@link Allocator.observe}) so that it learns from all of them.
 *
 * The allocator never asks the quota for a check while the partition's window is full
 * (so nothing is refused in the normal course); a check that fails is retried after the
 * poller's backoff, as an appointment.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { InterestSet } from '../state/interest/index.js'
import type { KnownOrder } from '../state/orders/index.js'
import type { StoredSnapshot } from '../state/snapshots/index.js'
import type { Clock, TimerHandle } from './clock.js'
import { appointmentFor, checksNeeded, MAX_THINNING, predictedChanges, thin, type AppointmentSettings, type ChangeKind, type PredictedChange, type Thinning } from './allocator/appointments.js'
import { Budget, type BudgetSettings, type BudgetView, type PartitionState, type PollPartition } from './allocator/budget.js'
import type { AllocatorState, CheckReason, OrderExplanation } from './allocator/explain.js'
import { ConfirmationLags } from './allocator/lags.js'
import { newProgress, observeCheck, type OrderProgress } from './allocator/progress.js'
import { RefreshPhase } from './allocator/refresh-phase.js'
import { chooseWatched, hazardOf, watchIndex, weightOf, type Candidate, type WatchSettings } from './allocator/watch.js'
import type { TrackedOrder } from './schemas.js'
import { isFinalStatus } from './status.js'
import type { Leadership } from './leadership.js'

/** What a poller reports of one check it carried out. */
export type Execution =
  | { kind: 'snapshot', snapshot: StoredSnapshot }
  | { kind: 'gone' }
  | { kind: 'failed', retryAt: number }
  /** Another instance holds the order's lease and polls it. */
  | { kind: 'elsewhere' }

/** What carries out the allocator's checks of one order (a {@link Poller}). */
export interface Executor {
  execute (): Promise<Execution>
  stop (): void
}

/** The poll settings of the configuration. */
export interface PollTimings {
  /** Upstream's refresh period, and the shortest spacing of two checks of one order. */
  pollIntervalMs: number
  /** Shortest spacing of the watch's checks of an unpaid order once its address is no longer fresh. */
  pollWaitingPaymentMs: number
  /** The safety net of an order nothing can change is 24 × this. */
  pollMaxIntervalMs: number
}

/** Every tunable of the allocator (defaults from {@link PollTimings}, see {@link defaultSettings}). */
export interface AllocatorSettings extends AppointmentSettings, WatchSettings, BudgetSettings {
  periodMs: number
  /** Shortest spacing of watch checks of an unpaid order past `justShownMs`. */
  unpaidSpacingMs: number
  /** How often known orders are looked up in the registry, ms. */
  syncMs: number
}

/** The settings derived from the configuration's timings. */
export function defaultSettings (t: PollTimings): AllocatorSettings {
  const p = t.pollIntervalMs
  return {
    periodMs: p,
    slackMs: Math.min(1000, p / 20),
    overdueAfterMs: 5 * p,
    paymentScaleMs: 15 * p,
    confirmScaleMs: 10 * p,
    overdueScaleMs: 5 * p,
    justShownMs: 30 * p,
    safetyMs: 24 * t.pollMaxIntervalMs,
    floorMs: p / 120,
    unpaidSpacingMs: t.pollWaitingPaymentMs,
    syncMs: 5 * p,
    paceFraction: 2 / 3,
    taperBelow: 0.02,
    arrivalShare: 0.05,
    creditCapMs: 10 * p,
    firstLookMargin: 1.1,
    firstLookMinimum: 8,
    watchFloorShare: 0.7,
    retentionLateMs: 120 * p
  }
}

/** Where known orders are listed (the orders registry). */
export interface KnownOrders {
  list (): Promise<Array<[string, KnownOrder]>>
  get (trackcode: string): Promise<KnownOrder | undefined>
}

/** Options of {@link Allocator}. */
export interface AllocatorOptions {
  partition: PollPartition
  clock: Clock
  timings: PollTimings
  /** Makes the poller of an order (`initial`: its last snapshot, if any). */
  executor: (trackcode: string, initial: StoredSnapshot | undefined) => Executor
  /** Known orders, tracked without subscribers. */
  known?: KnownOrders
  /** The stored snapshot of a known order (to start from it). */
  stored?: (trackcode: string) => Promise<StoredSnapshot | undefined>
  log: FastifyBaseLogger
  settings?: Partial<AllocatorSettings>
  /**
   * In a cluster: only the leader's allocator checks, each check fenced by its term
   * (see `leadership.ts`). Without it, this instance always leads.
   */
  leadership?: Leadership
  /** This instance's id (shown in the state). */
  owner?: string
  /** Trackcodes with subscribers on any instance: refreshed for this instance's, tracked by the leader. */
  interest?: InterestSet
}

/** A subscriber-side handle on a tracked order (the hub's topic holds one). */
export interface Follow {
  /** True until stopped or the order is finished. */
  readonly running: boolean
  /** Epoch ms of the planned check; for the watch, the next refresh. */
  readonly nextCheckAt: number
  stop (): void
  /** Checks now if the partition allows (see {@link Allocator.nudge}). */
  nudge (): Promise<boolean>
}

interface Plan {
  at: number
  reason: CheckReason
  change: ChangeKind | null
  /** Every change the check sees (an appointment covering several, when thinned). */
  covers?: ChangeKind[]
}

interface Entry {
  trackcode: string
  progress: OrderProgress
  executor: Executor
  followers: Set<FollowHandle>
  known: boolean
  /** Listed in the cluster's interest set (subscribers on some instance). */
  interested: boolean
  /** Its predicted changes, not thinned. */
  predicted: PredictedChange[]
  /** The same, thinned to the allocator's level. */
  changes: PredictedChange[]
  plan: Plan | null
  retryAt: number | null
  retryReason: CheckReason
  checking: boolean
  nudged: boolean
  /** The watch round during which it was last checked. */
  checkedRound: number
}

class FollowHandle implements Follow {
  running = true
  readonly #allocator: Allocator
  readonly #entry: Entry
  readonly onFinished: () => void

  constructor (allocator: Allocator, entry: Entry, onFinished: () => void) {
    this.#allocator = allocator
    this.#entry = entry
    this.onFinished = onFinished
  }

  get nextCheckAt (): number {
    return this.#allocator.nextCheckAt(this.#entry.trackcode)
  }

  stop (): void {
    if (!this.running) return
    this.running = false
    this.#allocator.unfollow(this.#entry, this)
  }

  async nudge (): Promise<boolean> {
    return this.running && await this.#allocator.nudge(this.#entry.trackcode)
  }
}

/** See the module comment. */
export class Allocator {
  readonly settings: AllocatorSettings
  readonly phase: RefreshPhase
  readonly lags = new ConfirmationLags()
  readonly #opts: AllocatorOptions
  readonly #budget: Budget
  readonly #entries = new Map<string, Entry>()
  readonly #checks: Record<string, number> = {}
  #timer: TimerHandle | null = null
  #timerAt = Infinity
  #waking = false
  #again = false
  #closed = false
  #nextWatchAt = 0
  /** Watch rounds so far: one just after each upstream refresh. */
  #round = 0
  #roundAt = 0
  /** The time the last timer was armed for: time as the allocator sees it never lags it. */
  #firedAt = 0
  #nextSyncAt = 0
  #lastView: BudgetView | null = null
  #nextInterestAt = 0
  #fenced = 0
  /** False while a new leader reads what the previous one saw. */
  #ready = true
  /** While the partition's window is full, nothing is tried again before this. */
  #fullUntil = 0
  /** Times of the first looks at new orders, oldest first (the trailing window's). */
  readonly #firstLooks: number[] = []
  /** Times of the allocator's own checks (appointments, watch, retries), oldest first (the trailing window's). */
  readonly #ownChecks: number[] = []
  /** Times of its appointments, oldest first (the trailing window's): their demand over a day. */
  readonly #appointmentChecks: number[] = []
  /** How far appointments are thinned now (`appointments.ts`). */
  #thinning: Thinning = 0
  /** When the allocator first looked at its budget: before a window has passed, first looks are extrapolated. */
  #budgetSince = -1

  constructor (opts: AllocatorOptions) {
    this.#opts = opts
    this.settings = { ...defaultSettings(opts.timings), ...opts.settings }
    this.phase = new RefreshPhase({ periodMs: this.settings.periodMs })
    this.#budget = new Budget(this.settings)
  }

  /**
   * The allocator's time: the clock's, but never before the moment the last timer was
   * armed for (a clock that stands still while its timers run, as in tests, still
   * moves the allocator on).
   */
  #now (): number {
    return Math.max(this.#opts.clock.now(), this.#firedAt)
  }

  /** Starts the allocator: the first look at the registry of known orders (e.g. after a restart). */
  start (): void {
    this.#arm(this.#now())
  }

  /** Orders tracked. */
  get size (): number {
    return this.#entries.size
  }

  /** True when `trackcode` is tracked. */
  tracks (trackcode: string): boolean {
    return this.#entries.has(trackcode)
  }

  /**
   * A subscriber follows `trackcode` (its first snapshot: `initial`): tracks the order
   * if it is not yet. `onFinished` is called once the order is Done or Gone.
   */
  follow (trackcode: string, initial: StoredSnapshot, onFinished: () => void): Follow {
    let entry = this.#entries.get(trackcode)
    if (entry === undefined) entry = this.#track(trackcode, initial, false, initial.checkedAt)
    else if (initial.checkedAt > entry.progress.lastCheckAt) this.observe(trackcode, initial.order, initial.checkedAt)
    const handle = new FollowHandle(this, entry, onFinished)
    entry.followers.add(handle)
    if (entry.followers.size === 1) this.#touchInterest([trackcode])
    if (!entry.known && this.#opts.known !== undefined) {
      this.#opts.known.get(trackcode).then((k) => { if (k !== undefined) entry.known = true }, (err: unknown) => {
        this.#opts.log.warn({ err, trackcode }, 'could not read the orders registry')
      })
    }
    this.#arm(this.#now())
    return handle
  }

  /**
   * A known order (created through the gateway, or registered): tracked until Done or
   * Gone, watched or not. `since`: when it became known (its deposit address was shown).
   */
  register (trackcode: string, since: number, initial?: StoredSnapshot): void {
    if (this.#closed) return
    const entry = this.#entries.get(trackcode)
    if (entry !== undefined) {
      entry.known = true
      return
    }
    if (initial !== undefined && isFinalStatus(initial.order.status)) return
    this.#track(trackcode, initial, true, since)
    this.#arm(this.#now())
  }

  /**
   * Reads the known orders from the registry: tracks those not tracked yet, and stops
   * tracking those no longer in it (unregistered, deleted) that nobody follows.
   */
  async syncKnown (): Promise<number> {
    const known = this.#opts.known
    if (known === undefined) return 0
    let added = 0
    const listed = await known.list()
    const present = new Set(listed.map(([trackcode]) => trackcode))
    for (const entry of [...this.#entries.values()]) {
      if (!entry.known || present.has(entry.trackcode)) continue
      entry.known = false
      if (entry.followers.size === 0 && !entry.interested) this.#untrack(entry, false)
    }
    for (const [trackcode, order] of listed) {
      if (this.#closed) break
      if (this.#entries.has(trackcode)) continue
      const stored = await this.#opts.stored?.(trackcode)
      if (stored !== undefined && isFinalStatus(stored.order.status)) continue
      if (this.#entries.has(trackcode)) continue
      this.register(trackcode, order.since, stored)
      added++
    }
    return added
  }

  /**
   * Shows the allocator a check of `trackcode` sent at `sentAt` (whoever made it),
   * whose answer is `snapshot`: it learns from it and plans the order's next check.
   */
  observe (trackcode: string, order: TrackedOrder, sentAt: number): void {
    const entry = this.#entries.get(trackcode)
    if (entry === undefined) return
    observeCheck(entry.progress, order, sentAt, this)
    this.#predict(entry, order)
    if (!entry.checking) this.#replan(entry, this.#now())
  }

  /**
   * Checks `trackcode` at once rather than when planned (the demo just paid it), if the
   * partition has a check left; a nudge during a check makes another right after it.
   * False when nothing was started (not tracked, backing off, or no check left).
   */
  async nudge (trackcode: string): Promise<boolean> {
    const entry = this.#entries.get(trackcode)
    if (entry === undefined || entry.retryAt !== null || !this.#leading()) return false
    if (entry.checking) {
      entry.nudged = true
      return true
    }
    const now = this.#now()
    const state = await this.#opts.partition.state()
    if (!this.#budget.canSpend(this.#view(state, now), now)) return false
    if (entry.checking) {
      entry.nudged = true
      return true
    }
    if (this.#entries.get(trackcode) !== entry) return false
    void this.#execute(entry, 'nudge')
    return true
  }

  /** Epoch ms when `trackcode` is next checked: its plan, else the watch's next round (0: not tracked). */
  nextCheckAt (trackcode: string): number {
    const entry = this.#entries.get(trackcode)
    if (entry === undefined) return 0
    return entry.plan?.at ?? Math.max(this.#nextWatchAt, this.#now())
  }

  /**
   * A first look at an order not tracked yet is about to be made outside the allocator's
   * timer (a subscriber's first check, which cannot wait): it is charged to the
   * first-look reserve (`budget.ts`), which the appointments and the watch never take.
   */
  chargeFirstLook (trackcode: string): void {
    if (this.#entries.has(trackcode)) return
    this.#recordFirstLook(this.#now())
  }

  #recordFirstLook (now: number): void {
    this.#firstLooks.push(now)
    this.#checks['first-look'] = (this.#checks['first-look'] ?? 0) + 1
  }

  /** First looks within the window ending at `now` (older ones forgotten). */
  #firstLooksIn (windowMs: number, now: number): number {
    forgetBefore(this.#firstLooks, now - windowMs)
    return this.#firstLooks.length
  }

  /**
   * First looks to expect over a window: those of the trailing window, extrapolated to a
   * whole window while the allocator has run for less (after a start, the window's
   * checks age out only a window later, so the reserve must cover a whole window's
   * arrivals from the start; a quarter window at least, so a first arrival does not
   * count for a day of them).
   */
  #expectedFirstLooks (windowMs: number, now: number): number {
    return this.#extrapolated(this.#firstLooksIn(windowMs, now), windowMs, now)
  }

  /** `seen` checks of the trailing window, extrapolated to a whole window (see {@link #expectedFirstLooks}). */
  #extrapolated (seen: number, windowMs: number, now: number): number {
    if (this.#budgetSince < 0) this.#budgetSince = now
    const ran = now - this.#budgetSince
    if (ran >= windowMs) return seen
    return Math.ceil(seen * windowMs / Math.max(ran, windowMs / 4))
  }

  /** The order's predicted changes from `order`, thinned to the current level. */
  #predict (entry: Entry, order: TrackedOrder): void {
    entry.predicted = predictedChanges(order, entry.progress, this.lags, this.settings.periodMs)
    entry.changes = thin(entry.predicted, this.#thinning, this.settings)
  }

  /**
   * How long a snapshot checked at `checkedAt` and not kept fresh by the allocator may
   * be served without a new check: until upstream's next refresh, at least one period.
   */
  freshForMs (checkedAt: number): number {
    const now = this.#now()
    return Math.max(0, Math.max(this.phase.nextTick(checkedAt), checkedAt + this.settings.periodMs) - now)
  }

  /** Stops every timer and poller. */
  close (): void {
    this.#closed = true
    this.#clearTimer()
    for (const entry of [...this.#entries.values()]) this.#untrack(entry, false)
  }

  /** A follower left: the order stays tracked while someone follows it or it is known. */
  unfollow (entry: Entry, handle: FollowHandle): void {
    entry.followers.delete(handle)
    if (entry.followers.size === 0 && !entry.known && !entry.interested && this.#entries.get(entry.trackcode) === entry) this.#untrack(entry, false)
  }

  /** The allocator's state, for metrics and the admin route. */
  state (): AllocatorState {
    const v = this.#lastView
    let appointments = 0
    let watched = 0
    const now = this.#now()
    for (const e of this.#entries.values()) {
      if (e.plan !== null) appointments++
      if (e.progress.last !== undefined && this.#hazard(e, now).rate > 0) watched++
    }
    const p50 = (kind: 'deposit' | 'output'): number | null => {
      const q = this.lags.quantile(kind, 0.5)
      return q === undefined ? null : Math.round(q / 1000)
    }
    return {
      orders: this.#entries.size,
      appointments,
      watched,
      thinning: this.#thinning,
      budget: {
        limit: v?.limit ?? 0,
        used: v?.used ?? 0,
        window_ms: v?.windowMs ?? 0,
        first_looks: v?.firstLooks ?? 0,
        first_look_reserve: v?.firstLookReserve ?? 0,
        own_limit: v?.ownLimit ?? 0,
        peak: v?.peak ?? 0,
        reserved_hard: v?.reservedHard ?? 0,
        reserved_soft: v?.reservedSoft ?? 0,
        free: v?.free ?? 0,
        watch_per_hour: (v?.watchRate ?? 0) * 3_600_000,
        credit: this.#budget.credit
      },
      refresh: { period_ms: this.phase.periodMs, uncertainty: this.phase.uncertainty(), observations: this.phase.observations },
      lags: { deposit_p50_s: p50('deposit'), output_p50_s: p50('output'), deposit_observations: this.lags.count('deposit'), output_observations: this.lags.count('output') },
      checks: { ...this.#checks },
      leader: { leading: this.#leading(), term: this.#opts.leadership?.term ?? null, owner: this.#opts.owner ?? '', fenced: this.#fenced }
    }
  }

  /** Why and when each tracked order is next checked. */
  explain (): OrderExplanation[] {
    const now = this.#now()
    const out: OrderExplanation[] = []
    for (const e of this.#entries.values()) {
      const hazard = this.#hazard(e, now)
      const weight = weightOf(e.progress.last, e.progress, e.followers.size, now, this.settings)
      const last = e.progress.lastCheckAt
      const index = e.progress.last === undefined ? 0 : watchIndex(hazard, weight, this.#elapsed(e, now), this.settings)
      const planNear = e.plan !== null && (hazard.rate <= 0 || e.plan.at <= now + this.settings.periodMs)
      const reason: CheckReason = planNear && e.plan !== null ? e.plan.reason : hazard.rate > 0 ? 'watch' : e.plan?.reason ?? (e.progress.last === undefined ? 'none' : 'safety')
      out.push({
        trackcode: e.trackcode,
        status: e.progress.last?.status ?? null,
        reason,
        change: e.plan?.change ?? hazard.kind,
        next_check_at: e.plan === null ? null : Math.floor(e.plan.at / 1000),
        covers: e.plan?.covers ?? (e.plan?.change === null || e.plan === null ? [] : [e.plan.change]),
        last_check_at: last > 0 ? Math.floor(last / 1000) : null,
        hazard_per_hour: hazard.rate * 3_600_000,
        index_s: hazard.rate > 0 ? index / 1000 : 0,
        weight,
        subscribers: e.followers.size,
        known: e.known
      })
    }
    return out
  }

  /** True when this allocator decides (it leads the cluster, or there is no cluster). */
  #leading (): boolean {
    return this.#ready && (this.#opts.leadership?.leading ?? true)
  }

  /** How often this instance refreshes its subscriptions in the interest set, and the leader reads it. */
  #interestMs (): number {
    return Math.max(500, this.settings.periodMs)
  }

  #touchInterest (trackcodes: string[]): void {
    this.#opts.interest?.touch(trackcodes, 3 * this.#interestMs()).catch((err: unknown) => {
      this.#opts.log.warn({ err }, 'could not refresh the interest set')
    })
  }

  /**
   * Refreshes this instance's subscriptions in the interest set; tracks the trackcodes
   * subscribed elsewhere (from their stored snapshot) and lets go of those no longer
   * subscribed anywhere, unless known.
   */
  async #syncInterest (): Promise<void> {
    const interest = this.#opts.interest
    if (interest === undefined) return
    const mine = [...this.#entries.values()].filter((e) => e.followers.size > 0).map((e) => e.trackcode)
    await interest.touch(mine, 3 * this.#interestMs())
    const listed = new Set(await interest.list())
    for (const code of listed) {
      if (this.#closed) return
      if (this.#entries.has(code)) continue
      const stored = await this.#opts.stored?.(code)
      if (this.#entries.has(code) || (stored !== undefined && isFinalStatus(stored.order.status))) continue
      this.#track(code, stored, false, stored?.checkedAt ?? this.#now()).interested = true
    }
    for (const e of [...this.#entries.values()]) {
      e.interested = listed.has(e.trackcode)
      if (!e.interested && !e.known && e.followers.size === 0) this.#untrack(e, false)
    }
  }

  /**
   * The leadership changed (`leadership.ts`). A new leader first reads the last
   * snapshot of every order it tracks (what the previous leader saw) so that it does not
   * check again what was just checked; a former leader stops its pollers (giving their
   * leases back) and checks nothing more.
   */
  onLeadership (leading: boolean): void {
    if (this.#closed) return
    if (!leading) {
      for (const e of this.#entries.values()) {
        e.executor.stop()
        e.executor = this.#opts.executor(e.trackcode, undefined)
      }
      this.#clearTimer()
      this.#arm(this.#now())
      return
    }
    this.#ready = false
    const catchUp = async (): Promise<void> => {
      await this.syncKnown()
      await this.#syncInterest()
      for (const e of [...this.#entries.values()]) {
        const stored = await this.#opts.stored?.(e.trackcode)
        if (stored !== undefined && stored.checkedAt > e.progress.lastCheckAt) this.observe(e.trackcode, stored.order, stored.checkedAt)
      }
    }
    catchUp().catch((err: unknown) => { this.#opts.log.warn({ err }, 'a new leader could not read the previous one\'s snapshots') }).finally(() => {
      this.#ready = true
      this.#arm(this.#now())
    })
  }

  #track (trackcode: string, initial: StoredSnapshot | undefined, known: boolean, since: number): Entry {
    const progress = newProgress(since, initial?.order, initial?.checkedAt ?? 0)
    const entry: Entry = {
      trackcode,
      progress,
      executor: this.#opts.executor(trackcode, initial),
      followers: new Set(),
      known,
      interested: false,
      predicted: [],
      changes: [],
      plan: null,
      retryAt: null,
      retryReason: 'retry',
      checking: false,
      nudged: false,
      checkedRound: this.#round
    }
    if (initial !== undefined) this.#predict(entry, initial.order)
    this.#entries.set(trackcode, entry)
    this.#replan(entry, this.#now())
    return entry
  }

  #untrack (entry: Entry, finished: boolean): void {
    if (this.#entries.get(entry.trackcode) === entry) this.#entries.delete(entry.trackcode)
    entry.executor.stop()
    entry.plan = null
    for (const f of [...entry.followers]) {
      f.running = false
      if (finished) f.onFinished()
    }
    entry.followers.clear()
  }

  #hazard (e: Entry, now: number): ReturnType<typeof hazardOf> {
    const last = e.progress.last
    if (last === undefined) return { rate: 0, kind: null }
    return hazardOf(last, e.progress, e.changes, now, this.lags, this.settings.periodMs, this.settings)
  }

  /** Plans the entry's next check: a retry, a first look, an appointment, or the watch (no plan). */
  #replan (entry: Entry, now: number): void {
    const last = entry.progress.last
    if (entry.retryAt !== null) {
      entry.plan = { at: entry.retryAt, reason: entry.retryReason, change: null }
    } else if (last === undefined) {
      entry.plan = { at: now, reason: 'first-look', change: null }
    } else if (isFinalStatus(last.status)) {
      entry.plan = null
    } else {
      const a = appointmentFor(entry.changes, entry.progress.lastCheckAt, now, this.phase, this.settings)
      entry.plan = a === null ? null : { at: Math.max(a.at, entry.progress.lastCheckAt + 1), reason: 'appointment', change: a.change.kind, covers: [...new Set(a.covers.map((c) => c.kind))] }
    }
    this.#arm(now)
  }

  #clearTimer (): void {
    if (this.#timer !== null) this.#opts.clock.clearTimeout(this.#timer)
    this.#timer = null
    this.#timerAt = Infinity
  }

  /** Arms the one timer for the earliest of: a planned check, the watch's next round, the next look at the registry. */
  #arm (now: number): void {
    if (this.#closed) return
    let at = this.#opts.known === undefined ? Infinity : this.#nextSyncAt
    if (this.#opts.interest !== undefined) at = Math.min(at, this.#nextInterestAt)
    // Only the leader checks: elsewhere the timer serves the registry and the interest set.
    if (this.#entries.size > 0 && this.#leading()) {
      at = Math.min(at, this.#nextWatchAt)
      for (const e of this.#entries.values()) if (e.plan !== null && !e.checking && e.plan.at < at) at = e.plan.at
    }
    if (at === Infinity) {
      this.#clearTimer()
      return
    }
    at = Math.max(at, now, this.#fullUntil)
    if (this.#timer !== null && this.#timerAt <= at) return
    this.#clearTimer()
    this.#timerAt = at
    this.#timer = this.#opts.clock.setTimeout(() => {
      this.#timer = null
      this.#timerAt = Infinity
      this.#firedAt = Math.max(this.#firedAt, at)
      this.#wake()
    }, at - now)
  }

  #wake (): void {
    if (this.#closed) return
    if (this.#waking) {
      this.#again = true
      return
    }
    this.#waking = true
    this.#decide().catch((err: unknown) => {
      this.#opts.log.error({ err }, 'the poll allocator failed a round')
    }).finally(() => {
      this.#waking = false
      const now = this.#now()
      if (this.#again) {
        this.#again = false
        this.#wake()
        return
      }
      // After a failed round, try again a period later rather than in a loop.
      if (this.#nextWatchAt <= now) this.#nextWatchAt = now + this.settings.periodMs
      this.#arm(now)
    })
  }

  /** One decision: due appointments first, then (once per refresh) the watch. */
  async #decide (): Promise<void> {
    let now = this.#now()
    if (this.#opts.known !== undefined && now >= this.#nextSyncAt) {
      this.#nextSyncAt = now + this.settings.syncMs
      await this.syncKnown().catch((err: unknown) => { this.#opts.log.warn({ err }, 'could not list the known orders') })
      now = this.#now()
    }
    if (this.#opts.interest !== undefined && now >= this.#nextInterestAt) {
      this.#nextInterestAt = now + this.#interestMs()
      await this.#syncInterest().catch((err: unknown) => { this.#opts.log.warn({ err }, 'could not sync the interest set') })
      now = this.#now()
    }
    if (this.#entries.size === 0 || !this.#leading()) return
    const state = await this.#opts.partition.state()
    now = this.#now()
    const view = this.#view(state, now)
    // What this round starts counts at once (the window's count lags the checks in flight).
    const spent = (): BudgetView => ({ ...view, used: view.used + started, ownUsed: view.ownUsed + ownStarted, free: view.free - watchStarted })
    let started = 0
    let ownStarted = 0
    // Appointments were counted in the view's peak; the watch's checks were not.
    let watchStarted = 0

    const due = [...this.#entries.values()].filter((e) => e.plan !== null && !e.checking && e.plan.at <= now)
    // First looks first (their reserve is theirs), then by time.
    due.sort((a, b) => Number((b.plan as Plan).reason === 'first-look') - Number((a.plan as Plan).reason === 'first-look') || (a.plan as Plan).at - (b.plan as Plan).at)
    for (const e of due) {
      const first = (e.plan as Plan).reason === 'first-look'
      if (!(first ? this.#budget.canLook(spent(), now) : this.#budget.canSpend(spent(), now))) {
        // The window is full: look again a little later rather than at once, in a loop.
        this.#fullUntil = now + this.settings.periodMs / 4
        if (first) continue
        break
      }
      started++
      if (first) this.#recordFirstLook(now)
      else {
        ownStarted++
        this.#ownChecks.push(now)
        if ((e.plan as Plan).reason === 'appointment') this.#appointmentChecks.push(now)
      }
      void this.#execute(e, (e.plan as Plan).reason)
    }

    if (now >= this.#nextWatchAt) {
      this.#round++
      // The next round just after the next refresh (a period later while the phase is unknown).
      this.#nextWatchAt = Math.max(now + this.settings.periodMs / 2, this.phase.surelyVisibleAfter(now)) + this.settings.slackMs
      // A round is a refresh period, however little the clock moved (a clock frozen in tests).
      const credit = this.#budget.accrue(view, this.#roundAt === 0 ? 0 : Math.max(this.settings.periodMs, now - this.#roundAt))
      this.#roundAt = now
      const candidates: Candidate[] = []
      for (const e of this.#entries.values()) {
        // An appointment within the period will look anyway.
        if (e.checking || e.progress.last === undefined || (e.plan !== null && e.plan.at <= now + this.settings.periodMs)) continue
        const c = this.#candidate(e, now)
        if (c !== null) candidates.push(c)
      }
      // Thinned: no safety checks.
      const eligible = this.#thinning > 0 ? candidates.filter((c) => !c.safety) : candidates
      for (const c of chooseWatched(eligible, credit, this.settings.floorMs)) {
        if (!this.#budget.canWatch(spent(), now)) break
        const e = this.#entries.get(c.trackcode)
        if (e === undefined || e.checking) continue
        started++
        ownStarted++
        watchStarted++
        this.#ownChecks.push(now)
        this.#budget.spend()
        void this.#execute(e, c.safety ? 'safety' : 'watch')
      }
    }
  }

  /**
   * Time a change could have been waiting undetected since the order's last check:
   * the refresh periods passed since (watch rounds follow refreshes), 0 before the
   * next refresh; at least the time elapsed when a refresh surely came in between.
   */
  #elapsed (e: Entry, now: number): number {
    const rounds = this.#round - e.checkedRound
    if (rounds <= 0) return 0
    // Time moved, but not past any refresh upstream could have made: nothing new to see.
    if (now > e.progress.lastCheckAt && this.phase.nextTick(e.progress.lastCheckAt) > now) return 0
    return Math.max(rounds * this.settings.periodMs, now - e.progress.lastCheckAt)
  }

  #candidate (e: Entry, now: number): Candidate | null {
    const last = e.progress.last as TrackedOrder
    const lastAt = e.progress.lastCheckAt
    const hazard = this.#hazard(e, now)
    const weight = weightOf(last, e.progress, e.followers.size, now, this.settings)
    // Never twice in one refresh period (e.g. by a new leader, just after the previous one looked).
    if (now - lastAt < this.settings.periodMs - this.settings.slackMs) return null
    // An unpaid order past its fresh address is not looked at more often than this.
    if (last.status === 'WaitingForPayment' && now - e.progress.since >= this.settings.justShownMs && now - lastAt < this.settings.unpaidSpacingMs) return null
    const index = watchIndex(hazard, weight, this.#elapsed(e, now), this.settings)
    if (index <= 0) return null
    return { trackcode: e.trackcode, index, safety: hazard.rate <= 0 }
  }

  /**
   * The budget now: the partition less the first-look reserve, the checks planned (hard)
   * and expected (soft); thins the appointments, or undoes it, as they fit.
   */
  #view (state: PartitionState, now: number): BudgetView {
    const horizon = now + state.windowMs
    const firstLooks = this.#firstLooksIn(state.windowMs, now)
    const expected = Math.max(firstLooks, this.#expectedFirstLooks(state.windowMs, now))
    let soft = 0
    let other = 0
    for (const e of this.#entries.values()) {
      // Retries and the like, due now (first looks have their own reserve).
      if (e.plan !== null && e.plan.reason !== 'appointment' && e.plan.reason !== 'first-look') other++
      const last = e.progress.last
      if (last === undefined || last.status === 'WaitingForPayment' || last.status === 'Confirming') {
        // Once paid: one check per output's send and one for the retention, if it pays (even odds).
        soft += ((last?.outputs.length ?? 1) + 1) / 2
      }
    }
    const reservedAt = (level: Thinning): number[] => {
      const times: number[] = new Array<number>(other).fill(now)
      for (const e of this.#entries.values()) times.push(...checksNeeded(level === this.#thinning ? e.changes : thin(e.predicted, level, this.settings), now, horizon, this.settings))
      return times
    }
    // The least thinning whose appointments fit the room they have (the most, when none
    // does). What they need over a window: what is reserved, or what they took over the
    // trailing window (orders reveal their appointments only once funded) thinned in the
    // proportion the reserved ones are.
    forgetBefore(this.#appointmentChecks, now - state.windowMs)
    const room = this.#budget.appointmentRoom(state, expected, Math.ceil(soft))
    const unthinned = reservedAt(0)
    const trailing = this.#extrapolated(this.#appointmentChecks.length, state.windowMs, now)
    const demand = (r: number[]): number => Math.max(r.length, unthinned.length === 0 ? 0 : trailing * r.length / unthinned.length)
    let level: Thinning = 0
    let reserved = unthinned
    while (demand(reserved) > room && level < MAX_THINNING) {
      level = (level + 1) as Thinning
      reserved = reservedAt(level)
    }
    if (level !== this.#thinning) this.#rethin(level, now)
    forgetBefore(this.#ownChecks, now - state.windowMs)
    const view = this.#budget.view(state, firstLooks, expected, { checks: this.#ownChecks, reserved: reserved.sort((a, b) => a - b) }, Math.ceil(demand(reserved)), Math.ceil(soft), now)
    this.#lastView = view
    return view
  }

  /** Thins every order's appointments to `level` and plans them again. */
  #rethin (level: Thinning, now: number): void {
    this.#thinning = level
    for (const e of this.#entries.values()) {
      e.changes = thin(e.predicted, level, this.settings)
      if (!e.checking) this.#replan(e, now)
    }
  }

  async #execute (entry: Entry, reason: CheckReason): Promise<void> {
    if (entry.checking || this.#closed) return
    entry.checking = true
    const plan = entry.plan
    entry.plan = null
    // Fencing: a check decided under a term is sent only while that term leads.
    const leadership = this.#opts.leadership
    if (leadership !== undefined) {
      const term = leadership.term
      if (term === null || !(await leadership.confirm(term))) {
        this.#fenced++
        entry.checking = false
        entry.plan = plan ?? { at: this.#now(), reason, change: null }
        return
      }
    }
    entry.checkedRound = this.#round
    this.#checks[reason] = (this.#checks[reason] ?? 0) + 1
    let outcome: Execution
    try {
      outcome = await entry.executor.execute()
    } catch (err) {
      this.#opts.log.error({ err, trackcode: entry.trackcode }, 'poller failed')
      outcome = { kind: 'failed', retryAt: this.#now() + 24 * this.settings.periodMs }
    }
    entry.checking = false
    if (this.#entries.get(entry.trackcode) !== entry) return
    const now = this.#now()
    switch (outcome.kind) {
      case 'snapshot':
        entry.retryAt = null
        if (isFinalStatus(outcome.snapshot.order.status)) {
          this.#untrack(entry, true)
          return
        }
        break
      case 'gone':
        this.#untrack(entry, true)
        return
      case 'failed':
        entry.retryAt = outcome.retryAt
        entry.retryReason = 'retry'
        break
      case 'elsewhere':
        entry.retryAt = now + this.settings.periodMs
        entry.retryReason = 'elsewhere'
        break
    }
    if (entry.nudged && entry.retryAt === null) {
      entry.nudged = false
      void this.#execute(entry, 'nudge')
      return
    }
    entry.nudged = false
    this.#replan(entry, now)
  }
}

/** Drops the times at or before `t` from the front of ascending `times`. */
function forgetBefore (times: number[], t: number): void {
  let drop = 0
  while (drop < times.length && (times[drop] as number) <= t) drop++
  if (drop > 0) times.splice(0, drop)
}
