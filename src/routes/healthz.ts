/** `GET /healthz` — liveness: 200 while the process serves requests (hidden from the OpenAPI spec, outside the rate limit). */
import type { FastifyInstance } from 'fastify'

export default async function healthzRoute (app: FastifyInstance): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => {
    return { ok: true, status: 'alive' }
  })
}
