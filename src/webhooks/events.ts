/**
 * The webhook events of one change of an order: computed from the previous and the new
 * snapshot by the refresher, and stored with the new version (the snapshots port's
 * `put`). One event per step of the lifecycle the change passed through, in lifecycle
 * order, so a receiver learns every step once even when one check saw several:
 *
 * | event                | when                                                         |
 * |----------------------|--------------------------------------------------------------|
 * | `order.payment_seen` | the status reached `Confirming` (a deposit seen)             |
 * | `order.confirmed`    | the status reached `WaitingForDelivery` (funded, confirmed)  |
 * | `order.output_sent`  | one more output was sent (`state` 2): one event per output   |
 * | `order.completed`    | the status reached `Done`                                    |
 * | `order.gone`         | the status became `Gone` (upstream no longer knows the order) |
 *
 * A first snapshot counts from `WaitingForPayment`: an order first seen mid-way gets
 * the events of the steps already behind it.
 */
import { randomBytes } from 'node:crypto'
import type { OutboxEvent, WebhookEventType } from '../state/webhooks/index.js'
import { statusRank } from '../tracking/status.js'
import type { OrderStatus, TrackedOrder } from '../tracking/schemas.js'

/** The status whose reaching each status event announces. */
const STATUS_EVENTS: ReadonlyArray<[OrderStatus, WebhookEventType]> = [
  ['Confirming', 'order.payment_seen'],
  ['WaitingForDelivery', 'order.confirmed']
]

/** A new event id: `evt_` and 128 random bits. */
export function newEventId (): string {
  return `evt_${randomBytes(16).toString('base64url')}`
}

function sentOutputs (order: TrackedOrder | undefined): number {
  return order === undefined ? 0 : order.outputs.filter((o) => o.state === 2).length
}

/** The event types of the change `previous` → `next`, in order. */
export function transitions (previous: TrackedOrder | undefined, next: TrackedOrder): WebhookEventType[] {
  const types: WebhookEventType[] = []
  if (next.status === 'Gone') return previous?.status === 'Gone' ? [] : ['order.gone']
  const from = statusRank(previous?.status ?? 'WaitingForPayment')
  const to = statusRank(next.status)
  for (const [status, type] of STATUS_EVENTS) {
    const rank = statusRank(status)
    if (rank > from && rank <= to) types.push(type)
  }
  const sent = sentOutputs(next) - sentOutputs(previous)
  for (let i = 0; i < sent; i++) types.push('order.output_sent')
  if (next.status === 'Done' && previous?.status !== 'Done') types.push('order.completed')
  return types
}

/** The outbox events of the change `previous` → `next`, detected at `now` (epoch ms). */
export function webhookEvents (previous: TrackedOrder | undefined, next: TrackedOrder, nextJson: string, now: number): OutboxEvent[] {
  const createdAt = Math.floor(now / 1000)
  return transitions(previous, next).map((type) => {
    const id = newEventId()
    // The snapshot's own serialization is spliced in: serialized once, byte for byte the stream's.
    const body = `{"id":${JSON.stringify(id)},"type":${JSON.stringify(type)},"created_at":${createdAt},"data":${nextJson}}`
    return { id, type, trackcode: next.trackcode, createdAt: now, body }
  })
}
