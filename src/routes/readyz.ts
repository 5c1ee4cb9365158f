/**
 * `GET /readyz` — readiness (hidden from the OpenAPI spec, outside the rate limit):
 * 200 when the instance should get traffic, else 503 in the envelope with the failing
 * checks: not shutting down; upstream reachable (see src/upstream/reachability.ts);
 * quota not exhausted (some calls left and no upstream TOO_MANY_REQUESTS pause). With
 * `REDIS_URL`, `checks.redis` shows whether the shared stores are in use (`up`) or the
 * in-process fallbacks (`down`); informational, it never fails readiness.
 */
import type { FastifyInstance } from 'fastify'
import { upstreamReachability } from '../upstream/reachability.js'

export default async function readyzRoute (app: FastifyInstance): Promise<void> {
  const upstreamCheck = upstreamReachability(app)

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const shuttingDown = app.lifecycle.shuttingDown
    const [upstream, quota] = await Promise.all([upstreamCheck(), app.state.quota.state()])
    const quotaExhausted = quota.remaining === 0 || quota.pausedUntil > 0
    // With REDIS_URL: shown, but Redis down never fails readiness — every instance loses it
    // at once and each keeps serving from its in-process fallbacks (src/state/redis/link.ts).
    const redis = app.hasDecorator('redis') ? app.redis.health() : undefined
    const failing: string[] = []
    if (shuttingDown) failing.push('shutting down')
    if (!upstream.ok) failing.push(`upstream unreachable (${upstream.reason ?? 'unknown'})`)
    if (quotaExhausted) failing.push(quota.pausedUntil > 0 ? 'upstream quota paused after TOO_MANY_REQUESTS' : 'upstream quota exhausted')
    const checks = {
      shutting_down: shuttingDown,
      upstream: { ok: upstream.ok, ...(upstream.reason === undefined ? {} : { reason: upstream.reason }), checked_at: Math.floor(upstream.checkedAt / 1000) },
      quota: {
        ok: !quotaExhausted,
        limit: quota.limit,
        used: quota.used,
        remaining: quota.remaining,
        remaining_general: quota.remainingGeneral,
        paused_until: quota.pausedUntil === 0 ? null : Math.ceil(quota.pausedUntil / 1000)
      },
      ...(redis === undefined ? {} : { redis: { ok: redis.state === 'up', state: redis.state, since: Math.floor(redis.since / 1000), outages: redis.outages } })
    }
    reply.header('cache-control', 'no-store')
    if (failing.length === 0) return { ok: true, status: 'ready', checks }
    return reply.code(503).send({ ok: false, code: 'SERVICE_UNAVAILABLE', message: `Not ready: ${failing.join('; ')}`, checks })
  })
}
