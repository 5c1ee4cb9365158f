/**
 * Operational endpoints (hidden from the OpenAPI spec, outside the rate limit):
 * - `GET /healthz` — liveness: 200 while the process serves requests.
 * - `GET /readyz` — readiness: 200 when the instance should get traffic, else 503 in
 *   the envelope with the failing checks: not shutting down; upstream reachable (an
 *   unauthenticated `GET /v1/ping`, which costs no quota, cached a few seconds so
 *   frequent probes never reach upstream more than once per interval); quota not
 *   exhausted (some calls left and no upstream TOO_MANY_REQUESTS pause). With
 *   `REDIS_URL`, `checks.redis` shows whether the shared stores are in use (`up`) or
 *   the in-process fallbacks (`down`); informational, it never fails readiness.
 * - `GET /metrics` — Prometheus text format (see src/plugins/metrics.ts).
 */
import type { FastifyInstance } from 'fastify'
import { GatewayError } from '../errors.js'

/** How long one upstream reachability result is reused. */
export const PING_CACHE_MS = 5000
/** Longest wait for upstream's ping. */
export const PING_TIMEOUT_MS = 2000

interface UpstreamCheck {
  ok: boolean
  /** Why not, when not. */
  reason?: string
  checkedAt: number
}

export default async function healthRoutes (app: FastifyInstance): Promise<void> {
  let last: UpstreamCheck | undefined
  let pending: Promise<UpstreamCheck> | undefined

  const pingUpstream = async (): Promise<UpstreamCheck> => {
    try {
      const res = await app.upstream.request({
        method: 'GET',
        path: '/ping',
        auth: false,
        purpose: 'rest',
        retry: false,
        signal: AbortSignal.timeout(Math.min(PING_TIMEOUT_MS, app.config.upstreamTimeoutMs))
      })
      if (res.statusCode === 200 && res.body.ok === true) return { ok: true, checkedAt: Date.now() }
      return { ok: false, reason: `ping answered HTTP ${res.statusCode}`, checkedAt: Date.now() }
    } catch (err) {
      return { ok: false, reason: err instanceof GatewayError ? err.code : 'UPSTREAM_UNAVAILABLE', checkedAt: Date.now() }
    }
  }

  const upstreamCheck = async (): Promise<UpstreamCheck> => {
    if (last !== undefined && Date.now() - last.checkedAt < PING_CACHE_MS) return last
    pending ??= pingUpstream().then((result) => {
      last = result
      return result
    }).finally(() => { pending = undefined })
    return await pending
  }

  app.get('/healthz', { schema: { hide: true } }, async () => {
    return { ok: true, status: 'alive' }
  })

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const shuttingDown = app.lifecycle.shuttingDown
    const [upstream, quota] = await Promise.all([upstreamCheck(), app.state.quota.state()])
    const quotaExhausted = quota.remaining === 0 || quota.pausedUntil > 0
    // With REDIS_URL: shown, but Redis down never fails readiness — every instance loses it
    // at once and each keeps serving from its in-process fallbacks (src/redis/connection.ts).
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

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await app.metrics.metrics()
    return reply.header('cache-control', 'no-store').type(app.metrics.contentType).send(text)
  })
}
