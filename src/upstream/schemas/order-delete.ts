/**
 * `POST /v1/orders/delete`: delete an order.
 */
import { Type, type Static } from 'typebox'
import { OrderType, Trackcode } from './common.js'

/** Request body of `POST /v1/orders/delete`. */
export const OrderDeleteRequest = Type.Object({
  trackcode: Trackcode,
  type: Type.Optional(OrderType)
}, {
  additionalProperties: false,
  description: 'The order to delete; `type` is auto-detected when omitted.',
  examples: [{ trackcode: 'D391FC08747E7B04', type: 'exchange' }]
})
export type OrderDeleteRequest = Static<typeof OrderDeleteRequest>

/** Success answer of `POST /v1/orders/delete`. */
export const OrderDeleteResponse = Type.Object({
  ok: Type.Literal(true),
  trackcode: Trackcode,
  type: OrderType,
  deleted: Type.Literal(true)
}, {
  description: 'The order is deleted.',
  examples: [{ ok: true, trackcode: 'D391FC08747E7B04', type: 'exchange', deleted: true }]
})
export type OrderDeleteResponse = Static<typeof OrderDeleteResponse>
