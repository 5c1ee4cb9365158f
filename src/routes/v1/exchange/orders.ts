/**
 * `POST /v1/exchange/orders`: create an exchange order. Checked against the schema and
 * the rules it cannot say before any upstream call; the pair's USD limits are left to
 * upstream (they move with live prices). Never retried; may use the quota's reserve;
 * settles in the background after a 504 (`create-order.ts`).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdempotencyHeaders, IdempotencyResponses } from '../../../idempotency/header.js'
import { BODY_ERRORS, errorResponses, UPSTREAM_ERRORS } from '../../../upstream/schemas/common.js'
import { ExchangeOrderRequest, ExchangeOrderResponse } from '../../../upstream/schemas/exchange-order.js'
import { checkExchangeOrder } from '../../../upstream/rules/exchange-order.js'
import { CREATE_ERROR_EXAMPLES, CREATE_IDEMPOTENCY_DOC, createOrder } from '../../../upstream/create-order.js'
import { forward } from '../../../upstream/forward.js'
import { withPartner } from '../../../upstream/partner.js'
import { ORDER_TOKEN } from '../../../openapi/response-headers.js'

const exchangeOrderRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/exchange/orders', {
    // Idempotency-Key honoured (src/plugins/idempotency.ts).
    config: { idempotency: true, issuesOrderToken: true },
    schema: {
      operationId: 'createExchangeOrder',
      summary: 'Create an exchange order',
      description: [
        'Creates an order that swaps a deposit of `from_coin`/`from_network` into `to_coin` sent to `to_address` on `to_network`.',
        'The gateway refuses malformed input first (400, no upstream call): amount with at most 8 decimals, `service_fee` with at most 2',
        '(upstream keeps it within 0.50–3.00), the address format of `to_network`, unknown fields. The USD limits of the pair are checked',
        'by upstream, at its live prices. When the gateway has a partner key configured, it is the order\'s `partner`, whatever the body says. A successful creation answers with the header `Trackgate-Order-Token`: the order token that lets its holder delete the order or see its unmasked addresses (keep it with the order). Never retried; forwarded unchanged.',
        CREATE_IDEMPOTENCY_DOC
      ].join(' '),
      tags: ['Exchange'],
      headers: IdempotencyHeaders,
      body: ExchangeOrderRequest,
      response: {
        200: { ...ExchangeOrderResponse, headers: ORDER_TOKEN },
        ...errorResponses([...BODY_ERRORS, ...UPSTREAM_ERRORS], { examples: { ...CREATE_ERROR_EXAMPLES, 400: [{ ok: false, code: 'BAD_REQUEST', message: 'to_address is not a valid doge address' }] } }),
        ...IdempotencyResponses
      }
    }
  }, async (request, reply) => {
    checkExchangeOrder(request.body)
    const result = await createOrder(app, request, { path: '/exchange/orders', body: withPartner(request.body, app.config.partnerKey) })
    return forward(reply, result)
  })
}

export default exchangeOrderRoutes
