/**
 * Snapshots and not-found marks in the state database (tables `snapshots` and
 * `not_found`), so a final snapshot is still served without a check after a restart.
 * `put` is the compare-and-set of the port in one immediate transaction, which also
 * appends the change's webhook events to the outbox. Rows at or
 * past their `expires_at` are ignored on read, replaced on write and deleted by
 * {@link SqliteSnapshotStore.sweep}. The last snapshot parsed for each trackcode is
 * kept with its JSON (at most {@link PARSED_KEPT}): while the row holds the same JSON,
 * the polling fallback reuses it instead of parsing it again on every request.
 */
import type { TrackedOrder } from '../../tracking/schemas.js'
import type { SnapshotStore, StoredSnapshot } from './index.js'
import type { StateDatabase } from '../sqlite/database.js'
import type { OutboxEvent } from '../webhooks/index.js'
import type { SqliteWebhookStore } from '../webhooks/sqlite.js'

interface Row {
  version: number
  json: string
  checked_at: number
}

/** Trackcodes whose parsed snapshot is kept at most. */
const PARSED_KEPT = 10_000

export interface SqliteSnapshotStoreOptions {
  db: StateDatabase
  now?: () => number
  /** The webhook store on the same database, where `put` appends events in its transaction. */
  outbox?: SqliteWebhookStore
}

export class SqliteSnapshotStore implements SnapshotStore {
  readonly #db: StateDatabase
  readonly #now: () => number
  readonly #outbox: SqliteWebhookStore | undefined
  readonly #parsed = new Map<string, { json: string, order: TrackedOrder }>()

  constructor (opts: SqliteSnapshotStoreOptions) {
    this.#db = opts.db
    this.#outbox = opts.outbox
    this.#now = opts.now ?? Date.now
  }

  async get (trackcode: string): Promise<StoredSnapshot | undefined> {
    const row = this.#db.statement('SELECT version, json, checked_at FROM snapshots WHERE trackcode = ? AND expires_at > ?').get(trackcode, this.#now()) as Row | undefined
    if (row === undefined) return undefined
    const parsed = this.#parsed.get(trackcode)
    if (parsed !== undefined && parsed.json === row.json) return { order: parsed.order, json: row.json, checkedAt: row.checked_at }
    try {
      const order = JSON.parse(row.json) as TrackedOrder
      if (typeof order !== 'object' || order === null || order.version !== row.version) return undefined
      this.#parsed.delete(trackcode)
      if (this.#parsed.size >= PARSED_KEPT) {
        const oldest = this.#parsed.keys().next().value
        if (oldest !== undefined) this.#parsed.delete(oldest)
      }
      this.#parsed.set(trackcode, { json: row.json, order })
      return { order, json: row.json, checkedAt: row.checked_at }
    } catch {
      return undefined
    }
  }

  async put (trackcode: string, snapshot: StoredSnapshot, ttlMs: number, expectedVersion: number, events: readonly OutboxEvent[] = []): Promise<boolean> {
    const now = this.#now()
    return this.#db.transaction(() => {
      const current = this.#db.statement('SELECT version FROM snapshots WHERE trackcode = ? AND expires_at > ?').get(trackcode, now) as { version: number } | undefined
      if (current !== undefined && current.version !== expectedVersion) return false
      if (ttlMs <= 0) {
        this.#db.statement('DELETE FROM snapshots WHERE trackcode = ?').run(trackcode)
      } else {
        this.#db.statement('INSERT OR REPLACE INTO snapshots (trackcode, version, json, checked_at, expires_at) VALUES (?, ?, ?, ?, ?)')
          .run(trackcode, snapshot.order.version, snapshot.json, snapshot.checkedAt, now + ttlMs)
      }
      // Same transaction: the events commit with the version, or neither does.
      if (events.length > 0) this.#outbox?.append(events)
      return true
    })
  }

  async markNotFound (trackcode: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) {
      this.#db.statement('DELETE FROM not_found WHERE trackcode = ?').run(trackcode)
      return
    }
    this.#db.statement('INSERT OR REPLACE INTO not_found (trackcode, expires_at) VALUES (?, ?)').run(trackcode, this.#now() + ttlMs)
  }

  async isNotFound (trackcode: string): Promise<boolean> {
    return this.#db.statement('SELECT 1 FROM not_found WHERE trackcode = ? AND expires_at > ?').get(trackcode, this.#now()) !== undefined
  }

  /** Deletes expired snapshots and marks; returns how many. */
  sweep (): number {
    const now = this.#now()
    return this.#db.statement('DELETE FROM snapshots WHERE expires_at <= ?').run(now).changes +
      this.#db.statement('DELETE FROM not_found WHERE expires_at <= ?').run(now).changes
  }
}
