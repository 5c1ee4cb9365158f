/**
 * The webhooks port: the operator's webhook endpoints, the outbox of events, and one
 * delivery per event × endpoint.
 *
 * - **Endpoints** carry their signing secret (stored so it can sign; the routes show
 *   it once, at creation and rotation) and, during a rotation's overlap, the previous
 *   one with its end.
 * - **Outbox**: events are appended by the snapshots port's `put`, in the same atomic
 *   step as the new version ({@link OutboxEvent}); {@link WebhookStore.fanOut} turns
 *   each appended event, once in the cluster, into one pending delivery per enabled
 *   endpoint subscribed to its type.
 * - **Deliveries** of one order to one endpoint form a queue: only its head (lowest
 *   sequence) can be claimed, so events arrive in order. {@link WebhookStore.claimDue}
 *   hands out due heads with an expiring claim (exactly one instance works on a
 *   delivery; a crashed claimer's delivery is claimable again once its claim lapses);
 *   {@link WebhookStore.complete} records an attempt's outcome.
 * - **Retention**: a finished delivery (delivered or given up) is kept until
 *   {@link WebhookStore.sweepFinished} deletes it, some time after it finished
 *   (`WEBHOOK_DELIVERY_RETENTION_MS`), and an event once none of its deliveries remain
 *   (an event no endpoint wanted goes at its fan-out). Pending deliveries are never
 *   swept, so no queue loses its place.
 *
 * Times are epoch ms and passed in by the caller (the stores keep no clock).
 */

/** Event types, one per transition (`src/webhooks/events.ts`). */
export const WEBHOOK_EVENT_TYPES = Object.freeze(['order.payment_seen', 'order.confirmed', 'order.output_sent', 'order.completed', 'order.gone'] as const)
export type WebhookEventType = typeof WEBHOOK_EVENT_TYPES[number]

/** An event as the outbox holds it. */
export interface OutboxEvent {
  /** Unique (`evt_…`): the `webhook-id` of every attempt, for the receiver's deduplication. */
  id: string
  type: WebhookEventType
  trackcode: string
  /** Epoch ms. */
  createdAt: number
  /** The request body, serialized once: `{ id, type, created_at, data }`. */
  body: string
}

/** An endpoint as the API shows it (never its secret). */
export interface WebhookEndpoint {
  id: string
  url: string
  events: WebhookEventType[]
  enabled: boolean
  /** Why it is disabled (`null` while enabled). */
  disabledReason: string | null
  /** Attempts failed in a row (reset by a success). */
  failures: number
  /** Epoch ms of the first of those failures (`null` after a success). */
  failingSince: number | null
  createdAt: number
  updatedAt: number
}

/** An endpoint with what signs its deliveries. */
export interface StoredEndpoint extends WebhookEndpoint {
  /** `whsec_<base64>`. */
  secret: string
  /** The secret before the last rotation, still signing until {@link previousSecretUntil}. */
  previousSecret: string | null
  previousSecretUntil: number | null
}

/** What an update may change. */
export interface EndpointPatch {
  url?: string
  events?: WebhookEventType[]
  enabled?: boolean
  disabledReason?: string | null
  secret?: string
  previousSecret?: string | null
  previousSecretUntil?: number | null
}

export type DeliveryState = 'pending' | 'delivered' | 'failed'

/** One event for one endpoint. */
export interface WebhookDelivery {
  /** `dlv_<seq>`. */
  id: string
  eventId: string
  endpointId: string
  type: WebhookEventType
  trackcode: string
  /** Order of creation in the store: the queue order of one order × endpoint. */
  seq: number
  /** `pending` until delivered or given up (`failed`). */
  state: DeliveryState
  attempts: number
  /** Epoch ms of the next attempt (`null` once delivered or given up). */
  nextAttemptAt: number | null
  /** HTTP status of the last attempt (`null`: none, or no answer). */
  lastStatus: number | null
  lastError: string | null
  deliveredAt: number | null
  /** Epoch ms at which it was delivered or given up (`null` while pending): its retention starts then. */
  finishedAt: number | null
  createdAt: number
}

/** What a retention sweep deleted. */
export interface RetentionSweep {
  deliveries: number
  events: number
}

/** A claimed delivery with what it takes to send it. */
export interface ClaimedDelivery {
  delivery: WebhookDelivery
  event: OutboxEvent
  endpoint: StoredEndpoint
}

/** What one attempt ended with. */
export type AttemptOutcome =
  | { ok: true, status: number, at: number }
  /** `retryAt` null: given up. */
  | { ok: false, status: number | null, error: string, at: number, retryAt: number | null }

/** The store; see the module comment. */
export interface WebhookStore {
  createEndpoint (endpoint: StoredEndpoint): Promise<void>
  getEndpoint (id: string): Promise<StoredEndpoint | undefined>
  /** Every endpoint, oldest first. */
  listEndpoints (): Promise<StoredEndpoint[]>
  /**
   * Applies `patch`; `undefined` when there is no such endpoint. Enabling a disabled
   * endpoint resets its failures and makes its pending deliveries due at `now`.
   */
  updateEndpoint (id: string, patch: EndpointPatch, now: number): Promise<StoredEndpoint | undefined>
  /** Deletes the endpoint and its deliveries; false when there was none. */
  deleteEndpoint (id: string): Promise<boolean>
  /**
   * Turns up to `max` appended events into pending deliveries (due at `now`), once in
   * the cluster, for the endpoints enabled and subscribed at that moment. Returns how
   * many events it took.
   */
  fanOut (now: number, max: number): Promise<number>
  /**
   * Claims up to `max` deliveries that are due at `now`, the head of their queue, and
   * of an enabled endpoint, until `now + claimMs`.
   */
  claimDue (now: number, claimMs: number, max: number): Promise<ClaimedDelivery[]>
  /**
   * Records an attempt of a claimed delivery, releases the claim and updates the
   * endpoint's failure count. A final outcome (delivered, given up) lets the next
   * delivery of the queue become due. Returns the endpoint after the update
   * (`undefined` if deleted meanwhile).
   */
  complete (deliveryId: string, outcome: AttemptOutcome): Promise<StoredEndpoint | undefined>
  getDelivery (id: string): Promise<WebhookDelivery | undefined>
  /** The endpoint's deliveries, newest first, at most `limit`. */
  listDeliveries (endpointId: string, limit: number): Promise<WebhookDelivery[]>
  /**
   * A new pending delivery of `deliveryId`'s event to its endpoint (due at `now`,
   * queued after that order's pending ones); `undefined` when there is no such delivery.
   */
  replay (deliveryId: string, now: number): Promise<WebhookDelivery | undefined>
  /**
   * Deletes up to `max` finished deliveries (delivered or given up) that finished
   * before `before`, oldest first, then the events none of whose deliveries remain.
   * Pending deliveries are never deleted. A Redis store built with a sweep claim
   * sweeps only while it holds the cluster's claim (another instance's: nothing).
   */
  sweepFinished (before: number, max: number): Promise<RetentionSweep>
}

/** A delivery's id: its sequence number, unique in the store (`dlv_<seq>`). */
export function deliveryId (seq: number): string {
  return `dlv_${seq}`
}

/** True when `endpoint` wants events of `type`. */
export function subscribes (endpoint: WebhookEndpoint, type: WebhookEventType): boolean {
  return endpoint.enabled && endpoint.events.includes(type)
}

/** The endpoint after a failed or successful attempt at `at`. */
export function afterAttempt<E extends WebhookEndpoint> (endpoint: E, outcome: AttemptOutcome): E {
  if (outcome.ok) return { ...endpoint, failures: 0, failingSince: null }
  return { ...endpoint, failures: endpoint.failures + 1, failingSince: endpoint.failingSince ?? outcome.at }
}
