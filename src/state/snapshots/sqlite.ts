/**
 * Snapshots and not-found marks in the state database (tables `snapshots` and
 * `not_found`), so a final snapshot is still served without a check after a restart.
 * `put` is the compare-and-set of the port in one immediate transaction, which also
 * appends the change's webhook events to the outbox. Rows at or
 * past their `expires_at` are ignored on read, replaced on write and deleted by
 * {@link SqliteSnapshotStore.sweep}.
 *
 * The polling fallback reads an order's mark and snapshot on every request, so both are
 * also kept in process (the snapshot parsed, with its expiry; a trackcode's mark or its
 * absence; at most {@link COPIES_KEPT} trackcodes each) and answered from there without
 * a query until someone else writes the database (`../sqlite/external-writes.ts`: another
 * connection in this process at once, another process from the next event-loop turn);
 * then every copy is dropped and the rows are read again. This store's own writes
 * update its copies.
 */
import type { TrackedOrder } from '../../tracking/schemas.js'
import type { SnapshotStore, StoredSnapshot } from './index.js'
import type { StateDatabase } from '../sqlite/database.js'
import type { OutboxEvent } from '../webhooks/index.js'
import type { SqliteWebhookStore } from '../webhooks/sqlite.js'
import { ExternalWrites } from '../sqlite/external-writes.js'
import { ExpiringMap } from '../../lib/expiring-map.js'

interface Row {
  version: number
  json: string
  checked_at: number
  expires_at: number
}

/** Trackcodes whose snapshot (and, apart, whose mark) is kept at most. */
const COPIES_KEPT = 10_000

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
  readonly #writes: ExternalWrites
  readonly #snapshots: ExpiringMap<StoredSnapshot>
  /** Whether a trackcode has a not-found mark (`true` until the mark expires; `false`, no mark, until someone else writes). */
  readonly #marks: ExpiringMap<boolean>

  constructor (opts: SqliteSnapshotStoreOptions) {
    this.#db = opts.db
    this.#outbox = opts.outbox
    this.#now = opts.now ?? Date.now
    this.#writes = new ExternalWrites(opts.db)
    this.#snapshots = new ExpiringMap(COPIES_KEPT, this.#now)
    this.#marks = new ExpiringMap(COPIES_KEPT, this.#now)
  }

  /** Drops every copy when someone else may have written. */
  #revalidate (): void {
    if (!this.#writes.changed()) return
    this.#snapshots.clear()
    this.#marks.clear()
  }

  async get (trackcode: string): Promise<StoredSnapshot | undefined> {
    this.#revalidate()
    const copy = this.#snapshots.get(trackcode)
    if (copy !== undefined) return copy
    const row = this.#db.statement('SELECT version, json, checked_at, expires_at FROM snapshots WHERE trackcode = ? AND expires_at > ?').get(trackcode, this.#now()) as Row | undefined
    if (row === undefined) return undefined
    try {
      const order = JSON.parse(row.json) as TrackedOrder
      if (typeof order !== 'object' || order === null || order.version !== row.version) return undefined
      const snapshot = { order, json: row.json, checkedAt: row.checked_at }
      this.#snapshots.setUntil(trackcode, snapshot, row.expires_at)
      return snapshot
    } catch {
      return undefined
    }
  }

  held (trackcode: string): StoredSnapshot | undefined {
    this.#revalidate()
    // A mark, or none known yet (`isNotFound` reads the row): ask.
    return this.#marks.get(trackcode) === false ? this.#snapshots.get(trackcode) : undefined
  }

  async put (trackcode: string, snapshot: StoredSnapshot, ttlMs: number, expectedVersion: number, events: readonly OutboxEvent[] = []): Promise<boolean> {
    this.#revalidate()
    const now = this.#now()
    const written = this.#db.transaction(() => {
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
    if (!written) {
      // Someone else holds another version: read it from the row next time.
      this.#snapshots.delete(trackcode)
      return false
    }
    this.#writes.committed()
    if (ttlMs <= 0) {
      this.#snapshots.delete(trackcode)
    } else {
      // Parsed from the stored JSON, as a read would give it (not the caller's object).
      const order = JSON.parse(snapshot.json) as TrackedOrder
      this.#snapshots.setUntil(trackcode, { order, json: snapshot.json, checkedAt: snapshot.checkedAt }, now + ttlMs)
    }
    return true
  }

  async markNotFound (trackcode: string, ttlMs: number): Promise<void> {
    this.#revalidate()
    if (ttlMs <= 0) {
      this.#db.statement('DELETE FROM not_found WHERE trackcode = ?').run(trackcode)
      this.#writes.committed()
      this.#marks.setUntil(trackcode, false, Infinity)
      return
    }
    const expiresAt = this.#now() + ttlMs
    this.#db.statement('INSERT OR REPLACE INTO not_found (trackcode, expires_at) VALUES (?, ?)').run(trackcode, expiresAt)
    this.#writes.committed()
    this.#marks.setUntil(trackcode, true, expiresAt)
  }

  async isNotFound (trackcode: string): Promise<boolean> {
    this.#revalidate()
    const mark = this.#marks.get(trackcode)
    if (mark !== undefined) return mark
    const row = this.#db.statement('SELECT expires_at FROM not_found WHERE trackcode = ? AND expires_at > ?').get(trackcode, this.#now()) as { expires_at: number } | undefined
    if (row === undefined) this.#marks.setUntil(trackcode, false, Infinity)
    else this.#marks.setUntil(trackcode, true, row.expires_at)
    return row !== undefined
  }

  /** Deletes expired snapshots and marks; returns how many. */
  sweep (): number {
    const now = this.#now()
    return this.#db.statement('DELETE FROM snapshots WHERE expires_at <= ?').run(now).changes +
      this.#db.statement('DELETE FROM not_found WHERE expires_at <= ?').run(now).changes
  }
}
