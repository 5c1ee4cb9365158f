/**
 * `GET /v1/ping`: upstream's liveness, forwarded (no auth upstream, so no quota spent).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, NO_AUTH_UPSTREAM_ERRORS } from '../../upstream/schemas/common.js'
import { PingResponse } from '../../upstream/schemas/ping.js'
import { forward } from '../../upstream/forward.js'

const pingRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/ping', {
    schema: {
      operationId: 'ping',
      summary: 'Ping SecretCryptos',
      description: 'Asks upstream whether it is up and forwards its answer unchanged. Upstream needs no key for it, so it costs no quota. Retried on network errors and 5xx.',
      tags: ['Status'],
      response: { 200: PingResponse, ...errorResponses(NO_AUTH_UPSTREAM_ERRORS) }
    }
  }, async (_request, reply) => {
    const result = await app.upstream.request({ method: 'GET', path: '/ping', auth: false, purpose: 'rest', retry: true })
    return forward(reply, result)
  })
}

export default pingRoute
