/**
 * `Idempotency-Key` records in the state database (table `idempotency`), so a retry
 * after a restart or a crash still replays the first answer instead of creating a
 * second order. `begin` reads and claims in one immediate transaction; a record at or
 * past its `expires_at` (a lapsed claim, an expired answer) counts as absent and is
 * replaced. Unbounded, unlike the in-process store: every record stands for an order
 * creation, which the quota and the rate limits already bound.
 */
import type { BeginResult, IdempotencyStore, StoredResponse } from './index.js'
import type { StateDatabase } from '../sqlite/database.js'

interface Row {
  state: 'running' | 'done'
  fingerprint: string
  status_code: number | null
  content_type: string | null
  body: Buffer | null
}

export interface SqliteIdempotencyStoreOptions {
  db: StateDatabase
  now?: () => number
}

export class SqliteIdempotencyStore implements IdempotencyStore {
  readonly #db: StateDatabase
  readonly #now: () => number

  constructor (opts: SqliteIdempotencyStoreOptions) {
    this.#db = opts.db
    this.#now = opts.now ?? Date.now
  }

  async begin (key: string, fingerprint: string, lockMs: number): Promise<BeginResult> {
    const now = this.#now()
    return this.#db.transaction((): BeginResult => {
      const row = this.#db.statement('SELECT state, fingerprint, status_code, content_type, body FROM idempotency WHERE key = ? AND expires_at > ?').get(key, now) as Row | undefined
      if (row !== undefined) {
        if (row.fingerprint !== fingerprint) return { state: 'mismatch' }
        if (row.state === 'done' && row.status_code !== null && row.content_type !== null && row.body !== null) {
          return { state: 'done', response: { statusCode: row.status_code, contentType: row.content_type, body: row.body } }
        }
        return { state: 'running' }
      }
      this.#db.statement(`INSERT OR REPLACE INTO idempotency (key, state, fingerprint, status_code, content_type, body, expires_at)
        VALUES (?, 'running', ?, NULL, NULL, NULL, ?)`).run(key, fingerprint, now + lockMs)
      return { state: 'new' }
    })
  }

  async complete (key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void> {
    this.#db.statement(`INSERT OR REPLACE INTO idempotency (key, state, fingerprint, status_code, content_type, body, expires_at)
      VALUES (?, 'done', ?, ?, ?, ?, ?)`).run(key, fingerprint, response.statusCode, response.contentType, response.body, this.#now() + ttlMs)
  }

  async abandon (key: string): Promise<void> {
    this.#db.statement('DELETE FROM idempotency WHERE key = ? AND state = \'running\'').run(key)
  }

  /** Deletes the expired records; returns how many. */
  sweep (): number {
    return this.#db.statement('DELETE FROM idempotency WHERE expires_at <= ?').run(this.#now()).changes
  }
}
