/**
 * The upstream quota: `dailyQuota` authenticated calls per rolling 24 h, never
 * exceeded, split into **strict partitions** by purpose:
 *
 * | partition | cap                                   | who                                   |
 * |-----------|---------------------------------------|---------------------------------------|
 * | `poll`    | `floor(limit × pollShare)`            | the live-tracking pollers             |
 * | `create`  | `reserve`                             | order creations                       |
 * | `rest`    | `limit − reserve − poll`              | every other call (REST, deletes, …)   |
 *
 * No purpose takes from another: however much REST traffic arrives, the pollers keep
 * their part, and creations keep theirs. A slot is taken *before* the call is made, so
 * concurrent callers can never overshoot.
 */
import type { AllowanceStore } from '../allowances/index.js'

/** What an upstream call is for; decides which partition of the quota it uses. */
export type QuotaPurpose = 'create' | 'rest' | 'poll'

/** Every purpose, in a fixed order. */
export const QUOTA_PURPOSES: readonly QuotaPurpose[] = ['poll', 'create', 'rest']

/** One partition of the window. */
export interface QuotaPartition {
  /** Calls the partition allows per window. */
  limit: number
  /** Calls it made in the current window. */
  used: number
  /** `limit − used`, at least 0. */
  remaining: number
}

export interface QuotaState {
  /** The configured daily quota (during a Redis outage: this instance's share of it). */
  limit: number
  /** The `create` partition's cap. */
  reserve: number
  /** Calls made in the current rolling window, all partitions. */
  used: number
  /** Calls still possible in the window, all partitions (`limit − used`). */
  remaining: number
  /** What the `rest` partition has left (REST calls other than creations). */
  remainingGeneral: number
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
  /** Each partition's cap and use. */
  partitions: Record<QuotaPurpose, QuotaPartition>
}

export type QuotaDecision =
  | { granted: true }
  | { granted: false, /** Epoch ms from which a retry can succeed. */ retryAt: number }

/** What {@link QuotaBudget.tryAcquireCharged} decided: both taken, or which of the two refused. */
export type ChargedDecision =
  | { granted: true }
  | { granted: false, refusedBy: 'allowance' | 'quota', /** Epoch ms from which a retry can succeed. */ retryAt: number }

/** The caller a call is charged to: its allowance store, id and limit per window. */
export interface AllowanceCharge {
  allowances: AllowanceStore
  /** `callerId` of the caller. */
  id: string
  /** Calls the caller may cause per window. */
  limit: number
}

/** A quota store. The in-process one is `memory.ts`; a shared one lives in Redis. */
export interface QuotaBudget {
  /** Takes one slot of `purpose`'s partition if the window allows it. */
  tryAcquire (purpose: QuotaPurpose): Promise<QuotaDecision>
  /**
   * Optional, for a backend that keeps `charge.allowances` in the same store (SQLite: the
   * same database): counts one call of the caller's allowance and takes one slot of
   * `purpose`'s partition in one atomic step — one transaction, one commit — both or
   * neither (the allowance is looked at first). `undefined` when it cannot for these
   * allowances: the caller then takes the allowance and the slot one after the other.
   */
  tryAcquireCharged?: (purpose: QuotaPurpose, charge: AllowanceCharge) => Promise<ChargedDecision> | undefined
  /** Upstream said TOO_MANY_REQUESTS: treat the quota as spent until `untilMs`. */
  pause (untilMs: number): Promise<void>
  state (): Promise<QuotaState>
}

export const DAY_MS = 24 * 60 * 60 * 1000

/** `QUOTA_POLL_SHARE`'s default: four fifths of the quota are the pollers' (tracking is the product; see docs/quota.md). */
export const DEFAULT_POLL_SHARE = 0.8

/**
 * The cap of each partition of a quota of `limit` with `reserve` kept for creations
 * and `pollShare` of it for the pollers. Throws a RangeError when they leave `rest`
 * below 0.
 */
export function partitionLimits (limit: number, reserve: number, pollShare: number): Record<QuotaPurpose, number> {
  if (!(pollShare >= 0 && pollShare <= 1)) throw new RangeError('the poll share must be a fraction from 0 to 1')
  const poll = Math.floor(limit * pollShare)
  const rest = limit - reserve - poll
  if (reserve < 0 || rest < 0) throw new RangeError(`the quota's partitions do not fit in its limit: ${limit} − reserve ${reserve} − poll share ${poll} < 0`)
  return { poll, create: reserve, rest }
}

/** The partitions of a state: caps and use per purpose. */
export function partitionsOf (limits: Record<QuotaPurpose, number>, used: Record<QuotaPurpose, number>): Record<QuotaPurpose, QuotaPartition> {
  const part = (p: QuotaPurpose): QuotaPartition => ({ limit: limits[p], used: used[p], remaining: Math.max(0, limits[p] - used[p]) })
  return { poll: part('poll'), create: part('create'), rest: part('rest') }
}
