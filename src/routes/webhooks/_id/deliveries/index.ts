/** `GET /webhooks/:id/deliveries`: the endpoint's deliveries, newest first. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { schemaErrorFormatter } from '../../../../lib/schema-errors.js'
import { errorResponses } from '../../../../upstream/schemas/common.js'
import { TAGS } from '../../tags.js'
import { DeliveriesQuery, DeliveryList, deliveryView, EndpointParams } from '../../schemas.js'
import { notFound } from '../index.js'

const schema = {
  operationId: 'listWebhookDeliveries',
  summary: 'List a webhook endpoint\'s deliveries',
  description: 'Past and pending deliveries, newest first: state, attempts, the last status or error. Needs a gateway token.',
  tags: TAGS,
  params: EndpointParams,
  querystring: DeliveriesQuery,
  response: { 200: DeliveryList, ...errorResponses([400, 401, 403, 404, 429]) }
}

const deliveriesRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/webhooks/:id/deliveries', { schema, schemaErrorFormatter: schemaErrorFormatter(schema) }, async (request) => {
    const store = app.state.webhooks
    if (await store.getEndpoint(request.params.id) === undefined) throw notFound()
    const limit = Math.min(500, Math.max(1, Number(request.query.limit ?? 50)))
    return { deliveries: (await store.listDeliveries(request.params.id, limit)).map(deliveryView) }
  })
}

export default deliveriesRoute
