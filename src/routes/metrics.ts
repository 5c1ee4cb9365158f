/** `GET /metrics` — Prometheus text format (see src/plugins/metrics.ts); hidden from the OpenAPI spec, outside the rate limit. */
import type { FastifyInstance } from 'fastify'

export default async function metricsRoute (app: FastifyInstance): Promise<void> {
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await app.metrics.metrics()
    return reply.header('cache-control', 'no-store').type(app.metrics.contentType).send(text)
  })
}
