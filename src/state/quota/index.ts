/**
 * The upstream quota: `dailyQuota` authenticated calls per rolling 24 h, shared by
 * the REST pass-through and the tracking pollers, never exceeded.
 *
 * A part of the quota (`reserve`) is kept for order creation and deletion: ordinary
 * calls may use up to `dailyQuota - reserve`, creates the whole of it. A slot is taken
 * *before* the call is made, so concurrent callers can never overshoot.
 */

/** What an upstream call is for; decides which part of the quota it may use. */
export type QuotaPurpose = 'create' | 'rest' | 'poll'

export interface QuotaState {
  /** The configured daily quota. */
  limit: number
  /** Kept for `create`. */
  reserve: number
  /** Calls made in the current rolling window. */
  used: number
  /** Calls still possible in the window for ordinary (non-create) purposes. */
  remainingGeneral: number
  /** Calls still possible in the window for `create`. */
  remaining: number
  /** Epoch ms when upstream's own `TOO_MANY_REQUESTS` pause ends (0 when none). */
  pausedUntil: number
  /** Epoch ms when the oldest call leaves the window (0 when none counted). */
  nextFreeAt: number
  /**
   * Length of the rolling window, ms (24 h for the real quota). Optional so that
   * stores written before it existed still satisfy the interface; readers fall back
   * to {@link DAY_MS}.
   */
  windowMs?: number
}

export type QuotaDecision =
  | { granted: true }
  | { granted: false, /** Epoch ms from which a retry can succeed. */ retryAt: number }

/** A quota store. The in-process one is below; a shared one can live in Redis. */
export interface QuotaBudget {
  /** Takes one slot for `purpose` if the window allows it. */
  tryAcquire (purpose: QuotaPurpose): Promise<QuotaDecision>
  /** Upstream said TOO_MANY_REQUESTS: treat the quota as spent until `untilMs`. */
  pause (untilMs: number): Promise<void>
  state (): Promise<QuotaState>
}

export const DAY_MS = 24 * 60 * 60 * 1000
