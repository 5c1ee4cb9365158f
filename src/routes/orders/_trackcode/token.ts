/**
 * `POST /orders/:trackcode/token` (gateway tokens only): the order token of an order
 * created elsewhere (directly on SecretCryptos, or before the gateway issued tokens),
 * so the merchant's backend can hand its customer the capability to delete that order
 * or see its unmasked addresses. No upstream call: the token is derived from the
 * trackcode (`src/access/order-token.ts`), whether or not such an order exists.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { errorResponses } from '../../../upstream/schemas/common.js'
import { schemaErrorFormatter } from '../../../lib/schema-errors.js'
import { Trackcode, TrackcodeParams } from '../../../tracking/schemas.js'

/** The answer. */
export const OrderTokenResponse = Type.Object({
  ok: Type.Literal(true),
  trackcode: Trackcode,
  order_token: Type.String({
    pattern: '^[A-Za-z0-9_-]{43}$',
    description: 'The order token: send it as the `Trackgate-Order-Token` header to delete this order or check it with `mask_addresses: false`.',
    examples: ['x3u8Lq0mK2n9vQe7bT1cZ5wY4rA6sD8fG0hJ2kL4nPQ']
  })
}, {
  description: 'The order token of one order.',
  examples: [{ ok: true, trackcode: '6A5FB3BA8A150EC9', order_token: 'x3u8Lq0mK2n9vQe7bT1cZ5wY4rA6sD8fG0hJ2kL4nPQ' }]
})
type OrderTokenResponse = Static<typeof OrderTokenResponse>

const schema = {
  operationId: 'mintOrderToken',
  summary: 'Get the order token of an order',
  description: 'The order token of the order `trackcode`, for an order the gateway did not create (orders created through the gateway come with theirs, in the `Trackgate-Order-Token` header). Needs a gateway token. Makes no upstream call and does not check that the order exists.',
  tags: ['Access'],
  params: TrackcodeParams,
  response: { 200: OrderTokenResponse, ...errorResponses([400, 429]) }
}

const orderTokenRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/orders/:trackcode/token', { schema, schemaErrorFormatter: schemaErrorFormatter(schema) }, async (request): Promise<OrderTokenResponse> => {
    const { trackcode } = request.params
    return { ok: true, trackcode, order_token: app.orderTokens.mint(trackcode) }
  })
}

export default orderTokenRoute
