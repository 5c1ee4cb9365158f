/**
 * `GET /admin/allocator`: the poll allocator explained — its state (budget,
 * reservations, pace, refresh phase, learned lags, checks by reason) and, per tracked
 * order, why and when it is next checked (`src/tracking/allocator/explain.ts`). For
 * operators: gateway tokens only (no token → 401, see `src/plugins/access.ts`); hidden
 * from the OpenAPI document like `/metrics`.
 */
import type { FastifyInstance } from 'fastify'
import { GatewayError } from '../../errors.js'
import type { AllocatorReport } from '../../tracking/allocator/explain.js'

export default async function allocatorRoute (app: FastifyInstance): Promise<void> {
  app.get('/admin/allocator', { schema: { hide: true } }, async (request, reply) => {
    if (request.caller.kind !== 'token') throw new GatewayError(401, 'UNAUTHORIZED', 'The allocator report needs a gateway token (Authorization: Bearer <token>)')
    const report: AllocatorReport = { ok: true, allocator: app.allocator.state(), orders: app.allocator.explain() }
    return await reply.header('cache-control', 'no-store').send(report)
  })
}
