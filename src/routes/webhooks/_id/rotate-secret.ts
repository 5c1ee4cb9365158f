/**
 * `POST /webhooks/:id/rotate-secret`: a new signing secret, shown once. The previous
 * one keeps signing too for {@link ROTATION_OVERLAP_MS} (each request then carries two
 * `v1,` signatures), so receivers can switch without losing a delivery.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { schemaErrorFormatter } from '../../../lib/schema-errors.js'
import { errorResponses } from '../../../upstream/schemas/common.js'
import { newSecret } from '../../../webhooks/signature.js'
import { TAGS } from '../tags.js'
import { EmptyBody, EndpointParams, EndpointWithSecret, endpointView } from '../schemas.js'
import { notFound } from './index.js'

/** How long the previous secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000

const schema = {
  operationId: 'rotateWebhookSecret',
  summary: 'Rotate a webhook endpoint\'s secret',
  description: 'A new signing secret, shown this once. For 24 h the previous secret signs too (two signatures in `webhook-signature`), then only the new one. Needs a gateway token.',
  tags: TAGS,
  params: EndpointParams,
  body: EmptyBody,
  response: { 200: EndpointWithSecret, ...errorResponses([400, 401, 403, 404, 413, 415, 429]) }
}

const rotateRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/webhooks/:id/rotate-secret', { schema, schemaErrorFormatter: schemaErrorFormatter(schema) }, async (request) => {
    const store = app.state.webhooks
    const current = await store.getEndpoint(request.params.id)
    if (current === undefined) throw notFound()
    const now = Date.now()
    const secret = newSecret()
    const updated = await store.updateEndpoint(current.id, { secret, previousSecret: current.secret, previousSecretUntil: now + ROTATION_OVERLAP_MS }, now)
    if (updated === undefined) throw notFound()
    return { ...endpointView(updated), secret }
  })
}

export default rotateRoute
