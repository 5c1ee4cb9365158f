/**
 * The response headers the gateway sends, as the OpenAPI document declares them, and
 * the one rule that puts the cross-cutting ones on every operation that sends them
 * ({@link documentRoute}, run for each route by `src/plugins/openapi.ts`):
 *
 * - every rate-limited route (all but the probes and the event streams, see
 *   `src/plugins/rate-limit.ts`) documents a 429 and the `x-ratelimit-*` headers
 *   `@fastify/rate-limit` adds to each of its answers;
 * - every 409 (a running `Idempotency-Key`), 429 and 503 declares `Retry-After`;
 * - a route that honours `Idempotency-Key` declares `Idempotent-Replayed` on the
 *   answers a replay can repeat.
 *
 * Headers only one route sends (`Cache-Control`/`Age` of cached answers, `X-Poll-After`,
 * `ETag`, `Trackgate-Order-Token`) are declared by that route with the constants below.
 * A declared header is a response schema's `headers` entry: `@fastify/swagger` turns
 * it into the response's `headers`, with the description beside the schema.
 */
import type { RouteOptions } from 'fastify'
import { isExempt } from '../plugins/rate-limit.js'
import { methodsOf } from '../plugins/route-options.js'
import { errorResponses } from '../upstream/schemas/common.js'

/** A response header: its schema and what it says. */
export interface HeaderDoc {
  type: 'string' | 'integer'
  description: string
  enum?: readonly string[]
  pattern?: string
}

type Headers = Record<string, HeaderDoc>

/** On 409 and 429 (and on a 503 when upstream sent one): how long to wait. */
export const RETRY_AFTER: Headers = {
  'retry-after': { type: 'integer', description: 'Seconds to wait before trying again.' }
}

/** What `@fastify/rate-limit` adds to every answer of a rate-limited route. */
export const RATE_LIMIT_HEADERS: Headers = {
  'x-ratelimit-limit': { type: 'integer', description: 'Requests allowed per client address and window (`RATE_LIMIT_MAX` per `RATE_LIMIT_WINDOW_MS`). Absent when the limit is off (`RATE_LIMIT_MAX=0`).' },
  'x-ratelimit-remaining': { type: 'integer', description: 'Requests left to this client address in the current window.' },
  'x-ratelimit-reset': { type: 'integer', description: 'Seconds until the current window ends and the count starts again.' }
}

/** On replays of a stored answer (`Idempotency-Key`). */
export const IDEMPOTENT_REPLAYED: Headers = {
  'idempotent-replayed': { type: 'string', enum: ['true'], description: '`true` when this answer is the stored answer to an earlier request with the same `Idempotency-Key`, replayed byte for byte; absent on a first answer.' }
}

/** On answers of the short-TTL cache (`/v1/meta*`, `/v1/prices`). */
export const CACHE_HEADERS: Headers = {
  'cache-control': { type: 'string', description: '`public, max-age=<seconds>`: the cache TTL in seconds, how long browsers and proxies may keep this answer (upstream\'s errors forwarded by these routes carry `no-store`).' },
  age: { type: 'integer', description: 'Seconds since the gateway fetched this answer from upstream (successful answers of this instance\'s cache).' }
}

/** On a successful create through the gateway: the order's capability. */
export const ORDER_TOKEN: Headers = {
  'trackgate-order-token': { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$', description: 'The order token of the new order (43 base64url characters): send it back in `Trackgate-Order-Token` to act as the order\'s owner (unmasked check, delete). Shown once; the body is upstream\'s, unchanged.' }
}

/** On `GET /orders/{trackcode}` (200 and 304). */
export const POLL_HEADERS: Headers = {
  'x-poll-after': { type: 'integer', description: 'Seconds to wait before polling again: asking earlier cannot show anything new.' },
  'cache-control': { type: 'string', description: '`private, max-age=<seconds>`, the same number of seconds as `X-Poll-After`.' },
  etag: { type: 'string', description: 'The snapshot\'s version, quoted (e.g. `"3"`); send it back in `If-None-Match` for a 304 while nothing changed.' }
}

type ResponseSchemas = Record<string, Record<string, unknown>>

function withHeaders (response: Record<string, unknown>, headers: Headers): Record<string, unknown> {
  const own = response.headers as Headers | undefined
  return { ...response, headers: { ...own, ...headers } }
}

/** True when `@fastify/rate-limit` counts the route's requests (whatever the configured limit). */
function isRateLimited (route: RouteOptions): boolean {
  if (route.config?.rateLimit === false) return false
  return !methodsOf(route).every((m) => isExempt(m, route.url))
}

/** Statuses of a replayed answer: anything upstream answered, not the key's own refusals. */
function replayable (status: string): boolean {
  return status !== '409' && status !== '422'
}

/**
 * The route with its documented responses completed by the rules above; a route
 * without response schemas (and so absent from the document's answers) is left alone.
 */
export function documentRoute (route: RouteOptions): void {
  const schema = route.schema
  const given = schema?.response as ResponseSchemas | undefined
  if (schema === undefined || given === undefined) return
  const limited = isRateLimited(route)
  const idempotent = route.config?.idempotency === true
  const responses: ResponseSchemas = limited && given['429'] === undefined
    ? { ...given, ...(errorResponses([429]) as ResponseSchemas) }
    : { ...given }
  for (const [status, response] of Object.entries(responses)) {
    let out = response
    if (limited) out = withHeaders(out, RATE_LIMIT_HEADERS)
    if (status === '409' || status === '429' || status === '503') out = withHeaders(out, RETRY_AFTER)
    if (idempotent && replayable(status)) out = withHeaders(out, IDEMPOTENT_REPLAYED)
    responses[status] = out
  }
  route.schema = { ...schema, response: responses }
}
