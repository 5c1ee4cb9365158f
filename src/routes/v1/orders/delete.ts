/**
 * `POST /v1/orders/delete`, forwarded unchanged. Never retried (a repeated delete of a
 * deleted order reads NOT_FOUND); uses the quota's `rest` partition (the reserve is for
 * creations) and the caller's allowance. A deleted order is no longer known to the
 * gateway (`app.state.orders`): nothing tracks it in the background any more.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../../../upstream/schemas/common.js'
import { OrderDeleteRequest, OrderDeleteResponse } from '../../../upstream/schemas/order-delete.js'
import { forward } from '../../../upstream/forward.js'
import { payerOf } from '../../../access/payer.js'
import { ORDER_ERRORS } from './errors.js'

const deleteRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/orders/delete', {
    schema: {
      operationId: 'deleteOrder',
      summary: 'Delete an order',
      description: 'Deletes an order. An unknown or already deleted order answers 404 NOT_FOUND. Never retried; forwarded unchanged.',
      tags: ['Orders'],
      body: OrderDeleteRequest,
      response: { 200: OrderDeleteResponse, ...errorResponses(ORDER_ERRORS) }
    }
  }, async (request, reply) => {
    const result = await app.upstream.request({ method: 'POST', path: '/orders/delete', body: request.body, auth: true, purpose: 'rest', retry: false, payer: payerOf(request.caller, app.config) })
    if (result.statusCode >= 200 && result.statusCode < 300) await app.state.orders.forget(request.body.trackcode)
    return forward(reply, result)
  })
}

export default deleteRoute
