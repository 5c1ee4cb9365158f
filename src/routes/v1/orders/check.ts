/**
 * `POST /v1/orders/check`, forwarded unchanged, charged to the caller's allowance. A
 * check only reads, so it is retried when an attempt provably never reached upstream.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../../../upstream/schemas/common.js'
import { OrderCheckRequest, OrderCheckResponse } from '../../../upstream/schemas/order-check.js'
import { forward } from '../../../upstream/forward.js'
import { payerOf } from '../../../access/payer.js'
import { ORDER_ERRORS } from './errors.js'

const checkRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/orders/check', {
    schema: {
      operationId: 'checkOrder',
      summary: 'Check an order',
      description: 'The deposit and outputs of an order, as upstream reports them (refreshed upstream about once a minute). `outputs`: `none`, `summary` (default) or `full`; addresses are masked unless `mask_addresses: false`. For live updates without spending quota per client, subscribe to `GET /orders/{trackcode}/subscribe` instead. Costs one call of the caller\'s daily allowance. Retried only when the request provably never reached upstream; forwarded unchanged.',
      tags: ['Orders'],
      body: OrderCheckRequest,
      response: { 200: OrderCheckResponse, ...errorResponses(ORDER_ERRORS) }
    }
  }, async (request, reply) => {
    const result = await app.upstream.request({ method: 'POST', path: '/orders/check', body: request.body, auth: true, purpose: 'rest', retry: true, payer: payerOf(request.caller, app.config) })
    return forward(reply, result)
  })
}

export default checkRoute
