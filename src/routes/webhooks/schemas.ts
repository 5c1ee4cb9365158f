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

const EXAMPLE_ENDPOINT = {
  id: 'ep_Qm9vZ2xlLWV4YW1wbGUx',
  url: 'https://shop.example/hooks/trackgate',
  events: ['order.payment_seen', 'order.confirmed', 'order.output_sent', 'order.completed', 'order.gone'],
  enabled: true,
  disabled_reason: null,
  failures: 0,
  failing_since: null,
  created_at: 1755441793,
  updated_at: 1755441793
}
const EXAMPLE_DELIVERY = {
  id: 'dlv_42',
  event_id: 'evt_3q2-7wEXAMPLEv8Hx1aQ',
  type: 'order.confirmed',
  trackcode: '6A5FB3BA8A150EC9',
  state: 'delivered',
  attempts: 1,
  next_attempt_at: null,
  last_status: 200,
  last_error: null,
  delivered_at: 1755441794,
  created_at: 1755441793
}

export const CreateEndpointBody = Type.Object({ url: Url, events: Events }, { additionalProperties: false, examples: [{ url: EXAMPLE_ENDPOINT.url, events: EXAMPLE_ENDPOINT.events }] })
export const PatchEndpointBody = Type.Object({
  url: Type.Optional(Url),
  events: Type.Optional(Events),
  enabled: Type.Optional(Type.Boolean({ description: '`false` disables the endpoint (its deliveries wait); `true` enables it again and resumes them.' }))
}, { additionalProperties: false, minProperties: 1, examples: [{ enabled: true }, { events: ['order.completed'] }] })
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
}, { description: 'A webhook endpoint (its secret is shown only when created or rotated).', examples: [EXAMPLE_ENDPOINT] })

export const EndpointWithSecret = Type.Object({
  ...Endpoint.properties,
  secret: Type.String({ description: 'The signing secret, `whsec_<base64>`: shown this once, store it now.' })
}, { description: 'A webhook endpoint with its signing secret, shown this once.', examples: [{ ...EXAMPLE_ENDPOINT, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }] })

/** The body of the POST routes that need none: nothing, or `{}`. */
export const EmptyBody = Type.Object({}, { additionalProperties: false, description: 'No fields: send `{}`.', examples: [{}] })

export const EndpointList = Type.Object({ endpoints: Type.Array(Endpoint) }, { examples: [{ endpoints: [EXAMPLE_ENDPOINT] }] })

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
}, { description: 'One event for one endpoint.', examples: [EXAMPLE_DELIVERY] })

export const DeliveryList = Type.Object({ deliveries: Type.Array(Delivery) }, { examples: [{ deliveries: [EXAMPLE_DELIVERY] }] })
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
