/**
 * Known orders in the state database (table `known_orders`), so an order created
 * through the gateway is still known after a restart. Entries at or past their
 * `expires_at` are ignored on read and deleted by {@link SqliteOrderRegistry.sweep}.
 */
import type { KnownOrder, OrderRegistry } from './index.js'
import type { StateDatabase } from '../sqlite/database.js'

interface Row {
  source: KnownOrder['source']
  by_caller: string
  since: number
}

export interface SqliteOrderRegistryOptions {
  db: StateDatabase
  now?: () => number
}

export class SqliteOrderRegistry implements OrderRegistry {
  readonly #db: StateDatabase
  readonly #now: () => number

  constructor (opts: SqliteOrderRegistryOptions) {
    this.#db = opts.db
    this.#now = opts.now ?? Date.now
  }

  async remember (trackcode: string, order: KnownOrder, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) {
      await this.forget(trackcode)
      return
    }
    this.#db.statement('INSERT OR REPLACE INTO known_orders (trackcode, source, by_caller, since, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(trackcode, order.source, order.by, order.since, this.#now() + ttlMs)
  }

  async get (trackcode: string): Promise<KnownOrder | undefined> {
    const row = this.#db.statement('SELECT source, by_caller, since FROM known_orders WHERE trackcode = ? AND expires_at > ?').get(trackcode, this.#now()) as Row | undefined
    return row === undefined ? undefined : { source: row.source, by: row.by_caller, since: row.since }
  }

  async forget (trackcode: string): Promise<void> {
    this.#db.statement('DELETE FROM known_orders WHERE trackcode = ?').run(trackcode)
  }

  async list (): Promise<Array<[string, KnownOrder]>> {
    const rows = this.#db.statement('SELECT trackcode, source, by_caller, since FROM known_orders WHERE expires_at > ?').all(this.#now()) as Array<Row & { trackcode: string }>
    return rows.map((row) => [row.trackcode, { source: row.source, by: row.by_caller, since: row.since }])
  }

  /** Deletes the expired entries; returns how many. */
  sweep (): number {
    return this.#db.statement('DELETE FROM known_orders WHERE expires_at <= ?').run(this.#now()).changes
  }
}
