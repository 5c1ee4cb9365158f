/**
 * `GET /readyz` — readiness (hidden from the OpenAPI spec, outside the rate limit):
 * 200 while the instance should get traffic; 503 in the envelope only while it shuts
 * down. Upstream unreachable (see src/upstream/reachability.ts) and the quota spent (no
 * call left, or an upstream TOO_MANY_REQUESTS pause) are reported in the body
 * (`checks.upstream.ok`, `checks.quota.ok` false) and in the metrics, but never fail
 * readiness: they hit every instance at once, and an instance out of rotation could no
 * longer serve cached answers, stored snapshots or its open streams. With `REDIS_URL`,
 * `checks.redis` shows whether the shared stores are in use (`up`) or the in-process
 * fallbacks (`down`); informational too.
 */
import type { FastifyInstance } from 'fastify'

export default async function readyzRoute (app: FastifyInstance): Promise<void> {
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const shuttingDown = app.lifecycle.shuttingDown
    const [upstream, quota] = await Promise.all([app.upstreamReachable(), app.state.quota.state()])
    const quotaExhausted = quota.remaining === 0 || quota.pausedUntil > 0
    // With REDIS_URL: every instance loses Redis at once and each keeps serving from its
    // in-process fallbacks (src/state/redis/link.ts).
    const redis = app.hasDecorator('redis') ? app.redis.health() : undefined
    const checks = {
      shutting_down: shuttingDown,
      upstream: { ok: upstream.ok, ...(upstream.reason === undefined ? {} : { reason: upstream.reason }), checked_at: Math.floor(upstream.checkedAt / 1000) },
      quota: {
        ok: !quotaExhausted,
        ...(quotaExhausted ? { reason: quota.pausedUntil > 0 ? 'paused after upstream TOO_MANY_REQUESTS' : 'exhausted' } : {}),
        limit: quota.limit,
        used: quota.used,
        remaining: quota.remaining,
        remaining_general: quota.remainingGeneral,
        paused_until: quota.pausedUntil === 0 ? null : Math.ceil(quota.pausedUntil / 1000)
      },
      ...(redis === undefined ? {} : { redis: { ok: redis.state === 'up', state: redis.state, since: Math.floor(redis.since / 1000), outages: redis.outages } })
    }
    reply.header('cache-control', 'no-store')
    if (!shuttingDown) return { ok: true, status: 'ready', checks }
    return reply.code(503).send({ ok: false, code: 'SERVICE_UNAVAILABLE', message: 'Not ready: shutting down', checks })
  })
}
