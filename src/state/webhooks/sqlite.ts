/**
 * The webhook store on the state database (tables `webhook_endpoints`,
 * `webhook_events`, `webhook_deliveries`): endpoints, the outbox and deliveries survive
 * a restart or a `kill -9`. The snapshot store appends events with
 * {@link SqliteWebhookStore.append} inside its own transaction, on the same database,
 * so a version and its events commit together. One process per database: claims only
 * guard against a delivery being handed out twice by overlapping worker rounds.
 * Finished deliveries past their retention, and the events left without deliveries,
 * are deleted by the state database's sweep (`src/state/sqlite/stores.ts`).
 */
import type { StateDatabase } from '../sqlite/database.js'
import {
  afterAttempt, deliveryId,
  type AttemptOutcome, type ClaimedDelivery, type DeliveryState, type EndpointPatch, type OutboxEvent, type RetentionSweep, type StoredEndpoint, type WebhookDelivery, type WebhookEventType, type WebhookStore
} from './index.js'

interface EndpointRow {
  id: string
  url: string
  events: string
  enabled: number
  disabled_reason: string | null
  failures: number
  failing_since: number | null
  secret: string
  previous_secret: string | null
  previous_secret_until: number | null
  created_at: number
  updated_at: number
}

interface DeliveryRow {
  seq: number
  event_id: string
  endpoint_id: string
  type: string
  trackcode: string
  state: string
  attempts: number
  next_attempt_at: number | null
  last_status: number | null
  last_error: string | null
  delivered_at: number | null
  finished_at: number | null
  created_at: number
}

interface EventRow {
  id: string
  type: string
  trackcode: string
  created_at: number
  body: string
}

function endpointOf (row: EndpointRow): StoredEndpoint {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as WebhookEventType[],
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason,
    failures: row.failures,
    failingSince: row.failing_since,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretUntil: row.previous_secret_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at
  }
}

function deliveryOf (row: DeliveryRow): WebhookDelivery {
  return {
    id: deliveryId(row.seq),
    eventId: row.event_id,
    endpointId: row.endpoint_id,
    type: row.type as WebhookEventType,
    trackcode: row.trackcode,
    seq: row.seq,
    state: row.state as DeliveryState,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastStatus: row.last_status,
    lastError: row.last_error,
    deliveredAt: row.delivered_at,
    finishedAt: row.finished_at,
    createdAt: row.created_at
  }
}

function eventOf (row: EventRow): OutboxEvent {
  return { id: row.id, type: row.type as WebhookEventType, trackcode: row.trackcode, createdAt: row.created_at, body: row.body }
}

/** `dlv_<seq>` back to its sequence number (NaN when it is not one). */
function seqOf (id: string): number {
  return /^dlv_\d+$/.test(id) ? Number(id.slice(4)) : Number.NaN
}

const ENDPOINT_COLUMNS = 'id, url, events, enabled, disabled_reason, failures, failing_since, secret, previous_secret, previous_secret_until, created_at, updated_at'
const DELIVERY_COLUMNS = 'seq, event_id, endpoint_id, type, trackcode, state, attempts, next_attempt_at, last_status, last_error, delivered_at, finished_at, created_at'

export class SqliteWebhookStore implements WebhookStore {
  readonly #db: StateDatabase

  constructor (opts: { db: StateDatabase }) {
    this.#db = opts.db
  }

  /** Appends events to the outbox; call it inside the transaction that stores their snapshot. */
  append (events: readonly OutboxEvent[]): void {
    const insert = this.#db.statement('INSERT INTO webhook_events (id, type, trackcode, created_at, body) VALUES (?, ?, ?, ?, ?)')
    for (const e of events) insert.run(e.id, e.type, e.trackcode, e.createdAt, e.body)
  }

  async createEndpoint (e: StoredEndpoint): Promise<void> {
    this.#db.statement(`INSERT INTO webhook_endpoints (${ENDPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(e.id, e.url, JSON.stringify(e.events), e.enabled ? 1 : 0, e.disabledReason, e.failures, e.failingSince, e.secret, e.previousSecret, e.previousSecretUntil, e.createdAt, e.updatedAt)
  }

  #endpoint (id: string): StoredEndpoint | undefined {
    const row = this.#db.statement(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?`).get(id) as EndpointRow | undefined
    return row === undefined ? undefined : endpointOf(row)
  }

  #save (e: StoredEndpoint): void {
    this.#db.statement('UPDATE webhook_endpoints SET url = ?, events = ?, enabled = ?, disabled_reason = ?, failures = ?, failing_since = ?, secret = ?, previous_secret = ?, previous_secret_until = ?, updated_at = ? WHERE id = ?')
      .run(e.url, JSON.stringify(e.events), e.enabled ? 1 : 0, e.disabledReason, e.failures, e.failingSince, e.secret, e.previousSecret, e.previousSecretUntil, e.updatedAt, e.id)
  }

  async getEndpoint (id: string): Promise<StoredEndpoint | undefined> {
    return this.#endpoint(id)
  }

  async listEndpoints (): Promise<StoredEndpoint[]> {
    return (this.#db.statement(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, id`).all() as EndpointRow[]).map(endpointOf)
  }

  async updateEndpoint (id: string, patch: EndpointPatch, now: number): Promise<StoredEndpoint | undefined> {
    return this.#db.transaction(() => {
      const current = this.#endpoint(id)
      if (current === undefined) return undefined
      const next: StoredEndpoint = { ...current, ...patch, updatedAt: now }
      if (patch.enabled === true && !current.enabled) {
        Object.assign(next, { disabledReason: null, failures: 0, failingSince: null })
        this.#db.statement("UPDATE webhook_deliveries SET next_attempt_at = MIN(COALESCE(next_attempt_at, ?), ?) WHERE endpoint_id = ? AND state = 'pending'").run(now, now, id)
      }
      if (patch.enabled === false && patch.disabledReason === undefined && current.enabled) next.disabledReason = 'disabled through the API'
      this.#save(next)
      return next
    })
  }

  async deleteEndpoint (id: string): Promise<boolean> {
    return this.#db.transaction(() => {
      this.#db.statement('DELETE FROM webhook_deliveries WHERE endpoint_id = ?').run(id)
      this.#dropUnused()
      return this.#db.statement('DELETE FROM webhook_endpoints WHERE id = ?').run(id).changes > 0
    })
  }

  async fanOut (now: number, max: number): Promise<number> {
    return this.#db.transaction(() => {
      const events = this.#db.statement('SELECT rowid AS r, id, type, trackcode FROM webhook_events WHERE fanned_out = 0 ORDER BY rowid LIMIT ?').all(max) as Array<{ r: number, id: string, type: string, trackcode: string }>
      if (events.length === 0) return 0
      const endpoints = (this.#db.statement(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE enabled = 1 ORDER BY created_at, id`).all() as EndpointRow[]).map(endpointOf)
      const insert = this.#db.statement("INSERT INTO webhook_deliveries (event_id, endpoint_id, type, trackcode, state, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)")
      const mark = this.#db.statement('UPDATE webhook_events SET fanned_out = 1 WHERE rowid = ?')
      // Wanted by no endpoint: nothing will ever read it.
      const drop = this.#db.statement('DELETE FROM webhook_events WHERE rowid = ?')
      for (const event of events) {
        let added = 0
        for (const endpoint of endpoints) {
          if (!endpoint.events.includes(event.type as WebhookEventType)) continue
          insert.run(event.id, endpoint.id, event.type, event.trackcode, now, now)
          added++
        }
        if (added === 0) drop.run(event.r)
        else mark.run(event.r)
      }
      return events.length
    })
  }

  async claimDue (now: number, claimMs: number, max: number): Promise<ClaimedDelivery[]> {
    return this.#db.transaction(() => {
      const rows = this.#db.statement(`
        SELECT ${DELIVERY_COLUMNS.split(', ').map((c) => `d.${c}`).join(', ')}
        FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.claimed_until <= ? AND e.enabled = 1
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id AND p.trackcode = d.trackcode AND p.state = 'pending' AND p.seq < d.seq)
        ORDER BY d.seq LIMIT ?`).all(now, now, max) as DeliveryRow[]
      const claim = this.#db.statement('UPDATE webhook_deliveries SET claimed_until = ? WHERE seq = ?')
      const claimed: ClaimedDelivery[] = []
      for (const row of rows) {
        const event = this.#db.statement('SELECT id, type, trackcode, created_at, body FROM webhook_events WHERE id = ?').get(row.event_id) as EventRow | undefined
        const endpoint = this.#endpoint(row.endpoint_id)
        if (event === undefined || endpoint === undefined) continue
        claim.run(now + claimMs, row.seq)
        claimed.push({ delivery: deliveryOf(row), event: eventOf(event), endpoint })
      }
      return claimed
    })
  }

  async complete (id: string, outcome: AttemptOutcome): Promise<StoredEndpoint | undefined> {
    return this.#db.transaction(() => {
      const row = this.#db.statement(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE seq = ?`).get(seqOf(id)) as DeliveryRow | undefined
      if (row === undefined) return undefined
      const endpoint = this.#endpoint(row.endpoint_id)
      if (row.state !== 'pending' || endpoint === undefined) return endpoint
      if (outcome.ok) {
        this.#db.statement("UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_status = ?, last_error = NULL, delivered_at = ?, finished_at = ?, next_attempt_at = NULL, claimed_until = 0 WHERE seq = ?")
          .run(outcome.status, outcome.at, outcome.at, row.seq)
      } else {
        const givenUp = outcome.retryAt === null
        this.#db.statement('UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_status = ?, last_error = ?, next_attempt_at = ?, finished_at = ?, claimed_until = 0 WHERE seq = ?')
          .run(givenUp ? 'failed' : 'pending', outcome.status, outcome.error, outcome.retryAt, givenUp ? outcome.at : null, row.seq)
      }
      const next = afterAttempt(endpoint, outcome)
      this.#save(next)
      return next
    })
  }

  async getDelivery (id: string): Promise<WebhookDelivery | undefined> {
    const row = this.#db.statement(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE seq = ?`).get(seqOf(id)) as DeliveryRow | undefined
    return row === undefined ? undefined : deliveryOf(row)
  }

  async listDeliveries (endpointId: string, limit: number): Promise<WebhookDelivery[]> {
    return (this.#db.statement(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY seq DESC LIMIT ?`).all(endpointId, limit) as DeliveryRow[]).map(deliveryOf)
  }

  async replay (id: string, now: number): Promise<WebhookDelivery | undefined> {
    return this.#db.transaction(() => {
      const row = this.#db.statement(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE seq = ?`).get(seqOf(id)) as DeliveryRow | undefined
      if (row === undefined || this.#endpoint(row.endpoint_id) === undefined) return undefined
      const seq = Number(this.#db.statement("INSERT INTO webhook_deliveries (event_id, endpoint_id, type, trackcode, state, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)")
        .run(row.event_id, row.endpoint_id, row.type, row.trackcode, now, now).lastInsertRowid)
      const created = this.#db.statement(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE seq = ?`).get(seq) as DeliveryRow
      return deliveryOf(created)
    })
  }

  async sweepFinished (before: number, max: number): Promise<RetentionSweep> {
    return this.sweep(before, max)
  }

  /**
   * Deletes up to `max` deliveries that finished before `before` (oldest first), then
   * the events left without deliveries; synchronous, for the state database's sweep.
   */
  sweep (before: number, max = Number.MAX_SAFE_INTEGER): RetentionSweep {
    return this.#db.transaction(() => {
      const deliveries = this.#db.statement('DELETE FROM webhook_deliveries WHERE seq IN (SELECT seq FROM webhook_deliveries WHERE finished_at < ? ORDER BY finished_at, seq LIMIT ?)').run(before, max).changes
      return { deliveries, events: this.#dropUnused() }
    })
  }

  /** Deletes the fanned-out events no delivery refers to; returns how many. */
  #dropUnused (): number {
    return this.#db.statement('DELETE FROM webhook_events WHERE fanned_out = 1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)').run().changes
  }
}
