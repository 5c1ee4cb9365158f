/** The schemas of the `/webhooks` routes (requests and answers) and the views they answer with. */
import { Type, type Static } from 'typebox'
import { WEBHOOK_EVENT_TYPES, type StoredEndpoint, type WebhookDelivery } from '../../state/webhooks/index.js'

export const EventType = Type.Enum([...WEBHOOK_EVENT_TYPES], { description: 'An event type (docs/webhooks.md).' })
const Events = Type.Array(EventType, { minItems: 1, uniqueItems: true, description: 'The event types sent to this endpoint.' })
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'Where events are POSTed: `https:` and a public address (`http:` and internal addresses only for hosts of `WEBHOOK_ALLOW_HOSTS`).' })

export const EndpointParams = Type.Object({ id: Type.String({ pattern: '^ep_[A-Za-z0-9_-]{1,64}$', description: 'The endpoint id.' }) })
export const DeliveryParams = Type.Object({
  id: EndpointParams.properties.id,
  deliveryId: Type.String({ pattern: '^dlv_[0-9]{1,18}$', description: 'The delivery id.' })
})

export const CreateEndpointBody = Type.Object({ url: Url, events: Events }, { additionalProperties: false })
export const PatchEndpointBody = Type.Object({
  url: Type.Optional(Url),
  events: Type.Optional(Events),
  enabled: Type.Optional(Type.Boolean({ description: '`false` disables the endpoint (its deliveries wait); `true` enables it again and resumes them.' }))
}, { additionalProperties: false, minProperties: 1 })
export type PatchEndpointBody = Static<typeof PatchEndpointBody>

export const Endpoint = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Events,
  enabled: Type.Boolean(),
  disabled_reason: Type.Union([Type.String(), Type.Null()], { description: 'Why it is disabled: through the API, or failing for `WEBHOOK_DISABLE_AFTER_MS`.' }),
  failures: Type.Integer({ description: 'Attempts failed in a row.' }),
  failing_since: Type.Union([Type.Integer(), Type.Null()], { description: 'Unix epoch seconds of the first of those failures.' }),
  created_at: Type.Integer({ description: 'Unix epoch seconds.' }),
  updated_at: Type.Integer({ description: 'Unix epoch seconds.' })
}, { description: 'A webhook endpoint (its secret is shown only when created or rotated).' })

export const EndpointWithSecret = Type.Object({
  ...Endpoint.properties,
  secret: Type.String({ description: 'The signing secret, `whsec_<base64>`: shown this once, store it now.' })
}, { description: 'A webhook endpoint with its signing secret, shown this once.' })

export const EndpointList = Type.Object({ endpoints: Type.Array(Endpoint) })

export const Delivery = Type.Object({
  id: Type.String(),
  event_id: Type.String({ description: 'The event id, sent as `webhook-id` (the same on every attempt and replay).' }),
  type: EventType,
  trackcode: Type.String(),
  state: Type.Enum(['pending', 'delivered', 'failed'], { description: '`failed`: given up after `WEBHOOK_RETRY_FOR_MS`.' }),
  attempts: Type.Integer(),
  next_attempt_at: Type.Union([Type.Integer(), Type.Null()], { description: 'Unix epoch seconds.' }),
  last_status: Type.Union([Type.Integer(), Type.Null()], { description: 'HTTP status of the last attempt (`null`: no answer).' }),
  last_error: Type.Union([Type.String(), Type.Null()]),
  delivered_at: Type.Union([Type.Integer(), Type.Null()], { description: 'Unix epoch seconds.' }),
  created_at: Type.Integer({ description: 'Unix epoch seconds.' })
}, { description: 'One event for one endpoint.' })

export const DeliveryList = Type.Object({ deliveries: Type.Array(Delivery) })
export const DeliveriesQuery = Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'At most this many, newest first (default 50, at most 500).' })) })

const seconds = (ms: number | null): number | null => ms === null ? null : Math.floor(ms / 1000)

export function endpointView (e: StoredEndpoint): Static<typeof Endpoint> {
  return {
    id: e.id,
    url: e.url,
    events: e.events,
    enabled: e.enabled,
    disabled_reason: e.disabledReason,
    failures: e.failures,
    failing_since: seconds(e.failingSince),
    created_at: Math.floor(e.createdAt / 1000),
    updated_at: Math.floor(e.updatedAt / 1000)
  }
}

export function deliveryView (d: WebhookDelivery): Static<typeof Delivery> {
  return {
    id: d.id,
    event_id: d.eventId,
    type: d.type,
    trackcode: d.trackcode,
    state: d.state,
    attempts: d.attempts,
    next_attempt_at: seconds(d.nextAttemptAt),
    last_status: d.lastStatus,
    last_error: d.lastError,
    delivered_at: seconds(d.deliveredAt),
    created_at: Math.floor(d.createdAt / 1000)
  }
}
