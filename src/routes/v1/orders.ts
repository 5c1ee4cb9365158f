/**
 * `POST /v1/orders/check` and `POST /v1/orders/delete`, forwarded unchanged.
 *
 * A check only reads, so it is retried on network errors and 5xx; a delete is never
 * retried (a repeated delete of a deleted order reads NOT_FOUND) and, like a create, may
 * use the quota's reserve.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BODY_ERRORS, errorResponses, UPSTREAM_ERRORS } from '../../upstream/schemas/common.js'
import { OrderCheckRequest, OrderCheckResponse } from '../../upstream/schemas/order-check.js'
import { OrderDeleteRequest, OrderDeleteResponse } from '../../upstream/schemas/order-delete.js'
import { forward } from './forward.js'

const ORDER_ERRORS = [...BODY_ERRORS, ...UPSTREAM_ERRORS, 404] as const

const orderRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/orders/check', {
    schema: {
      operationId: 'checkOrder',
      summary: 'Check an order',
      description: 'The deposit and outputs of an order, as upstream reports them (refreshed upstream about once a minute). `outputs`: `none`, `summary` (default) or `full`; addresses are masked unless `mask_addresses: false`. For live updates without spending quota per client, subscribe to `GET /orders/{trackcode}/subscribe` instead. Retried on network errors and 5xx; forwarded unchanged.',
      tags: ['Orders'],
      body: OrderCheckRequest,
      response: { 200: OrderCheckResponse, ...errorResponses(ORDER_ERRORS) }
    }
  }, async (request, reply) => {
    const result = await app.upstream.request({ method: 'POST', path: '/orders/check', body: request.body, auth: true, purpose: 'rest', retry: true })
    return forward(reply, result)
  })

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
    const result = await app.upstream.request({ method: 'POST', path: '/orders/delete', body: request.body, auth: true, purpose: 'create', retry: false })
    return forward(reply, result)
  })
}

export default orderRoutes
