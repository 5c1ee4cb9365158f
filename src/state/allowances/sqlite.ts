/**
 * The allowances of a single gateway in its state database (table `allowance_calls`:
 * the calls each caller caused, by millisecond, with a running total — `CallLedger`),
 * so a restart does not hand every caller a fresh allowance. A call is counted and
 * taken in one immediate transaction. Unbounded in callers, unlike the in-process
 * store, but bounded in rows: every row holds upstream calls within the window, which
 * the quota bounds; older rows are ignored by every read and deleted by the sweep.
 */
import { DAY_MS } from '../quota/index.js'
import type { StateDatabase } from '../sqlite/database.js'
import { CallLedger } from '../sqlite/call-ledger.js'
import type { AllowanceDecision, AllowanceStore } from './index.js'

export interface SqliteAllowancesOptions {
  db: StateDatabase
  windowMs?: number
  now?: () => number
}

export class SqliteAllowances implements AllowanceStore {
  readonly #db: StateDatabase
  readonly #windowMs: number
  readonly #now: () => number
  readonly #calls: CallLedger

  constructor (opts: SqliteAllowancesOptions) {
    this.#db = opts.db
    this.#windowMs = opts.windowMs ?? DAY_MS
    this.#now = opts.now ?? Date.now
    this.#calls = new CallLedger(opts.db, 'allowance_calls', ['caller'])
  }

  /** The store's time (epoch ms), for a joint charge's {@link decide} and {@link record}. */
  now (): number {
    return this.#now()
  }

  /** The database the calls are kept in (a quota on the same one can charge both in one transaction). */
  get database (): StateDatabase {
    return this.#db
  }

  async take (callerId: string, limit: number): Promise<AllowanceDecision> {
    const now = this.#now()
    return this.#db.transaction((): AllowanceDecision => {
      const decision = this.decide(callerId, limit, now)
      if (decision.granted) this.record(callerId, now)
      return decision
    })
  }

  /**
   * Whether `callerId` may cause one more call at `now`, without counting it: for a
   * transaction of the caller's that then calls {@link record} (`SqliteQuota`'s joint charge).
   */
  decide (callerId: string, limit: number, now: number): AllowanceDecision {
    const from = now - this.#windowMs
    const used = this.#count(callerId, from)
    if (used < limit) return { granted: true }
    const leaving = limit <= 0 ? undefined : this.#calls.nthAt([callerId], from, used - limit)
    return { granted: false, retryAt: leaving === undefined ? now + this.#windowMs : leaving + this.#windowMs }
  }

  /** Counts one call of `callerId` at `now` (inside the transaction that {@link decide}d it). */
  record (callerId: string, now: number): void {
    this.#calls.record([callerId], now)
  }

  async used (callerId: string): Promise<number> {
    return this.#count(callerId, this.#now() - this.#windowMs)
  }

  /** Deletes the calls that left the window; returns how many. */
  sweep (): number {
    return this.#calls.sweep(this.#now() - this.#windowMs)
  }

  /** Calls of `callerId` in the window from `from` (see `CallLedger`: two index seeks). */
  #count (callerId: string, from: number): number {
    return this.#calls.count([callerId], from)
  }
}
