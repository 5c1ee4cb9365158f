/**
 * The quota ledger of a single gateway in its state database (tables `quota_calls`
 * and `quota_pause`), so a restart — or a crash loop — cannot forget the calls already
 * made and take the gateway past upstream's own count. Same strict partitions as the
 * in-process quota (`index.ts`): the granted calls by partition and millisecond, with a
 * running total (`CallLedger`: one page written per call, two index seeks per count);
 * a slot is counted and taken in one immediate transaction, so two connections racing
 * for the last slot cannot both get it. With the caller's allowance kept in the same
 * database (`SqliteAllowances`), the allowance and the slot are taken in that one
 * transaction ({@link SqliteQuota.tryAcquireCharged}): one commit, two pages, per upstream call.
 *
 * Calls are filed under a ledger id (the upstream API key's short hash, as in Redis):
 * upstream counts per key, so a new key starts an empty ledger. Rows older than the
 * window are ignored by every read and deleted by the sweep.
 */
import { DAY_MS, DEFAULT_POLL_SHARE, QUOTA_PURPOSES, partitionLimits, partitionsOf, type AllowanceCharge, type ChargedDecision, type QuotaBudget, type QuotaDecision, type QuotaPurpose, type QuotaState } from './index.js'
import { SqliteAllowances } from '../allowances/sqlite.js'
import type { StateDatabase } from '../sqlite/database.js'
import { CallLedger } from '../sqlite/call-ledger.js'

export interface SqliteQuotaOptions {
  db: StateDatabase
  /** Whose calls these are: the API key's id (`apiKeyId`). */
  ledger: string
  limit: number
  /** The `create` partition. */
  reserve: number
  /** Fraction of `limit` that is the `poll` partition. Default {@link DEFAULT_POLL_SHARE}. */
  pollShare?: number
  windowMs?: number
  now?: () => number
}

export class SqliteQuota implements QuotaBudget {
  readonly #db: StateDatabase
  readonly #ledger: string
  readonly #limit: number
  readonly #reserve: number
  readonly #caps: Record<QuotaPurpose, number>
  readonly #windowMs: number
  readonly #now: () => number
  readonly #calls: CallLedger

  constructor (opts: SqliteQuotaOptions) {
    if (opts.reserve >= opts.limit) throw new RangeError('quota reserve must be below the limit')
    this.#caps = partitionLimits(opts.limit, opts.reserve, opts.pollShare ?? DEFAULT_POLL_SHARE)
    this.#db = opts.db
    this.#ledger = opts.ledger
    this.#limit = opts.limit
    this.#reserve = opts.reserve
    this.#windowMs = opts.windowMs ?? DAY_MS
    this.#now = opts.now ?? Date.now
    this.#calls = new CallLedger(opts.db, 'quota_calls', ['ledger', 'purpose'])
  }

  async tryAcquire (purpose: QuotaPurpose): Promise<QuotaDecision> {
    const now = this.#now()
    return this.#db.transaction((): QuotaDecision => {
      const decision = this.#decide(purpose, now)
      if (decision.granted) this.#record(purpose, now)
      return decision
    })
  }

  /**
   * The allowance and the slot in one immediate transaction, so one commit (one WAL
   * append) per upstream call instead of two; only for allowances kept in this database.
   */
  tryAcquireCharged (purpose: QuotaPurpose, charge: AllowanceCharge): Promise<ChargedDecision> | undefined {
    const allowances = charge.allowances
    if (!(allowances instanceof SqliteAllowances) || allowances.database !== this.#db) return undefined
    // The allowance's own clock, as when it is taken alone; the quota's for the slot.
    const allowanceNow = allowances.now()
    const now = this.#now()
    return Promise.resolve(this.#db.transaction((): ChargedDecision => {
      const allowance = allowances.decide(charge.id, charge.limit, allowanceNow)
      if (!allowance.granted) return { granted: false, refusedBy: 'allowance', retryAt: allowance.retryAt }
      const slot = this.#decide(purpose, now)
      if (!slot.granted) return { granted: false, refusedBy: 'quota', retryAt: slot.retryAt }
      allowances.record(charge.id, allowanceNow)
      this.#record(purpose, now)
      return { granted: true }
    }))
  }

  async pause (untilMs: number): Promise<void> {
    this.#db.statement(`INSERT INTO quota_pause (ledger, until) VALUES (?, ?)
      ON CONFLICT (ledger) DO UPDATE SET until = max(until, excluded.until)`).run(this.#ledger, untilMs)
  }

  async state (): Promise<QuotaState> {
    const now = this.#now()
    const from = now - this.#windowMs
    const used = { poll: 0, create: 0, rest: 0 }
    for (const p of QUOTA_PURPOSES) used[p] = this.#used(p, from)
    const oldest = this.#db.statement('SELECT min(at) FROM quota_calls WHERE ledger = ? AND at > ?').pluck().get(this.#ledger, from) as number | null
    const pausedUntil = this.#pausedUntil()
    const total = used.poll + used.create + used.rest
    return {
      limit: this.#limit,
      reserve: this.#reserve,
      used: total,
      remaining: Math.max(0, this.#limit - total),
      remainingGeneral: Math.max(0, this.#caps.rest - used.rest),
      pausedUntil: pausedUntil > now ? pausedUntil : 0,
      nextFreeAt: oldest === null ? 0 : oldest + this.#windowMs,
      windowMs: this.#windowMs,
      partitions: partitionsOf(this.#caps, used)
    }
  }

  /** Deletes the calls that left the window and the pauses that ended; returns how many rows. */
  sweep (): number {
    const now = this.#now()
    return this.#calls.sweep(now - this.#windowMs) +
      this.#db.statement('DELETE FROM quota_pause WHERE until <= ?').run(now).changes
  }

  /** Whether a slot of `purpose` is free at `now` (inside a transaction), without taking it. */
  #decide (purpose: QuotaPurpose, now: number): QuotaDecision {
    const from = now - this.#windowMs
    const pausedUntil = this.#pausedUntil()
    if (now < pausedUntil) return { granted: false, retryAt: pausedUntil }
    const used = this.#used(purpose, from)
    const cap = this.#caps[purpose]
    if (used < cap) return { granted: true }
    const leaving = cap <= 0 ? undefined : this.#calls.nthAt([this.#ledger, purpose], from, used - cap)
    return { granted: false, retryAt: leaving === undefined ? now + this.#windowMs : leaving + this.#windowMs }
  }

  #record (purpose: QuotaPurpose, now: number): void {
    this.#calls.record([this.#ledger, purpose], now)
  }

  /** Calls of `purpose` in the window from `from` (see `CallLedger`: two index seeks). */
  #used (purpose: QuotaPurpose, from: number): number {
    return this.#calls.count([this.#ledger, purpose], from)
  }

  #pausedUntil (): number {
    return (this.#db.statement('SELECT until FROM quota_pause WHERE ledger = ?').pluck().get(this.#ledger) as number | undefined) ?? 0
  }
}
