/**
 * `GET /demo/config` (hidden from the OpenAPI spec: not part of the API) →
 * `{ ok, demo, poll_interval_ms, poll_waiting_payment_ms }`, where `demo` is true when
 * the gateway runs on its built-in simulator. Read by the demo page.
 */
import type { FastifyInstance } from 'fastify'

export default async function demoConfigRoute (app: FastifyInstance): Promise<void> {
  app.get('/demo/config', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return {
      ok: true,
      demo: app.simulator !== null,
      poll_interval_ms: app.config.pollIntervalMs,
      poll_waiting_payment_ms: app.config.pollWaitingPaymentMs
    }
  })
}
