/**
 * A ledger of calls in the state database (the quota's `quota_calls`, the allowances'
 * `allowance_calls`): one row per key and millisecond with that millisecond's `calls`
 * and the key's running `total` of calls (12th migration). So a call rewrites one page
 * of the WAL per ledger — the key's newest row — and the calls in a window are the
 * newest total less the total before the window's first row: two index seeks, whatever
 * the number of calls, with no count table or trigger to write. The sweep deletes whole
 * rows and leaves the totals of the others as they are.
 *
 * A call is never filed before the key's newest row: if the clock went back (or another
 * process's clock is ahead), it is filed at the newest row's time, so it leaves the
 * window a little late — a ledger errs towards fewer calls, never more.
 *
 * Every method runs inside the caller's transaction (`StateDatabase.transaction`), so
 * the read-then-write of {@link record} cannot interleave with another connection's.
 */
import type { StateDatabase } from './database.js'

export class CallLedger {
  readonly #db: StateDatabase
  readonly #newest: string
  readonly #beforeWindow: string
  readonly #nth: string
  readonly #add: string
  readonly #insert: string
  readonly #expired: string
  readonly #delete: string

  /** `table`'s rows of one key are those matching `keyColumns` (in that order). */
  constructor (db: StateDatabase, table: 'quota_calls' | 'allowance_calls', keyColumns: readonly string[]) {
    this.#db = db
    const key = keyColumns.map((c) => `${c} = ?`).join(' AND ')
    this.#newest = `SELECT at, total FROM ${table} WHERE ${key} ORDER BY at DESC LIMIT 1`
    this.#beforeWindow = `SELECT total - calls FROM ${table} WHERE ${key} AND at > ? ORDER BY at LIMIT 1`
    this.#nth = `SELECT at FROM ${table} WHERE ${key} AND at > ? AND total > ? ORDER BY at LIMIT 1`
    this.#add = `UPDATE ${table} SET calls = calls + 1, total = total + 1 WHERE ${key} AND at = ?`
    this.#expired = `SELECT coalesce(sum(calls), 0) FROM ${table} WHERE at <= ?`
    this.#delete = `DELETE FROM ${table} WHERE at <= ?`
    this.#insert = `INSERT INTO ${table} (${keyColumns.join(', ')}, at, calls, total) VALUES (${keyColumns.map(() => '?').join(', ')}, ?, 1, ?)`
  }

  /** Calls of `key` after `from` (epoch ms). */
  count (key: readonly unknown[], from: number): number {
    const newest = this.#db.statement(this.#newest).get(...key) as { at: number, total: number } | undefined
    if (newest === undefined || newest.at <= from) return 0
    const before = this.#db.statement(this.#beforeWindow).pluck().get(...key, from) as number
    return newest.total - before
  }

  /**
   * The time of the `n`-th oldest call of `key` after `from` (0: the oldest), if there
   * are that many.
   */
  nthAt (key: readonly unknown[], from: number, n: number): number | undefined {
    const before = this.#db.statement(this.#beforeWindow).pluck().get(...key, from) as number | undefined
    if (before === undefined) return undefined
    return this.#db.statement(this.#nth).pluck().get(...key, from, before + n) as number | undefined
  }

  /** Files one call of `key` at `now` (or at its newest row's time, if later). */
  record (key: readonly unknown[], now: number): void {
    const newest = this.#db.statement(this.#newest).get(...key) as { at: number, total: number } | undefined
    if (newest !== undefined && newest.at >= now) this.#db.statement(this.#add).run(...key, newest.at)
    else this.#db.statement(this.#insert).run(...key, now, (newest?.total ?? 0) + 1)
  }

  /** Deletes the calls of every key at or before `until`; returns how many calls. */
  sweep (until: number): number {
    return this.#db.transaction(() => {
      const calls = this.#db.statement(this.#expired).pluck().get(until) as number
      this.#db.statement(this.#delete).run(until)
      return calls
    })
  }
}
