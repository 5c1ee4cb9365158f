/**
 * TypeBox schemas of the tracking API, for validation of the route parameters and for
 * the OpenAPI document. The payloads themselves are written pre-serialized (once per
 * version, for every subscriber), so these schemas document them without a
 * serializer ever rewriting them; unknown upstream fields stay in the payload.
 *
 * {@link TrackedOrder} is the one definition of a tracked order: its TypeScript type
 * (used by `status.ts` and everything after it) is derived from the schema, and the
 * browser client's `.d.ts` is checked against it (`test/tracking/client-types.test.ts`).
 */
import { Type, type Static } from 'typebox'
import { Trackcode } from '../upstream/schemas/common.js'
import { CheckFunding, STABLE_OUTPUT_FIELDS } from '../upstream/schemas/order-check.js'

export { Trackcode }

/**
 * The type of a payload schema, open like the schema (none sets `additionalProperties`):
 * every object also carries the fields upstream adds that the gateway does not know.
 */
export type Open<T> = T extends ReadonlyArray<infer E>
  ? Array<Open<E>>
  : T extends object ? { [K in keyof T]: Open<T[K]> } & { [field: string]: unknown } : T

/** Route parameters `:trackcode`. */
export const TrackcodeParams = Type.Object({ trackcode: Trackcode })

/** Lifecycle of a tracked order, in the order it is lived. */
export type OrderStatus = 'WaitingForPayment' | 'Confirming' | 'WaitingForDelivery' | 'Done' | 'Gone'

/** Every status, in lifecycle order (the index is the rank). */
export const ORDER_STATUSES: readonly OrderStatus[] = Object.freeze(['WaitingForPayment', 'Confirming', 'WaitingForDelivery', 'Done', 'Gone'])

/** The derived lifecycle status. */
export const TrackedStatus = Type.Enum([...ORDER_STATUSES], {
  description: '`WaitingForPayment` (nothing received) → `Confirming` (payment seen, not yet confirmed or not fully funded) → `WaitingForDelivery` (funded; outputs not all sent and confirmed) → `Done` (every output sent and confirmed); `Gone` when upstream no longer knows the order (deleted, or its 48 h retention is over). Never moves backwards.'
})

/** One output of a tracked order. */
export const TrackedOutput = Type.Object({
  ...STABLE_OUTPUT_FIELDS,
  send_at: Type.Union([Type.Integer(), Type.Null()], { description: 'Planned send time, Unix epoch seconds (upstream\'s `left_seconds` countdown made absolute); `null` until the countdown runs (deposit confirmed and funded).' })
}, { description: 'An output: upstream\'s fields (unknown ones kept) with `left_seconds` replaced by `send_at`.' })
export type TrackedOutput = Open<Static<typeof TrackedOutput>>

/** The deposit of a tracked order. */
export const TrackedDeposit = Type.Object({
  confirm_status: Type.Integer({ minimum: 0, maximum: 2, description: '0 no payment seen; 1 payment seen, pending; 2 confirmed and funded.' }),
  coin: Type.String(),
  network: Type.String(),
  delete_at: Type.Union([Type.Integer(), Type.Null()], { description: 'When upstream forgets the order (end of its 48 h retention), Unix epoch seconds: upstream\'s `delete_in_sec` countdown made absolute.' }),
  funding: CheckFunding
}, { description: 'The deposit: upstream\'s fields (unknown ones kept) with `delete_in_sec` replaced by `delete_at`.' })
export type TrackedDeposit = Open<Static<typeof TrackedDeposit>>

const EXAMPLE_ORDER = {
  trackcode: '6A5FB3BA8A150EC9',
  type: 'mixer',
  status: 'WaitingForDelivery',
  version: 3,
  updated_at: 1755441793,
  deposit: {
    confirm_status: 2,
    coin: 'btc',
    network: 'btc',
    delete_at: 1755609605,
    funding: { waiting_balance: '10.00000000', received_balance: '10.00000000', remaining_need: '0.00000000', is_fully_funded: true, can_start: true }
  },
  status_reason: null,
  outputs: [
    { index: 1, address: '35iM…EL', destination_tag: null, coin: 'btc', network: 'btc', share_percent: 84.93, delay_label: '0h 0m', delay_seconds: 0, state: 2, confirm: 1, tx: '135f451af7f894…fafb578eee9e9c4', amount: '8.45469657', send_at: 1755441793 },
    { index: 2, address: '1P27…MM', destination_tag: null, coin: 'btc', network: 'btc', share_percent: 15.07, delay_label: '2h 0m', delay_seconds: 7200, state: 1, confirm: 0, tx: '', amount: '1.50020343', send_at: 1755448993 }
  ]
}

/** Order kinds a snapshot can name. */
export const TRACKED_ORDER_TYPES = Object.freeze(['mixer', 'exchange', 'unknown'] as const)

/** The kind of a tracked order. */
export const TrackedOrderType = Type.Enum([...TRACKED_ORDER_TYPES], {
  description: '`mixer` or `exchange` as upstream says; `unknown` when upstream names no kind the gateway knows.'
})

/** The payload of a `message` event and of `GET /orders/{trackcode}`. */
export const TrackedOrder = Type.Object({
  trackcode: Trackcode,
  type: TrackedOrderType,
  status: TrackedStatus,
  version: Type.Integer({ minimum: 1, description: 'Per-order version: 1 for the first snapshot, +1 on every real change (countdown ticks are not changes). Also the event `id`.' }),
  updated_at: Type.Integer({ description: 'When this version was detected, Unix epoch seconds.' }),
  deposit: TrackedDeposit,
  status_reason: Type.Union([Type.String(), Type.Null()], { description: 'Why the order waits, e.g. `INSUFFICIENT_FUNDS`; `null` when upstream gives none.' }),
  outputs: Type.Array(TrackedOutput)
}, {
  description: 'A tracked order: upstream\'s check (`outputs:"full"`, masked addresses) with the ticking countdowns made absolute times and a derived `status`.',
  examples: [EXAMPLE_ORDER]
})
export type TrackedOrder = Open<Static<typeof TrackedOrder>>

/** Why checks of an order fail, so that tracking is degraded. */
export const DEGRADED_REASONS = Object.freeze(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'UPSTREAM_ERROR', 'QUOTA_EXHAUSTED', 'RATE_LIMITED'] as const)
/** Why a stream was turned away: the gateway holds as many streams as it may (`SSE_MAX_CONNECTIONS`). */
export const SHED_REASONS = Object.freeze(['OVERLOADED'] as const)

/** The payload of a `tracking` event: tracking degraded, or live again. */
export const TrackingEvent = Type.Object({
  state: Type.Enum(['degraded', 'live'], { description: '`degraded`: checks of the order fail (or the stream is turned away), updates may be late; `live`: updates flow again.' }),
  reason: Type.Union([Type.Enum([...DEGRADED_REASONS, ...SHED_REASONS]), Type.Null()], {
    description: 'Why tracking is degraded: upstream unreachable (`UPSTREAM_UNAVAILABLE`), too slow (`UPSTREAM_TIMEOUT`), failing (`UPSTREAM_ERROR`), the daily quota spent (`QUOTA_EXHAUSTED`), upstream rate-limiting the gateway (`RATE_LIMITED`), or the gateway holding as many streams as it may (`OVERLOADED`: sent instead of the snapshot, then the stream ends); `null` when live again.'
  }),
  message: Type.String({ description: 'Human-readable explanation.' }),
  next_check_at: Type.Integer({ description: 'Unix epoch seconds of the next planned upstream check of the order (`OVERLOADED`: when the browser reconnects).' })
}, {
  description: 'The `data` of a `tracking` event (`event: tracking`). Never sent as `error`: that name collides with EventSource\'s own error handler.',
  examples: [{ state: 'degraded', reason: 'UPSTREAM_TIMEOUT', message: 'SecretCryptos does not answer in time; retrying with backoff', next_check_at: 1755441853 }]
})
export type TrackingEvent = Static<typeof TrackingEvent>

/** The payload of a `stop` event: the order is final, the stream ends. */
export const StopEvent = Type.Object({
  trackcode: Trackcode,
  status: Type.Enum(['Done', 'Gone'], { description: 'The final status: `Done` (every output sent and confirmed) or `Gone` (upstream no longer knows the order).' }),
  version: Type.Integer({ minimum: 1, description: 'The version of the final snapshot, sent just before.' })
}, {
  description: 'The `data` of the `stop` event (`event: stop`), the last event of a stream: the order is `Done` or `Gone`, no update will follow.',
  examples: [{ trackcode: '6A5FB3BA8A150EC9', status: 'Done', version: 4 }]
})
export type StopEvent = Static<typeof StopEvent>

const EXAMPLE_STREAM = [
  'retry: 3000',
  '',
  'id: 3',
  `data: ${JSON.stringify(EXAMPLE_ORDER)}`,
  '',
  ': keep-alive',
  '',
  'event: tracking',
  `data: ${JSON.stringify({ state: 'degraded', reason: 'UPSTREAM_TIMEOUT', message: 'SecretCryptos does not answer in time; retrying with backoff', next_check_at: 1755441853 })}`,
  '',
  'event: tracking',
  `data: ${JSON.stringify({ state: 'live', reason: null, message: 'Tracking is live again', next_check_at: 1755441913 })}`,
  '',
  'id: 4',
  'data: {"trackcode":"6A5FB3BA8A150EC9","status":"Done","version":4,"…":"…"}',
  '',
  'event: stop',
  'data: {"trackcode":"6A5FB3BA8A150EC9","status":"Done","version":4}',
  '',
  ''
].join('\n')

/**
 * The names under which the payload schemas are components of the OpenAPI document
 * (`components.schemas`, added by `src/plugins/openapi.ts`); routes point at them with
 * {@link componentRef}.
 */
export const TRACKING_COMPONENTS = { TrackedOrder, TrackingEvent, StopEvent } as const
export type TrackingComponent = keyof typeof TRACKING_COMPONENTS

/** A reference to a named component (a `$ref` to the schema added under that `$id`). */
export function componentRef (name: TrackingComponent, options: { description?: string } = {}): ReturnType<typeof Type.Ref> {
  return Type.Ref(name, options)
}

/** One event of the stream: its name, its `id:` and the schema of its `data:` (parsed). */
function streamEvent (name: string, data: TrackingComponent, description: string, id: boolean): Record<string, unknown> {
  return {
    type: 'object',
    title: name,
    description,
    required: id ? ['event', 'id', 'data'] : ['event', 'data'],
    properties: {
      event: { type: 'string', enum: [name], description: name === 'message' ? 'No `event:` line on the wire: `message` is EventSource\'s default event name.' : `The \`event: ${name}\` line.` },
      ...(id ? { id: { type: 'string', description: 'The `id:` line: the order\'s version, what EventSource sends back as `Last-Event-ID`.' } } : {}),
      data: componentRef(data, { description: `The \`data:\` line, one line of JSON: a ${data}.` })
    }
  }
}

/**
 * The `text/event-stream` body, as documented in OpenAPI. OpenAPI 3.1 cannot say what
 * the items of a stream are, so the schema describes one event, a `oneOf` of the three
 * event kinds whose `data` points at the named components (what OpenAPI 3.2 calls an
 * `itemSchema`); the wire format is told in the description.
 */
export const EventStream = Type.Unsafe<string>({
  title: 'ServerSentEvent',
  description: [
    'The body is text: Server-Sent Events, each described here as an object (`event` name, `id`, and `data` parsed as JSON). In this order:',
    '- `retry: <ms>`: reconnection delay hint, milliseconds (the SSE format\'s unit);',
    '- `message` events (no `event:` line): `id:` = the order\'s version, `data:` = a `TrackedOrder` (the body of `GET /orders/{trackcode}`). The current snapshot comes first, unless `Last-Event-ID` already names the current version; later ones only on real changes;',
    '- `tracking` events: tracking degraded or live again, `data:` = a `TrackingEvent`;',
    '- `: keep-alive` comment lines on idle streams;',
    '- once the order is `Done` or `Gone`: the final snapshot, a `stop` event (`data:` = a `StopEvent`), and the end of the stream.',
    '',
    'A stream may also end without `stop`; EventSource then reconnects by itself after the last `retry:` delay, sending `Last-Event-ID`: after `retry: <10–20 s>` and a `tracking` event with the reason `OVERLOADED` (the gateway holds as many streams as it may; sent instead of the snapshot), or after a short `retry: <1–2 s>` (the stream reached its maximum lifetime, or the gateway is shutting down).',
    '',
    'On the wire:',
    '',
    '```',
    EXAMPLE_STREAM,
    '```'
  ].join('\n'),
  oneOf: [
    streamEvent('message', 'TrackedOrder', 'A snapshot of the order.', true),
    streamEvent('tracking', 'TrackingEvent', 'Tracking degraded, or live again; the stream stays open (unless `OVERLOADED`).', false),
    streamEvent('stop', 'StopEvent', 'The order is final: the last event of the stream.', false)
  ],
  examples: [{ event: 'message', id: '3', data: EXAMPLE_ORDER }]
})
