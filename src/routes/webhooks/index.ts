/** `POST /webhooks` (register an endpoint; its secret shown once) and `GET /webhooks` (list them). */
import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { GatewayError } from '../../errors.js'
import { schemaErrorFormatter } from '../../lib/schema-errors.js'
import { errorResponses } from '../../upstream/schemas/common.js'
import { newSecret } from '../../webhooks/signature.js'
import { checkWebhookUrl, WebhookUrlError } from '../../webhooks/ssrf.js'
import type { FastifyInstance } from 'fastify'
import { TAGS } from './tags.js'
import { CreateEndpointBody, EndpointList, EndpointWithSecret, endpointView } from './schemas.js'

/** Checks a URL for registration: 400 naming the reason when refused. */
export async function checkUrl (app: FastifyInstance, url: string): Promise<void> {
  try {
    await checkWebhookUrl(url, app.webhooks.allow, app.webhooks.resolve)
  } catch (err) {
    if (err instanceof WebhookUrlError) throw new GatewayError(400, 'BAD_REQUEST', `url: ${err.message}`)
    throw err
  }
}

const createSchema = {
  operationId: 'createWebhook',
  summary: 'Register a webhook endpoint',
  description: 'Registers an endpoint that receives the chosen events of every order the gateway tracks, signed by the Standard Webhooks specification (docs/webhooks.md). The answer carries the signing secret: it is shown this once. Needs a gateway token.',
  tags: TAGS,
  body: CreateEndpointBody,
  response: { 201: EndpointWithSecret, ...errorResponses([400, 401, 403, 413, 415, 429]) }
}

const listSchema = {
  operationId: 'listWebhooks',
  summary: 'List webhook endpoints',
  description: 'Every registered endpoint (never their secrets). Needs a gateway token.',
  tags: TAGS,
  response: { 200: EndpointList, ...errorResponses([401, 403, 429]) }
}

const webhooksRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/webhooks', { schema: createSchema, schemaErrorFormatter: schemaErrorFormatter(createSchema) }, async (request, reply) => {
    await checkUrl(app, request.body.url)
    const now = Date.now()
    const endpoint = {
      id: `ep_${randomBytes(12).toString('base64url')}`,
      url: request.body.url,
      events: request.body.events,
      enabled: true,
      disabledReason: null,
      failures: 0,
      failingSince: null,
      secret: newSecret(),
      previousSecret: null,
      previousSecretUntil: null,
      createdAt: now,
      updatedAt: now
    }
    await app.state.webhooks.createEndpoint(endpoint)
    return await reply.code(201).send({ ...endpointView(endpoint), secret: endpoint.secret })
  })

  app.get('/webhooks', { schema: listSchema }, async () => {
    return { endpoints: (await app.state.webhooks.listEndpoints()).map(endpointView) }
  })
}

export default webhooksRoute
