/**
 * The pollers' budget: what the allocator may spend, read from the pollers' partition
 * of the quota through {@link PollPartition} (the tracking plugin adapts the quota store
 * to it), with the checks it reserves for what is planned and the pacing of the watch.
 *
 * - **Hard limit.** No check is started while the partition's window is full: the
 *   allocator never asks the quota for a slot it knows it would be refused.
 * - **Reservations.** Appointments planned within the next window (hard) and the
 *   appointments unfunded orders will need once paid (soft, at the odds of a payment),
 *   plus a share kept for orders still to come, are set aside before the watch spends.
 * - **Pacing.** The watch's credit accrues at what a window leaves it once the planned
 *   and expected checks are served — `(limit − reserved) ÷ (windowMs × paceFraction)`,
 *   a rate it could keep up window after window — tapering to zero while less than
 *   `taperBelow` of the window is free (the taper is what keeps the window from
 *   filling: the watch settles where the window keeps about that much room for
 *   appointments and arrivals); it is capped, so an idle hour does not turn into a
 *   burst. Subtracting the window's own checks as well (as a first version did)
 *   counts the planned checks twice — once spent, once reserved — and left a third of
 *   the partition unspent (at most 325 of 500 checks in any 24 h at K = 20).
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
  /** The watch spends what a window leaves it over this part of the window. */
  paceFraction: number
  /** Below this free part of the window the watch's pace tapers to zero. */
  taperBelow: number
  /** Part of the limit kept for orders still to come (their first checks and appointments). */
  arrivalShare: number
  /** Most credit the watch may hold, in ms of its current pace (at least one check). */
  creditCapMs: number
}

/** The budget at one instant, for decisions and metrics. */
export interface BudgetView {
  limit: number
  used: number
  windowMs: number
  pausedUntil: number
  /** Appointments planned within the next window. */
  reservedHard: number
  /** Expected appointments of orders not yet funded, and the share kept for arrivals. */
  reservedSoft: number
  /** What the window still has room for once the reserved checks are set aside. */
  free: number
  /** The watch's pace, checks per ms. */
  watchRate: number
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

  /** The budget now, from the partition and the reservations. */
  view (state: PartitionState, reservedHard: number, reservedSoftOrders: number): BudgetView {
    const s = this.#settings
    const limit = Math.max(0, state.limit)
    const reservedSoft = reservedSoftOrders + Math.ceil(limit * s.arrivalShare)
    const free = Math.max(0, limit - state.used - reservedHard - reservedSoft)
    const sustainable = Math.max(0, limit - reservedHard - reservedSoft)
    const freeShare = limit > 0 ? (limit - state.used) / limit : 0
    const taper = Math.max(0, Math.min(1, freeShare / s.taperBelow))
    const watchRate = state.windowMs > 0 ? sustainable / (state.windowMs * s.paceFraction) * taper : 0
    return { limit, used: state.used, windowMs: state.windowMs, pausedUntil: state.pausedUntil, reservedHard, reservedSoft, free, watchRate }
  }

  /** True when a check may start now (the window has room, no pause). */
  canSpend (v: BudgetView, now: number): boolean {
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
