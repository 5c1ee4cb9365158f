/**
 * Who is calling: decorates every request with `request.caller` (see
 * `src/access/caller.ts`) before anything else runs.
 *
 * `Authorization: Bearer <token>` names a server-side client when the token is one of
 * the operator's (`GATEWAY_TOKENS`, `GATEWAY_TOKENS_FILE`); a token that is present but
 * unknown, revoked or malformed is refused with 401 in the envelope — never quietly
 * treated as anonymous, so a misconfigured backend learns at once. Without the header
 * the caller is anonymous, known by `request.ip` (which honours `TRUST_PROXY` only).
 *
 * Then it applies the route policy (`src/access/policy.ts`) in a `preHandler` — after
 * validation, so the body (`mask_addresses`, `trackcode`) can be read, and before the
 * routes' own `preHandler`s (the `Idempotency-Key` claim, the order-writing rate limit)
 * and the handler: a refusal (401 without the credentials a route needs, 403 with
 * insufficient ones) spends no upstream call. A route the policy table does not cover
 * stops the app at start.
 *
 * It also lays the policy over each route's OpenAPI schema (`security`, the 401/403
 * answers), and gives the creator of an order its order token: a 2xx answer of a route
 * with `config: { issuesOrderToken: true }` (the two creates) carries the header
 * `Trackgate-Order-Token`, replays of a stored answer included; the body is untouched.
 *
 * Decorates `app.tokens` (the registry) and `app.orderTokens` — hence `fastify-plugin`.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Caller } from '../access/caller.js'
import { ORDER_TOKEN_HEADER, OrderTokens } from '../access/order-token.js'
import { accessOf, judge, OWNER_WHEN, requiredAccess } from '../access/policy.js'
import { accessResponses, securityOf } from '../access/security-docs.js'
import { TokenRegistry } from '../access/tokens.js'
import { GatewayError } from '../errors.js'
import { hooksOf, methodsOf } from './route-options.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The operator's gateway tokens. */
    tokens: TokenRegistry
    /** Mints and verifies order tokens. */
    orderTokens: OrderTokens
  }
  interface FastifyContextConfig {
    /** A 2xx answer carries the order token of the `trackcode` in its body (order creation). */
    issuesOrderToken?: boolean
  }
  interface FastifyRequest {
    /** Who is calling (a gateway token's client, or anonymous). */
    caller: Caller
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i
const TRACKCODE = /^[0-9A-F]{16}$/

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The trackcode a request acts on: in its body (`/v1/orders/*`) or its path. */
function trackcodeOf (request: FastifyRequest): string | undefined {
  const fromBody = isRecord(request.body) ? request.body.trackcode : undefined
  if (typeof fromBody === 'string') return fromBody
  const fromPath = isRecord(request.params) ? request.params.trackcode : undefined
  return typeof fromPath === 'string' ? fromPath : undefined
}

/** The trackcode of a created order's answer, if it is one. */
function createdTrackcode (payload: unknown): string | undefined {
  const text = Buffer.isBuffer(payload) ? payload.toString('utf8') : typeof payload === 'string' ? payload : undefined
  if (text === undefined) return undefined
  try {
    const body: unknown = JSON.parse(text)
    const trackcode = isRecord(body) ? body.trackcode : undefined
    return typeof trackcode === 'string' && TRACKCODE.test(trackcode) ? trackcode : undefined
  } catch {
    return undefined
  }
}

/** 401 for a missing or refused credential, with the challenge RFC 6750 asks for. */
export function unauthorized (message: string): GatewayError {
  return new GatewayError(401, 'UNAUTHORIZED', message, { headers: { 'www-authenticate': 'Bearer realm="trackgate"' } })
}

async function access (app: FastifyInstance): Promise<void> {
  const config = app.config
  const tokens = new TokenRegistry({
    entries: config.gatewayTokens,
    file: config.gatewayTokensFile,
    defaultAllowance: config.tokenDailyAllowance,
    log: app.log.child({ module: 'access' })
  })
  app.decorate('tokens', tokens)
  if (config.orderTokenSecret === undefined) {
    app.log.warn('ORDER_TOKEN_SECRET is not set: order tokens use a random secret of this process and stop working when it restarts')
  }
  const orderTokens = new OrderTokens(config.orderTokenSecret)
  app.decorate('orderTokens', orderTokens)
  app.decorateRequest<Caller | null>('caller', null)

  async function issueOrderToken (_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    if (reply.statusCode < 200 || reply.statusCode >= 300) return payload
    const trackcode = createdTrackcode(payload)
    if (trackcode !== undefined) reply.header(ORDER_TOKEN_HEADER, orderTokens.mint(trackcode))
    return payload
  }

  // The methods of each route that anyone may call whatever the body: nothing to judge
  // unless the caller holds a gateway token.
  const openToAll = new Map<string, Set<string>>()
  app.addHook('onRoute', (route) => {
    for (const method of methodsOf(route)) {
      const access = accessOf(method, route.url)
      if (access === undefined) {
        throw new Error(`${method} ${route.url} has no row in the route policy (src/access/policy.ts)`)
      }
      if (access === 'public' && OWNER_WHEN[`${method} ${route.url}`] === undefined) {
        let open = openToAll.get(route.url)
        if (open === undefined) openToAll.set(route.url, open = new Set())
        open.add(method)
      }
    }
    if (route.config?.issuesOrderToken === true) {
      // Only these routes: every other answer skips an onSend hook.
      route.onSend = [...hooksOf(route.onSend), issueOrderToken]
    }
    const method = methodsOf(route).find((m) => m !== 'HEAD') ?? 'GET'
    const schema = route.schema
    if (schema === undefined || schema.hide === true) return
    const access = accessOf(method, route.url) ?? 'token'
    const ownerWhen = OWNER_WHEN[`${method} ${route.url}`]?.when
    const response = isRecord(schema.response) ? schema.response : {}
    route.schema = {
      ...schema,
      security: securityOf(access, ownerWhen !== undefined),
      response: { ...response, ...accessResponses(access, ownerWhen, response) }
    }
  })

  // The two hooks every request runs are synchronous (no promise, no extra microtask turn).
  app.addHook('onRequest', (request, _reply, done) => {
    const header = request.headers.authorization
    if (header === undefined || header === '') {
      request.caller = { kind: 'anonymous', ip: request.ip }
      done()
      return
    }
    const token = BEARER.exec(header)?.[1]
    const caller = token === undefined ? undefined : tokens.lookup(token)
    if (caller === undefined) {
      request.caller = { kind: 'anonymous', ip: request.ip }
      done(unauthorized(token === undefined ? 'Authorization must be "Bearer <gateway token>"' : 'Unknown or revoked gateway token'))
      return
    }
    request.caller = caller
    done()
  })

  app.addHook('preHandler', (request, _reply, done) => {
    let refused: Error | undefined
    try {
      refused = refusal(request)
    } catch (err) {
      refused = err as Error
    }
    done(refused)
  })

  /** Why `request` may not reach its route, if it may not. */
  function refusal (request: FastifyRequest): GatewayError | undefined {
    const url = request.routeOptions.url
    if (url === undefined) return
    // A gateway token's routes are judged even where anyone may go (its scope may exclude them).
    if (request.caller?.kind !== 'token' && openToAll.get(url)?.has(request.method) === true) return
    const access = requiredAccess(request.method, url, request.body)
    if (access === undefined) return
    const header = request.headers[ORDER_TOKEN_HEADER]
    const verdict = judge({
      method: request.method,
      url,
      caller: request.caller,
      access,
      trackcode: trackcodeOf(request),
      orderToken: typeof header === 'string' && header !== '' ? header : undefined
    }, (trackcode, token) => orderTokens.verify(trackcode, token))
    if (verdict.allowed) return
    return verdict.status === 401 ? unauthorized(verdict.message) : new GatewayError(403, 'FORBIDDEN', verdict.message)
  }
}

export default fp(access, { name: 'access', dependencies: ['config'] })
