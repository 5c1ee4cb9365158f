/** `GET`, `PATCH` and `DELETE /webhooks/:id`: one endpoint. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { GatewayError } from '../../../errors.js'
import { schemaErrorFormatter } from '../../../lib/schema-errors.js'
import { errorResponses } from '../../../upstream/schemas/common.js'
import type { EndpointPatch } from '../../../state/webhooks/index.js'
import { TAGS } from '../tags.js'
import { checkUrl } from '../index.js'
import { Endpoint, EndpointParams, endpointView, PatchEndpointBody } from '../schemas.js'

export function notFound (): GatewayError {
  return new GatewayError(404, 'NOT_FOUND', 'No such webhook endpoint')
}

const getSchema = {
  operationId: 'getWebhook',
  summary: 'Show a webhook endpoint',
  description: 'The endpoint (never its secret). Needs a gateway token.',
  tags: TAGS,
  params: EndpointParams,
  response: { 200: Endpoint, ...errorResponses([400, 401, 403, 404, 429]) }
}

const patchSchema = {
  operationId: 'updateWebhook',
  summary: 'Change a webhook endpoint',
  description: 'Changes its URL (checked again), its events, or disables / enables it; enabling resumes its pending deliveries at once and resets its failure count. Needs a gateway token.',
  tags: TAGS,
  params: EndpointParams,
  body: PatchEndpointBody,
  response: { 200: Endpoint, ...errorResponses([400, 401, 403, 404, 413, 415, 429]) }
}

const deleteSchema = {
  operationId: 'deleteWebhook',
  summary: 'Delete a webhook endpoint',
  description: 'Deletes the endpoint and its deliveries (pending ones are not sent). Needs a gateway token.',
  tags: TAGS,
  params: EndpointParams,
  response: { 200: { ...Endpoint, description: 'The endpoint as it was, now deleted.' }, ...errorResponses([400, 401, 403, 404, 429]) }
}

const endpointRoute: FastifyPluginAsyncTypebox = async (app) => {
  const store = app.state.webhooks
  app.get('/webhooks/:id', { schema: getSchema, schemaErrorFormatter: schemaErrorFormatter(getSchema) }, async (request) => {
    const endpoint = await store.getEndpoint(request.params.id)
    if (endpoint === undefined) throw notFound()
    return endpointView(endpoint)
  })

  app.patch('/webhooks/:id', { schema: patchSchema, schemaErrorFormatter: schemaErrorFormatter(patchSchema) }, async (request) => {
    const { url, events, enabled } = request.body
    if (url !== undefined) await checkUrl(app, url)
    const patch: EndpointPatch = {
      ...(url === undefined ? {} : { url }),
      ...(events === undefined ? {} : { events }),
      ...(enabled === undefined ? {} : { enabled })
    }
    const updated = await store.updateEndpoint(request.params.id, patch, Date.now())
    if (updated === undefined) throw notFound()
    if (enabled === true) app.webhooks.worker.kick()
    return endpointView(updated)
  })

  app.delete('/webhooks/:id', { schema: deleteSchema, schemaErrorFormatter: schemaErrorFormatter(deleteSchema) }, async (request, reply) => {
    const endpoint = await store.getEndpoint(request.params.id)
    if (endpoint === undefined || !await store.deleteEndpoint(endpoint.id)) throw notFound()
    return await reply.send(endpointView(endpoint))
  })
}

export default endpointRoute
