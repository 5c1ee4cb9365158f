/**
 * The allocator explained: per order, why and when it is next checked; for the whole
 * allocator, its budget, reservations, learning and counters. Served by
 * `GET /admin/allocator` (gateway tokens only) and summed up in `/metrics`.
 */
import { Type, type Static } from 'typebox'

/** Why an order is checked when it is. */
export const CheckReason = Type.Enum(['first-look', 'appointment', 'watch', 'safety', 'retry', 'nudge', 'elsewhere', 'none'], {
  description: '`first-look`: an order never checked (out of the first-look reserve; a subscriber\'s first check counts here too); `appointment`: a predicted change (see `change`); `watch`: an unpredictable change, by its index; `safety`: nothing can change, checked rarely; `retry`: after a failure; `nudge`: asked for at once; `elsewhere`: another instance polls it; `none`: nothing planned.'
})
export type CheckReason = Static<typeof CheckReason>

/** One order as the allocator sees it. */
export const OrderExplanation = Type.Object({
  trackcode: Type.String(),
  status: Type.Union([Type.String(), Type.Null()], { description: 'Status of the last snapshot seen; null before the first check.' }),
  reason: CheckReason,
  change: Type.Union([Type.String(), Type.Null()], { description: 'The change the next check looks for (payment, deposit-confirmation, send, output-confirmation, retention).' }),
  next_check_at: Type.Union([Type.Number(), Type.Null()], { description: 'Epoch seconds of the planned check (appointments, retries); null for the watch, which decides each refresh period.' }),
  covers: Type.Array(Type.String(), { description: 'Every change the planned check looks for: when appointments are thinned, one check sees several (a send with its output\'s confirmation).' }),
  last_check_at: Type.Union([Type.Number(), Type.Null()], { description: 'Epoch seconds of the last check seen.' }),
  hazard_per_hour: Type.Number({ description: 'Changes per hour the watch expects now.' }),
  index_s: Type.Number({ description: 'Watch index: expected undetected delay accumulated since the last check, weighted, seconds.' }),
  weight: Type.Number(),
  subscribers: Type.Integer({ description: 'Streams following it on this instance.' }),
  known: Type.Boolean({ description: 'Known order (created through the gateway or registered): tracked without subscribers until Done or Gone.' })
})
export type OrderExplanation = Static<typeof OrderExplanation>

/** The allocator's state. */
export const AllocatorState = Type.Object({
  orders: Type.Integer({ description: 'Orders tracked.' }),
  appointments: Type.Integer({ description: 'Orders with an appointment planned.' }),
  watched: Type.Integer({ description: 'Orders the watch ranks (a hazard above zero).' }),
  thinning: Type.Integer({ minimum: 0, maximum: 2, description: 'How far appointments are thinned because they would take more than the budget gives them: 0 not at all; 1 the end of retention may be seen late and no safety checks; 2 also a send merged with its output\'s confirmation (see docs/quota.md).' }),
  budget: Type.Object({
    limit: Type.Number(),
    used: Type.Number(),
    window_ms: Type.Number(),
    first_looks: Type.Number({ description: 'First looks at new orders in the window.' }),
    first_look_reserve: Type.Number({ description: 'Checks reserved for first looks over a window (the arrivals seen, with a margin); the appointments and the watch never take them.' }),
    own_limit: Type.Number({ description: 'What the appointments and the watch may spend in a window: limit − first_look_reserve.' }),
    peak: Type.Number({ description: 'The most checks of the appointments and the watch a coming window holds if the watch spends nothing more.' }),
    reserved_hard: Type.Number({ description: 'Appointments needed over the next window (planned, or what they took over the trailing one).' }),
    reserved_soft: Type.Number({ description: 'Expected appointments of unfunded orders and the share kept for arrivals.' }),
    free: Type.Number({ description: 'What the watch may still spend now: own_limit − peak.' }),
    watch_per_hour: Type.Number({ description: 'The watch\'s pace, checks per hour.' }),
    credit: Type.Number({ description: 'Checks the watch may make now.' })
  }),
  refresh: Type.Object({
    period_ms: Type.Number(),
    uncertainty: Type.Number({ description: 'Part of the refresh period where upstream\'s tick may still be (1: not learned).' }),
    observations: Type.Integer()
  }),
  lags: Type.Object({
    deposit_p50_s: Type.Union([Type.Number(), Type.Null()]),
    output_p50_s: Type.Union([Type.Number(), Type.Null()]),
    deposit_observations: Type.Integer(),
    output_observations: Type.Integer()
  }),
  checks: Type.Record(Type.String(), Type.Integer(), { description: 'Checks started since start, by reason.' }),
  leader: Type.Object({
    leading: Type.Boolean({ description: 'This instance\'s allocator decides for the cluster (always, on a single instance).' }),
    term: Type.Union([Type.Integer(), Type.Null()], { description: 'The term it leads under (null: single instance, or it does not lead).' }),
    owner: Type.String({ description: 'This instance\'s id.' }),
    fenced: Type.Integer({ description: 'Checks refused, not sent, because their term was no longer the leader\'s.' })
  }, { description: 'Who decides: see docs/scaling.md.' })
})
export type AllocatorState = Static<typeof AllocatorState>

/** Body of `GET /admin/allocator`. */
export const AllocatorReport = Type.Object({
  ok: Type.Literal(true),
  allocator: AllocatorState,
  orders: Type.Array(OrderExplanation)
})
export type AllocatorReport = Static<typeof AllocatorReport>
