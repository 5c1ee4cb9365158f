/**
 * THE route policy: who may call which route, in one table, and the check applying it.
 *
 * Every route of the app is classified (`src/plugins/access.ts` refuses to start with
 * a route the table does not cover):
 * - `public`: anyone, anonymous included (what it costs upstream is charged to the
 *   caller's daily allowance);
 * - `token`: a gateway token (`Authorization: Bearer tg_…`);
 * - `owner`: a gateway token, or the order token (`Trackgate-Order-Token`) of the
 *   trackcode the request names (in its body or its path).
 *
 * Beyond the table, `POST /v1/orders/check` with `mask_addresses: false` needs an owner
 * (the unmasked payout addresses are the order owner's secret); masked, it is public.
 * A token's own `routes` list restricts it further. The answers: 401 `UNAUTHORIZED`
 * when credentials are required and none were given, 403 `FORBIDDEN` when the ones
 * given do not suffice. docs/access.md shows the same table.
 */
import type { Caller } from './caller.js'

/** Who may call a route. */
export type Access = 'public' | 'token' | 'owner'

/**
 * The policy, keyed by `METHOD /url` as Fastify names the route (`routeOptions.url`);
 * a key ending in `*` covers every URL starting with what precedes it. `HEAD` follows
 * `GET`.
 */
export const ROUTE_POLICY: Readonly<Record<string, Access>> = {
  'GET /v1/ping': 'public',
  'GET /v1/meta': 'public',
  'GET /v1/meta/mixer': 'public',
  'GET /v1/meta/exchange': 'public',
  'GET /v1/prices': 'public',
  'POST /v1/mixer/orders': 'public',
  'POST /v1/exchange/orders': 'public',
  'POST /v1/orders/check': 'public',
  'POST /v1/orders/delete': 'owner',
  'POST /v1/validate': 'token',
  'GET /orders/:trackcode': 'public',
  'GET /orders/:trackcode/subscribe': 'public',
  'POST /orders/:trackcode/token': 'token',
  'PUT /tracked-orders/:trackcode': 'token',
  'DELETE /tracked-orders/:trackcode': 'token',
  'POST /webhooks': 'token',
  'GET /webhooks': 'token',
  'GET /webhooks/:id': 'token',
  'PATCH /webhooks/:id': 'token',
  'DELETE /webhooks/:id': 'token',
  'POST /webhooks/:id/rotate-secret': 'token',
  'GET /webhooks/:id/deliveries': 'token',
  'POST /webhooks/:id/deliveries/:deliveryId/replay': 'token',
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'GET /admin/allocator': 'token',
  'GET /openapi.json': 'public',
  'GET /docs*': 'public',
  'GET /': 'public',
  'GET /web/*': 'public',
  'GET /client/*': 'public',
  'GET /demo/config': 'public',
  'POST /demo/orders/:trackcode/pay': 'public',
  // Registered only by the benchmark's `@fastify/sse` variant of the subscribe route
  // (bench/sse-plugin-route.ts, BENCHMARKS.md): the same access as the route it mirrors.
  'GET /bench/sse-plugin/orders/:trackcode/subscribe': 'public',
  // CORS preflights (`@fastify/cors`, with CORS_ORIGINS) carry no credentials.
  'OPTIONS *': 'public'
}

/** Whether `pattern` (`METHOD /url`, `*` for any method, a trailing `*` for any rest; `*` alone for everything) covers a route. */
export function routeMatches (pattern: string, method: string, url: string): boolean {
  if (pattern === '*') return true
  const space = pattern.indexOf(' ')
  if (space === -1) return false
  const m = pattern.slice(0, space)
  const path = pattern.slice(space + 1).trim()
  const verb = method === 'HEAD' ? 'GET' : method
  if (m !== '*' && m.toUpperCase() !== verb) return false
  return path.endsWith('*') ? url.startsWith(path.slice(0, -1)) : url === path
}

/** The table's access for a route, or `undefined` when no row covers it (exact rows first). */
export function accessOf (method: string, url: string): Access | undefined {
  const verb = method === 'HEAD' ? 'GET' : method
  const exact = ROUTE_POLICY[`${verb} ${url}`]
  if (exact !== undefined) return exact
  for (const [pattern, access] of Object.entries(ROUTE_POLICY)) {
    if (pattern.endsWith('*') && routeMatches(pattern, method, url)) return access
  }
  return undefined
}

/**
 * Routes that need an owner for some bodies only, with the condition: unmasked payout
 * addresses are the order owner's to see.
 */
export const OWNER_WHEN: Readonly<Record<string, { when: string, test: (body: Record<string, unknown>) => boolean }>> = {
  'POST /v1/orders/check': { when: '`mask_addresses: false`', test: (body) => body.mask_addresses === false }
}

/** The access one request needs: the route's, raised to `owner` by {@link OWNER_WHEN}. */
export function requiredAccess (method: string, url: string, body: unknown): Access | undefined {
  const access = accessOf(method, url)
  const rule = OWNER_WHEN[`${method} ${url}`]
  if (access === 'public' && rule !== undefined && isRecord(body) && rule.test(body)) return 'owner'
  return access
}

/** What the check needs to know of a request. */
export interface AccessRequest {
  method: string
  /** The route's URL (`routeOptions.url`). */
  url: string
  caller: Caller
  /** The access the request needs ({@link requiredAccess}). */
  access: Access
  /** The trackcode the request acts on (body or path), if any. */
  trackcode: string | undefined
  /** The `Trackgate-Order-Token` presented, if any. */
  orderToken: string | undefined
}

/** The check's answer: allowed, or the status and message of the refusal. */
export type Verdict = { allowed: true } | { allowed: false, status: 401 | 403, message: string }

const ALLOWED: Verdict = { allowed: true }

/**
 * Applies the policy. `verifyOrderToken` says whether an order token belongs to a
 * trackcode (`OrderTokens.verify`).
 */
export function judge (req: AccessRequest, verifyOrderToken: (trackcode: string, token: string) => boolean): Verdict {
  const { caller, access } = req
  if (caller.kind === 'token') {
    if (!caller.routes.some((pattern) => routeMatches(pattern, req.method, req.url))) {
      return { allowed: false, status: 403, message: `This gateway token may not call ${req.method} ${req.url}` }
    }
    return ALLOWED
  }
  if (access === 'public') return ALLOWED
  if (access === 'token') {
    return { allowed: false, status: 401, message: 'This route needs a gateway token (Authorization: Bearer <token>)' }
  }
  if (req.orderToken === undefined) {
    return { allowed: false, status: 401, message: 'This needs the order\'s order token (Trackgate-Order-Token header) or a gateway token' }
  }
  if (req.trackcode === undefined || !verifyOrderToken(req.trackcode, req.orderToken)) {
    return { allowed: false, status: 403, message: 'The order token presented is not this order\'s' }
  }
  return ALLOWED
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
