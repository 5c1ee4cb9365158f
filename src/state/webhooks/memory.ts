/**
 * The in-process webhook store (tests, `STATE_BACKEND=memory`). The snapshot store
 * appends events with {@link MemoryWebhookStore.append}, synchronously inside its
 * `put`, so a version and its events are stored in one step. The delivery worker's
 * rounds sweep it ({@link MemoryWebhookStore.sweepFinished}).
 */
import {
  afterAttempt, deliveryId, subscribes,
  type AttemptOutcome, type ClaimedDelivery, type EndpointPatch, type OutboxEvent, type RetentionSweep, type StoredEndpoint, type WebhookDelivery, type WebhookStore
} from './index.js'

interface Entry extends WebhookDelivery {
  claimedUntil: number
}

export class MemoryWebhookStore implements WebhookStore {
  readonly #endpoints = new Map<string, StoredEndpoint>()
  readonly #events = new Map<string, OutboxEvent>()
  /** Appended, not yet fanned out. */
  readonly #outbox: string[] = []
  readonly #deliveries = new Map<string, Entry>()
  #seq = 0

  /** Appends events to the outbox (synchronous: part of the snapshot store's step). */
  append (events: readonly OutboxEvent[]): void {
    for (const event of events) {
      this.#events.set(event.id, { ...event })
      this.#outbox.push(event.id)
    }
  }

  async createEndpoint (endpoint: StoredEndpoint): Promise<void> {
    this.#endpoints.set(endpoint.id, { ...endpoint, events: [...endpoint.events] })
  }

  async getEndpoint (id: string): Promise<StoredEndpoint | undefined> {
    const endpoint = this.#endpoints.get(id)
    return endpoint === undefined ? undefined : { ...endpoint, events: [...endpoint.events] }
  }

  async listEndpoints (): Promise<StoredEndpoint[]> {
    return [...this.#endpoints.values()].map((e) => ({ ...e, events: [...e.events] }))
  }

  async updateEndpoint (id: string, patch: EndpointPatch, now: number): Promise<StoredEndpoint | undefined> {
    const current = this.#endpoints.get(id)
    if (current === undefined) return undefined
    const next: StoredEndpoint = { ...current, ...patch, updatedAt: now }
    if (patch.enabled === true && !current.enabled) {
      Object.assign(next, { disabledReason: null, failures: 0, failingSince: null })
      for (const d of this.#deliveries.values()) {
        if (d.endpointId === id && d.state === 'pending') d.nextAttemptAt = Math.min(d.nextAttemptAt ?? now, now)
      }
    }
    if (patch.enabled === false && patch.disabledReason === undefined && current.enabled) next.disabledReason = 'disabled through the API'
    this.#endpoints.set(id, next)
    return { ...next, events: [...next.events] }
  }

  async deleteEndpoint (id: string): Promise<boolean> {
    for (const [key, d] of this.#deliveries) if (d.endpointId === id) this.#deliveries.delete(key)
    this.#dropUnused()
    return this.#endpoints.delete(id)
  }

  async fanOut (now: number, max: number): Promise<number> {
    const taken = this.#outbox.splice(0, max)
    for (const eventId of taken) {
      const event = this.#events.get(eventId)
      if (event === undefined) continue
      let added = 0
      for (const endpoint of this.#endpoints.values()) {
        if (!subscribes(endpoint, event.type)) continue
        this.#add(event, endpoint.id, now)
        added++
      }
      // Wanted by no endpoint: nothing will ever read it.
      if (added === 0) this.#events.delete(eventId)
    }
    return taken.length
  }

  #add (event: OutboxEvent, endpointId: string, now: number): Entry {
    const seq = ++this.#seq
    const entry: Entry = {
      id: deliveryId(seq),
      eventId: event.id,
      endpointId,
      type: event.type,
      trackcode: event.trackcode,
      seq,
      state: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      lastStatus: null,
      lastError: null,
      deliveredAt: null,
      finishedAt: null,
      createdAt: now,
      claimedUntil: 0
    }
    this.#deliveries.set(entry.id, entry)
    return entry
  }

  async claimDue (now: number, claimMs: number, max: number): Promise<ClaimedDelivery[]> {
    const heads = new Map<string, Entry>()
    for (const d of this.#deliveries.values()) {
      if (d.state !== 'pending') continue
      const queue = `${d.endpointId} ${d.trackcode}`
      const head = heads.get(queue)
      if (head === undefined || d.seq < head.seq) heads.set(queue, d)
    }
    const claimed: ClaimedDelivery[] = []
    for (const d of [...heads.values()].sort((a, b) => a.seq - b.seq)) {
      if (claimed.length >= max) break
      const endpoint = this.#endpoints.get(d.endpointId)
      const event = this.#events.get(d.eventId)
      if (endpoint === undefined || event === undefined || !endpoint.enabled) continue
      if ((d.nextAttemptAt ?? Infinity) > now || d.claimedUntil > now) continue
      d.claimedUntil = now + claimMs
      claimed.push({ delivery: strip(d), event: { ...event }, endpoint: { ...endpoint, events: [...endpoint.events] } })
    }
    return claimed
  }

  async complete (id: string, outcome: AttemptOutcome): Promise<StoredEndpoint | undefined> {
    const d = this.#deliveries.get(id)
    if (d === undefined || d.state !== 'pending') return d === undefined ? undefined : await this.getEndpoint(d.endpointId)
    d.attempts++
    d.claimedUntil = 0
    d.lastStatus = outcome.status
    if (outcome.ok) {
      Object.assign(d, { state: 'delivered', deliveredAt: outcome.at, finishedAt: outcome.at, nextAttemptAt: null, lastError: null })
    } else {
      d.lastError = outcome.error
      d.nextAttemptAt = outcome.retryAt
      if (outcome.retryAt === null) Object.assign(d, { state: 'failed', finishedAt: outcome.at })
    }
    const endpoint = this.#endpoints.get(d.endpointId)
    if (endpoint === undefined) return undefined
    const next = afterAttempt(endpoint, outcome)
    this.#endpoints.set(d.endpointId, next)
    return { ...next, events: [...next.events] }
  }

  async getDelivery (id: string): Promise<WebhookDelivery | undefined> {
    const d = this.#deliveries.get(id)
    return d === undefined ? undefined : strip(d)
  }

  async listDeliveries (endpointId: string, limit: number): Promise<WebhookDelivery[]> {
    return [...this.#deliveries.values()].filter((d) => d.endpointId === endpointId).sort((a, b) => b.seq - a.seq).slice(0, limit).map(strip)
  }

  async replay (id: string, now: number): Promise<WebhookDelivery | undefined> {
    const d = this.#deliveries.get(id)
    const event = d === undefined ? undefined : this.#events.get(d.eventId)
    if (d === undefined || event === undefined || !this.#endpoints.has(d.endpointId)) return undefined
    return strip(this.#add(event, d.endpointId, now))
  }

  async sweepFinished (before: number, max: number): Promise<RetentionSweep> {
    const expired = [...this.#deliveries.values()]
      .filter((d) => d.finishedAt !== null && d.finishedAt < before)
      .sort((a, b) => (a.finishedAt as number) - (b.finishedAt as number) || a.seq - b.seq)
      .slice(0, max)
    for (const d of expired) this.#deliveries.delete(d.id)
    return { deliveries: expired.length, events: this.#dropUnused() }
  }

  /** Deletes the fanned-out events no delivery refers to; returns how many. */
  #dropUnused (): number {
    const used = new Set(this.#outbox)
    for (const d of this.#deliveries.values()) used.add(d.eventId)
    let dropped = 0
    for (const id of this.#events.keys()) {
      if (used.has(id)) continue
      this.#events.delete(id)
      dropped++
    }
    return dropped
  }
}

function strip (entry: Entry): WebhookDelivery {
  const { claimedUntil: _claimed, ...delivery } = entry
  return delivery
}
