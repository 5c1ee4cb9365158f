/**
 * The simulator's Fastify instance: the ten `/v1` routes, authentication and quota,
 * fault injection, stats, `?pretty=1`, and upstream-style error envelopes.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify'
import { checkOrder, deleteOrder } from './check.js'
import type { SimContext } from './context.js'
import { ApiError, SimControlError, badRequest, type ApiErrorCode } from './errors.js'
import { createExchangeOrder } from './exchange.js'
import { applyFault, trickle, type FaultQueue } from './faults.js'
import { exchangeMeta, meta, mixerMeta, ping, prices } from './meta.js'
import { createMixerOrder } from './mixer.js'
import type { QuotaTracker } from './quota.js'
import type { StatsRecorder } from './stats.js'
import { validateSignature } from './validate.js'

/** Whether a route needs the API key. */
type AuthMode = 'none' | 'required' | 'optional'

/** Auth per `/v1` route; any other `/v1` route needs the key. */
const AUTH: Readonly<Record<string, AuthMode>> = {
  'GET /v1/ping': 'none',
  'HEAD /v1/ping': 'none',
  'GET /v1/meta': 'none',
  'HEAD /v1/meta': 'none',
  'POST /v1/validate': 'optional'
}

const VALIDATE_URL = '/v1/validate'
const BEARER_RE = /^Bearer\s+(\S+)\s*$/i

/** What the app is built from. */
export interface AppDeps {
  ctx: SimContext
  apiKeys: ReadonlySet<string>
  disabledKeys: ReadonlySet<string>
  quota: QuotaTracker
  stats: StatsRecorder
  faults: FaultQueue
  logger: boolean | object
}

function pathOf (request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url.split('?')[0] ?? request.url
}

function isControl (path: string): boolean {
  return path === '/_sim' || path.startsWith('/_sim/')
}

function controlCode (status: number): string {
  if (status === 404) return 'NOT_FOUND'
  if (status === 409) return 'CONFLICT'
  return 'BAD_REQUEST'
}

/** Builds the simulator's Fastify instance (not listening). */
export function buildApp (deps: AppDeps): FastifyInstance {
  const { ctx, apiKeys, disabledKeys, quota, stats, faults } = deps
  const app = Fastify({ logger: deps.logger, forceCloseConnections: true })
  /** Requests answered by a fault (their outcome is already recorded). */
  const faulted = new WeakSet<FastifyRequest>()
  /** Requests whose answer is trickled, with the per-chunk delay. */
  const slow = new WeakMap<FastifyRequest, number | undefined>()

  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') return done(null, undefined)
    try {
      done(null, JSON.parse(text))
    } catch {
      done(badRequest('Malformed JSON body'), undefined)
    }
  })

  app.addHook('onRequest', async (request, reply) => {
    const path = pathOf(request)
    const query = request.query as Record<string, unknown> | undefined
    if (query?.pretty === '1' || query?.pretty === 'true') {
      reply.type('application/json; charset=utf-8').serializer((payload) => JSON.stringify(payload, null, 2))
    }
    if (isControl(path)) return

    stats.call(`${request.method} ${path}`)
    const fault = faults.take(request.method, path)
    if (fault !== undefined) {
      if (fault.mode === 'slow') {
        slow.set(request, fault.delayMs)
      } else {
        faulted.add(request)
        stats.outcome(await applyFault(reply, fault))
        return reply
      }
    }

    if (request.routeOptions.url === undefined) return
    const mode = AUTH[`${request.method} ${path}`] ?? 'required'
    if (mode === 'none') return
    const header = request.headers.authorization
    if (header === undefined && mode === 'optional') return
    const key = header === undefined ? undefined : BEARER_RE.exec(header)?.[1]
    if (key === undefined) throw new ApiError(401, 'UNAUTHORIZED', 'Missing or malformed API key: send Authorization: Bearer <API_KEY>')
    if (disabledKeys.has(key)) throw new ApiError(403, 'FORBIDDEN', 'This API key is disabled')
    if (!apiKeys.has(key)) throw new ApiError(401, 'UNAUTHORIZED', 'Invalid API key')
    if (!quota.take(key, ctx.clock.now())) {
      throw new ApiError(429, 'TOO_MANY_REQUESTS', `Daily request limit of ${quota.limit} reached for this API key`)
    }
  })

  app.addHook('onSend', async (request, _reply, payload) => {
    if (!slow.has(request) || (typeof payload !== 'string' && !Buffer.isBuffer(payload))) return payload
    return trickle(payload, slow.get(request))
  })

  app.addHook('onResponse', async (request, reply) => {
    if (faulted.has(request) || isControl(pathOf(request))) return
    stats.outcome(reply.statusCode)
  })

  app.setErrorHandler((err: FastifyError | ApiError | SimControlError, request, reply) => {
    if (err instanceof SimControlError) {
      return reply.code(err.statusCode).send({ ok: false, code: controlCode(err.statusCode), message: err.message })
    }
    let status: number
    let code: ApiErrorCode
    let message: string
    if (err instanceof ApiError) {
      ({ statusCode: status, code, message } = err)
    } else if (err.statusCode !== undefined && err.statusCode < 500) {
      status = err.statusCode === 415 ? 400 : err.statusCode
      code = 'BAD_REQUEST'
      message = err.statusCode === 415 ? 'Request body must be JSON' : err.message
    } else {
      request.log.error({ err }, 'simulator error')
      status = 500
      code = 'SERVER_ERROR'
      message = 'Internal server error'
    }
    const key = request.routeOptions.url === VALIDATE_URL ? 'error' : 'code'
    return reply.code(status).send(new ApiError(status, code, message, key).toEnvelope())
  })

  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError(404, 'NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} not found`)
    return reply.code(404).send(error.toEnvelope())
  })

  app.get('/v1/ping', async () => ping(ctx.clock.now()))
  app.get('/v1/meta', async () => meta(ctx.clock.now()))
  app.get('/v1/meta/mixer', async () => mixerMeta())
  app.get('/v1/meta/exchange', async () => exchangeMeta())
  app.get('/v1/prices', async (request) => prices((request.query as Record<string, unknown>).symbols, ctx.clock.now()))
  app.post('/v1/mixer/orders', async (request) => createMixerOrder(ctx, request.body))
  app.post('/v1/exchange/orders', async (request) => createExchangeOrder(ctx, request.body))
  app.post('/v1/orders/check', async (request) => checkOrder(ctx, request.body))
  app.post('/v1/orders/delete', async (request) => deleteOrder(ctx, request.body))
  app.post(VALIDATE_URL, async (request) => validateSignature(ctx, request.body))

  return app
}
