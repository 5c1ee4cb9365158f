/**
 * `GET /admin/allocator`: the poll allocator explained — its state (budget,
 * reservations, pace, refresh phase, learned lags, checks by reason) and, per tracked
 * order, why and when it is next checked (`src/tracking/allocator/explain.ts`). For
 * operators: gateway tokens only (the access policy, `src/access/policy.ts`); hidden
 * from the OpenAPI document like `/metrics`.
 */
import type { FastifyInstance } from 'fastify'
import type { AllocatorReport } from '../../tracking/allocator/explain.js'

export default async function allocatorRoute (app: FastifyInstance): Promise<void> {
  app.get('/admin/allocator', { schema: { hide: true } }, async (_request, reply) => {
    const report: AllocatorReport = { ok: true, allocator: app.allocator.state(), orders: app.allocator.explain() }
    return await reply.header('cache-control', 'no-store').send(report)
  })
}
