/**
 * The pollers' budget: what the allocator may spend, read from the pollers' partition
 * of the quota through {@link PollPartition} (the tracking plugin adapts the quota store
 * to it), with the checks it reserves for what is planned and the pacing of the watch.
 *
 * - **Hard limit.** No check is started while the partition's window is full: the
 *   allocator never asks the quota for a slot it knows it would be refused.
 * - **First looks.** The first look at a newly followed or created order comes out of a
 *   hard reserve, sized from the first looks of the trailing window with a margin
 *   (`firstLookMargin`, at least `firstLookMinimum`): the appointments and the watch
 *   stop at the partition less that reserve, so a first look always finds a slot.
 * - **Reservations.** Appointments planned within the next window (hard) and the
 *   appointments unfunded orders will need once paid (soft, at the odds of a payment),
 *   plus a share kept for orders still to come, are set aside before the watch spends.
 * - **Pacing.** The watch's credit accrues at what a window leaves it once the planned
 *   and expected checks are served — `(limit − reserved) ÷ (windowMs × paceFraction)`,
 *   a rate it could keep up window after window. It runs ahead of that rate (over
 *   `paceFraction` of a window) only while half the coming windows are free *and* the
 *   pace of the last eighth of a window, kept up for a whole one, would leave as much:
 *   a burst spent while the window is still empty (after a start) comes back a window
 *   later as a shortage, exactly when that day's checks are still counted. It tapers
 *   to zero only while less than `taperBelow` of the window is free (a small margin:
 *   a taper that sets in early starves the watch whenever the window is high, and the
 *   checks it did not make then let the window fill again a window later — the 24 h
 *   echo); it is capped, so an idle hour does not turn into a burst. Subtracting the window's own checks as well (as a first version did)
 *   counts the planned checks twice — once spent, once reserved — and left a third of
 *   the partition unspent (at most 325 of 500 checks in any 24 h at K = 20).
 * - **Thinning.** When the appointments would reserve more than the allocator's share
 *   less a floor kept for the watch (`watchFloorShare`), they are thinned
 *   ({@link Budget.appointmentRoom}, `appointments.ts`) instead of starving the watch and
 *   filling the window; the watch's pace never falls below that floor.
 */

/** The pollers' partition of the quota, as the allocator needs it. */
export interface PartitionState {
  /** Checks the pollers may make per window. */
  limit: number
  /** Checks counted against that limit in the current window. */
  used: number
  /** Length of the rolling window, ms. */
  windowMs: number
  /** Epoch ms until which upstream asked for a pause (0: none). */
  pausedUntil: number
}

/** Where the allocator reads its partition; see the tracking plugin for the adapter. */
export interface PollPartition {
  state (): Promise<PartitionState>
}

/** Settings of the pacing. */
export interface BudgetSettings {
  /** The watch spends what a window leaves it over this part of the window while the budget is slack (over the whole window once tight). */
  paceFraction: number
  /** Below this free part of the window the watch's pace tapers to zero. */
  taperBelow: number
  /** Part of the limit kept for the appointments of orders still to come. */
  arrivalShare: number
  /** Most credit the watch may hold, in ms of its current pace (at least one check). */
  creditCapMs: number
  /** First looks reserved per first look seen in the trailing window (the margin over the observed arrivals). */
  firstLookMargin: number
  /** First looks reserved however few were seen (a restart, a quiet day). */
  firstLookMinimum: number
  /**
   * Part of what the allocator may spend kept for the watch however many appointments
   * are reserved: appointments are thinned (`appointments.ts`) rather than take it.
   */
  watchFloorShare: number
}

/** The budget at one instant, for decisions and metrics. */
export interface BudgetView {
  limit: number
  used: number
  windowMs: number
  pausedUntil: number
  /** First looks of new orders made in the window (counted in `used`). */
  firstLooks: number
  /**
   * First looks reserved over a window: sized from `firstLooks` with a margin. The
   * appointments and the watch never take it: they stop at `limit − firstLookReserve`
   * of their own checks.
   */
  firstLookReserve: number
  /** Checks the appointments and the watch may have in a window. */
  ownLimit: number
  /** Their checks in the window (`used − firstLooks`). */
  ownUsed: number
  /** Appointments planned within the next window. */
  reservedHard: number
  /** Expected appointments of orders not yet funded, and the share kept for arrivals. */
  reservedSoft: number
  /** The most own checks a coming window holds if the watch spends nothing more ({@link peakOf}). */
  peak: number
  /** What the watch may still spend now: `ownLimit − peak`. */
  free: number
  /** The watch's pace, checks per ms. */
  watchRate: number
}

/** What the allocator's own checks will take of the coming windows. */
export interface OwnLoad {
  /** Times of its checks still in the window, ascending. */
  checks: readonly number[]
  /** Its checks in the window it has no time of (another leader's): counted as staying. */
  unknown: number
  /** Times of the appointments reserved over the next window, ascending. */
  reserved: readonly number[]
  /** Expected checks not yet planned (unfunded orders, arrivals), spread over the next window. */
  soft: number
}

/** The recent pace is read over this part of a window. */
const RECENT_PARTS = 8

/** Points of the next window where {@link peakOf} looks, besides each reservation. */
const PEAK_GRID = 96

/** How many of the ascending `times` are after `t` (binary search). */
function countAfter (times: readonly number[], t: number): number {
  let lo = 0
  let hi = times.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((times[mid] as number) <= t) lo = mid + 1
    else hi = mid
  }
  return times.length - lo
}

/**
 * The most of the allocator's own checks any window ending within the next one will
 * hold — those already made that are still in it, the reserved ones due by its end,
 * the expected ones spread evenly — if nothing else is spent. A check of the watch fits
 * while this stays below the allocator's share: counting the window's checks and the
 * next window's reservations side by side would count a day's appointments twice.
 */
export function peakOf (load: OwnLoad, now: number, windowMs: number): number {
  const { checks, reserved } = load
  const after = (t: number): number => countAfter(checks, t)
  const at = (end: number, due: number): number => load.unknown + after(end - windowMs) + due + load.soft * Math.min(1, Math.max(0, end - now) / windowMs)
  let peak = at(now, 0)
  reserved.forEach((r, i) => { if (r < now + windowMs) peak = Math.max(peak, at(r, i + 1)) })
  let due = 0
  for (let g = 1; g <= PEAK_GRID; g++) {
    const end = now + g * windowMs / PEAK_GRID
    while (due < reserved.length && (reserved[due] as number) <= end) due++
    peak = Math.max(peak, at(end, due))
  }
  return Math.ceil(peak)
}

/** Computes {@link BudgetView}s and keeps the watch's credit. */
export class Budget {
  readonly #settings: BudgetSettings
  #credit = 0

  constructor (settings: BudgetSettings) {
    this.#settings = settings
  }

  /** The watch's credit, whole checks it may make now. */
  get credit (): number {
    return this.#credit
  }

  /** The first looks to reserve over a window when `firstLooks` are expected in it. */
  firstLookReserve (limit: number, firstLooks: number): number {
    const s = this.#settings
    return Math.min(limit, Math.ceil(firstLooks * s.firstLookMargin) + s.firstLookMinimum)
  }

  /**
   * What the appointments may reserve in a window before they must be thinned: the
   * allocator's own share of `state` less the floor kept for the watch and the share
   * kept for arrivals.
   */
  appointmentRoom (state: PartitionState, expectedFirstLooks: number, reservedSoftOrders: number): number {
    const s = this.#settings
    const limit = Math.max(0, state.limit)
    const ownLimit = limit - this.firstLookReserve(limit, expectedFirstLooks)
    return Math.max(0, ownLimit * (1 - s.watchFloorShare) - reservedSoftOrders - Math.ceil(limit * s.arrivalShare))
  }

  /**
   * The budget now, from the partition, the first looks made in the window and those
   * expected over a window (`expectedFirstLooks`, at least as many), the allocator's own
   * checks and reservations (`load`), what the appointments need over a window
   * (`appointmentDemand`: the reserved ones, or what they took over the trailing
   * window), and the expected appointments of unfunded orders.
   */
  view (state: PartitionState, firstLooks: number, expectedFirstLooks: number, load: Omit<OwnLoad, 'soft' | 'unknown'>, appointmentDemand: number, reservedSoftOrders: number, now: number): BudgetView {
    const s = this.#settings
    const limit = Math.max(0, state.limit)
    const firstLookReserve = this.firstLookReserve(limit, Math.max(firstLooks, expectedFirstLooks))
    const ownLimit = Math.max(0, limit - firstLookReserve)
    const ownUsed = Math.max(0, state.used - firstLooks)
    // What the appointments need over a window: those reserved, or what they took over the trailing one.
    const reservedHard = Math.max(load.reserved.length, appointmentDemand)
    const reservedSoft = reservedSoftOrders + Math.ceil(limit * s.arrivalShare)
    const peak = peakOf({ ...load, unknown: Math.max(0, ownUsed - load.checks.length), soft: reservedSoft }, now, state.windowMs)
    const free = Math.max(0, ownLimit - peak)
    // The watch keeps a floor of the allocator's share, whatever is reserved.
    const sustainable = Math.max(ownLimit * s.watchFloorShare, ownLimit - reservedHard - reservedSoft)
    const freeShare = ownLimit > 0 ? free / ownLimit : 0
    const taper = Math.max(0, Math.min(1, freeShare / s.taperBelow))
    // Ahead of the sustainable rate (over `paceFraction` of a window) only while half the
    // coming windows are free, and the recent pace of all its checks, kept up for a
    // window, would leave as much; at it once a quarter or less is: running ahead of a
    // tight budget is paid for later by hours without a watch.
    const projected = countAfter(load.checks, now - state.windowMs / RECENT_PARTS) * RECENT_PARTS
    const aheadShare = ownLimit > 0 ? Math.min(freeShare, Math.max(0, ownLimit - projected) / ownLimit) : 0
    const pace = s.paceFraction + (1 - s.paceFraction) * Math.max(0, Math.min(1, (0.5 - aheadShare) / 0.25))
    const watchRate = state.windowMs > 0 ? sustainable / (state.windowMs * pace) * taper : 0
    return { limit, used: state.used, windowMs: state.windowMs, pausedUntil: state.pausedUntil, firstLooks, firstLookReserve, ownLimit, ownUsed, reservedHard, reservedSoft, peak, free, watchRate }
  }

  /** True when a check of the appointments or the watch may start now (their share has room, no pause). */
  canSpend (v: BudgetView, now: number): boolean {
    return v.ownUsed < v.ownLimit && v.used < v.limit && v.pausedUntil <= now
  }

  /** True when the watch may start a check now: room for it in every coming window, and {@link canSpend}. */
  canWatch (v: BudgetView, now: number): boolean {
    return v.free >= 1 && this.canSpend(v, now)
  }

  /** True when a first look may start now (the partition has room, no pause). */
  canLook (v: BudgetView, now: number): boolean {
    return v.used < v.limit && v.pausedUntil <= now
  }

  /** Accrues `elapsedMs` of the watch's credit at `v`'s pace (capped); returns it. */
  accrue (v: BudgetView, elapsedMs: number): number {
    this.#credit += v.watchRate * Math.max(0, elapsedMs)
    const cap = Math.max(1, v.watchRate * this.#settings.creditCapMs)
    this.#credit = Math.min(this.#credit, cap)
    return this.#credit
  }

  /** The watch spent one check. */
  spend (): void {
    this.#credit = Math.max(0, this.#credit - 1)
  }
}
