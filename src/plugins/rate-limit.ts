/**
 * Per-client-IP rate limits (`@fastify/rate-limit`), answered in the envelope:
 * `429 {"ok":false,"code":"TOO_MANY_REQUESTS",…}` with `Retry-After`.
 *
 * - General limit: `RATE_LIMIT_MAX` requests per `RATE_LIMIT_WINDOW_MS` on every route,
 *   except the exempt ones below.
 * - Write limit, on top of it: `RATE_LIMIT_CREATE_MAX` per `RATE_LIMIT_CREATE_WINDOW_MS`,
 *   one budget shared by order creation and deletion ({@link WRITE_ROUTES}): each spends
 *   the quota reserve and ties up an upstream deposit address.
 * - Exempt: the probes (`/healthz`, `/readyz`, `/metrics`: load balancers and Prometheus
 *   poll them from a few addresses) and the event streams (`…/subscribe`: a browser
 *   reconnects after every network blip; streams have their own per-IP cap,
 *   `SSE_MAX_CONNECTIONS_PER_IP`). A route may also opt out itself with
 *   `config: { rateLimit: false }`.
 *
 * The key is `request.ip` (IPv6 grouped by /64), which is the real client behind a
 * load balancer only when `TRUST_PROXY` is set. Limits are per process; several
 * instances each count on their own.
 */
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { networkOf } from '../access/caller.js'
import { GatewayError } from '../errors.js'

export interface RateLimitPluginOptions {
  /** General limit per IP and window; 0 disables it. */
  max: number
  windowMs: number
  /** Order creations/deletions per IP and window; 0 disables it. */
  createMax: number
  createWindowMs: number
}

/** `METHOD url` of the routes that write orders upstream. */
export const WRITE_ROUTES: ReadonlySet<string> = new Set([
  'POST /v1/mixer/orders',
  'POST /v1/exchange/orders',
  'POST /v1/orders/delete'
])

/** Routes outside the general limit. */
export function isExempt (method: string, url: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false
  return url === '/healthz' || url === '/readyz' || url === '/metrics' || url.endsWith('/subscribe')
}

/** One counter per client network: an IPv4 address, an IPv6 /64. */
function clientKey (request: FastifyRequest): string {
  return networkOf(request.ip)
}

function methods (route: RouteOptions): string[] {
  return Array.isArray(route.method) ? route.method : [route.method]
}

function tooMany (seconds: number, what: string): GatewayError {
  return new GatewayError(429, 'TOO_MANY_REQUESTS', `Too many ${what} from your address; retry in ${seconds} s`, {
    headers: { 'retry-after': String(seconds) }
  })
}

async function rateLimits (app: FastifyInstance, opts: RateLimitPluginOptions): Promise<void> {
  let writeLimiter: ((request: FastifyRequest) => Promise<{ isAllowed: true } | { isAllowed: false, isExceeded: boolean, ttlInSeconds: number }>) | undefined

  async function limitWrites (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (writeLimiter === undefined) return
    const result = await writeLimiter(request)
    if (result.isAllowed || !result.isExceeded) return
    const seconds = Math.max(1, result.ttlInSeconds)
    reply.header('retry-after', String(seconds))
    throw tooMany(seconds, 'order creations and deletions')
  }

  // Runs before @fastify/rate-limit's own onRoute hook (registered below), so the
  // exemptions are in place when it decides which routes to limit.
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path
    const routeMethods = methods(route)
    if (route.config?.rateLimit === undefined && routeMethods.every((m) => isExempt(m, url))) {
      route.config = { ...route.config, rateLimit: false }
    }
    if (opts.createMax > 0 && routeMethods.some((m) => WRITE_ROUTES.has(`${m} ${url}`))) {
      // A preHandler, not an onRequest hook: the idempotency plugin (registered later)
      // puts its own preHandler first, so an `Idempotency-Key` replay, 409 or 422 is
      // answered before this runs and does not use the client's order-writing budget.
      // A new request refused here releases its key (429s are never stored).
      const own = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]
      route.preHandler = [...own, limitWrites]
    }
  })

  if (opts.max === 0 && opts.createMax === 0) return
  await app.register(rateLimit, {
    global: opts.max > 0,
    max: opts.max,
    timeWindow: opts.windowMs,
    keyGenerator: clientKey,
    errorResponseBuilder: (_request, context) => tooMany(Math.max(1, Math.ceil(context.ttl / 1000)), 'requests')
  })
  if (opts.createMax > 0) writeLimiter = app.createRateLimit({ max: opts.createMax, timeWindow: opts.createWindowMs, keyGenerator: clientKey })
}

export default fp(rateLimits, { name: 'rate-limits' })
