/**
 * `POST /webhooks/:id/deliveries/:deliveryId/replay`: sends that delivery's event again
 * (same event id, so a receiver that deduplicates ignores it unless it forgot it), as
 * a new delivery queued after the order's pending ones.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { GatewayError } from '../../../../../errors.js'
import { schemaErrorFormatter } from '../../../../../lib/schema-errors.js'
import { errorResponses } from '../../../../../upstream/schemas/common.js'
import { TAGS } from '../../../tags.js'
import { Delivery, DeliveryParams, deliveryView, EmptyBody } from '../../../schemas.js'

const schema = {
  operationId: 'replayWebhookDelivery',
  summary: 'Replay a webhook delivery',
  description: 'Queues the delivery\'s event again for its endpoint (a new delivery, same `webhook-id`). Needs a gateway token.',
  tags: TAGS,
  params: DeliveryParams,
  body: EmptyBody,
  response: { 202: Delivery, ...errorResponses([400, 401, 403, 404, 413, 415, 429]) }
}

const replayRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/webhooks/:id/deliveries/:deliveryId/replay', { schema, schemaErrorFormatter: schemaErrorFormatter(schema) }, async (request, reply) => {
    const store = app.state.webhooks
    const original = await store.getDelivery(request.params.deliveryId)
    if (original === undefined || original.endpointId !== request.params.id) throw new GatewayError(404, 'NOT_FOUND', 'No such delivery for this endpoint')
    const replayed = await store.replay(original.id, Date.now())
    if (replayed === undefined) throw new GatewayError(404, 'NOT_FOUND', 'No such delivery for this endpoint')
    app.webhooks.worker.kick()
    return await reply.code(202).send(deliveryView(replayed))
  })
}

export default replayRoute
