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
 *
 * The general limit, which every request pays, is counted by a synchronous hook on a
 * fixed-window counter (`rate-limit/fixed-window.ts`) with `@fastify/rate-limit`'s
 * semantics and headers (`X-RateLimit-Limit`, `-Remaining`, `-Reset`, and `Retry-After`
 * on a 429); the plugin's asynchronous hook (a key generator, a store callback and
 * three promises per request) cost about 4 % of the CPU of an answer served from
 * memory. The write limit, on the few order-writing requests, is still the plugin's.
 */
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { networkOf } from '../access/caller.js'
import { GatewayError } from '../errors.js'
import { FixedWindowCounter } from './rate-limit/fixed-window.js'
import { hooksOf, methodsOf } from './route-options.js'
import { remembered } from '../lib/remembered.js'
import { textOfSeconds } from '../lib/text-of-seconds.js'

export interface RateLimitPluginOptions {
  /** General limit per IP and window; 0 disables it. */
  max: number
  windowMs: number
  /** Order creations/deletions per IP and window; 0 disables it. */
  createMax: number
  createWindowMs: number
}

/** Client networks whose general-limit window is held at most (as `@fastify/rate-limit`'s store: 5 000). */
const GENERAL_LIMIT_KEYS = 5000

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

/** `X-RateLimit-Reset` per number of seconds, made once each. */
const secondsText = textOfSeconds(String)

/** The network of a client address (`networkOf`), remembered for the last 10 000 addresses. */
const networkOfAddress = remembered(networkOf, 10_000)

/** One counter per client network: an IPv4 address, an IPv6 /64. */
function clientKey (request: FastifyRequest): string {
  return networkOfAddress(request.ip)
}

function tooMany (seconds: number, what: string): GatewayError {
  return new GatewayError(429, 'TOO_MANY_REQUESTS', `Too many ${what} from your address; retry in ${seconds} s`, {
    headers: { 'retry-after': String(seconds) }
  })
}

async function rateLimits (app: FastifyInstance, opts: RateLimitPluginOptions): Promise<void> {
  // The write limit: `@fastify/rate-limit`, registered only for its `createRateLimit` (no route of its own).
  if (opts.createMax > 0) await app.register(rateLimit, { global: false })
  const writeLimiter = opts.createMax > 0 ? app.createRateLimit({ max: opts.createMax, timeWindow: opts.createWindowMs, keyGenerator: clientKey }) : undefined

  async function limitWrites (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (writeLimiter === undefined) return
    const result = await writeLimiter(request)
    if (result.isAllowed || !result.isExceeded) return
    const seconds = Math.max(1, result.ttlInSeconds)
    reply.header('retry-after', String(seconds))
    throw tooMany(seconds, 'order creations and deletions')
  }

  // The general limit: a hook of every route that is not exempt (unmatched URLs are not routes).
  const general = opts.max > 0 ? new FixedWindowCounter(opts.windowMs, GENERAL_LIMIT_KEYS) : undefined
  const max = String(opts.max)
  function limitGeneral (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
    const { count, ttlMs } = (general as FixedWindowCounter).hit(clientKey(request))
    const reset = secondsText(Math.ceil(ttlMs / 1000))
    reply.header('x-ratelimit-limit', max)
    if (count <= opts.max) {
      reply.header('x-ratelimit-remaining', String(opts.max - count)).header('x-ratelimit-reset', reset)
      done()
      return
    }
    reply.header('x-ratelimit-remaining', '0').header('x-ratelimit-reset', reset)
    done(tooMany(Math.max(1, Math.ceil(ttlMs / 1000)), 'requests'))
  }

  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path
    const routeMethods = methodsOf(route)
    if (route.config?.rateLimit === undefined && routeMethods.every((m) => isExempt(m, url))) {
      route.config = { ...route.config, rateLimit: false }
    }
    if (general !== undefined && route.config?.rateLimit !== false) {
      route.onRequest = [...hooksOf(route.onRequest), limitGeneral]
    }
    if (opts.createMax > 0 && routeMethods.some((m) => WRITE_ROUTES.has(`${m} ${url}`))) {
      // A preHandler, not an onRequest hook: the idempotency plugin (registered later)
      // puts its own preHandler first, so an `Idempotency-Key` replay, 409 or 422 is
      // answered before this runs and does not use the client's order-writing budget.
      // A new request refused here releases its key (429s are never stored).
      route.preHandler = [...hooksOf(route.preHandler), limitWrites]
    }
  })
}

export default fp(rateLimits, { name: 'rate-limits' })
