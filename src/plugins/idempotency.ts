/**
 * `Idempotency-Key` for order creation, with Stripe's semantics.
 *
 * Routes opt in with `config: { idempotency: true }`. For a request that carries the
 * header:
 * - first use of the key: the request runs; its answer is stored (`IDEMPOTENCY_TTL_MS`)
 *   *before* it is written to the client, so a client that disconnects can still get
 *   it by retrying;
 * - same key, same request (method, path, canonical JSON body): the stored answer is
 *   replayed byte for byte with `Idempotent-Replayed: true`, and upstream is not called;
 * - same key, different request → 422 UNPROCESSABLE;
 * - same key while the first request is still running → 409 CONFLICT (`Retry-After: 1`).
 *
 * Only answers that came from upstream are stored: upstream's 2xx and 4xx (except 429).
 * Everything the gateway answered on its own — schema/rule rejections, local quota or
 * rate-limit 429, 502, 504, upstream 5xx — releases the key, so a retry with the same
 * key runs again (Stripe does not store requests that never "started executing" either).
 *
 * A 504 on create means the outcome is unknown: upstream may have created an order
 * whose answer never arrived. SecretCryptos has no idempotency of its own and no way
 * to look an order up by a client reference, so the gateway can never learn that
 * outcome; keeping the key blocked would only force the client onto a new key with the
 * same result. The key is therefore released and the 504's message says so: a retry
 * with the same key creates the order again and that answer becomes the one stored,
 * so the client is only ever shown one deposit address per key. An order created but
 * never shown cannot be funded by anyone and simply expires. See the README, "Order
 * creation and Idempotency-Key".
 *
 * Whether an answer "came from upstream" is known exactly, not guessed from the
 * payload: the route's handler runs inside an AsyncLocalStorage context and the
 * upstream client's observer records the status upstream answered for that request.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import { envelope, GatewayError } from '../errors.js'
import { requestFingerprint } from '../idempotency/fingerprint.js'
import { IDEMPOTENCY_HEADER, KEY_PATTERN, REPLAYED_HEADER } from '../idempotency/header.js'
import { MemoryIdempotencyStore, type IdempotencyStore } from '../idempotency/store.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Honour the `Idempotency-Key` header on this route (order creation). */
    idempotency?: boolean
  }
}

export interface IdempotencyPluginOptions {
  /** Where records live; default: in-process, bounded. */
  store?: IdempotencyStore
  /** How long a stored answer is replayed. */
  ttlMs: number
  /** How long a running request holds its key at most (a crashed holder never blocks a key for good). */
  lockMs: number
}

interface Claim {
  /** Hash of the client's key (the key itself is never stored or logged). */
  key: string
  fingerprint: string
  /** Status upstream answered a POST of this request with, if it answered. */
  upstreamStatus?: number
  settled: boolean
}

function hookList<T> (value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

function payloadBytes (payload: unknown): Buffer | undefined {
  if (Buffer.isBuffer(payload)) return payload
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8')
  return undefined
}

/** Replaces the message of a 504 envelope on a create: its outcome is unknown. */
function unknownOutcome (payload: unknown, hadKey: boolean): unknown {
  const text = payloadBytes(payload)?.toString('utf8')
  if (text === undefined) return payload
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return payload
  }
  const { code, message } = (parsed ?? {}) as { code?: unknown, message?: unknown }
  if (typeof code !== 'string' || typeof message !== 'string') return payload
  const advice = hadKey
    ? 'Retry with the same Idempotency-Key: you will only ever be shown one order for it (an order created but never shown cannot be funded and expires).'
    : 'Retry with an Idempotency-Key header so that a retry can never show you two orders.'
  return JSON.stringify(envelope(code, `${message}: whether the order was created is unknown. ${advice}`))
}

async function idempotency (app: FastifyInstance, opts: IdempotencyPluginOptions): Promise<void> {
  const store = opts.store ?? new MemoryIdempotencyStore()
  const claims = new WeakMap<FastifyRequest, Claim>()
  const running = new AsyncLocalStorage<Claim>()

  app.upstreamObservers.add((event) => {
    const claim = running.getStore()
    if (claim !== undefined && event.method === 'POST' && typeof event.outcome === 'number') claim.upstreamStatus = event.outcome
  })

  function claimKey (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const fail = (err: GatewayError): void => { done(err as unknown as FastifyError) }
    const header = request.headers[IDEMPOTENCY_HEADER]
    if (header === undefined) {
      done()
      return
    }
    if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
      fail(new GatewayError(400, 'BAD_REQUEST', 'Idempotency-Key must be 16 to 255 visible ASCII characters (a UUID is recommended)'))
      return
    }
    const key = createHash('sha256').update(header).digest('hex')
    const fingerprint = requestFingerprint(request.method, request.routeOptions.url ?? request.url.split('?')[0] ?? '', request.body)
    store.begin(key, fingerprint, opts.lockMs).then((found) => {
      switch (found.state) {
        case 'new': {
          const claim: Claim = { key, fingerprint, settled: false }
          claims.set(request, claim)
          // The rest of the chain (later hooks and the handler) runs in this context,
          // where the upstream observer can find the claim.
          running.run(claim, () => { done() })
          return
        }
        case 'done':
          reply.code(found.response.statusCode)
            .type(found.response.contentType)
            .header(REPLAYED_HEADER, 'true')
            .send(found.response.body)
          return
        case 'running':
          fail(new GatewayError(409, 'CONFLICT', 'A request with this Idempotency-Key is still being processed; retry shortly', { headers: { 'retry-after': '1' } }))
          return
        case 'mismatch':
          fail(new GatewayError(422, 'UNPROCESSABLE', 'This Idempotency-Key was already used for a different request (method, path or body); use a new key for a new order'))
      }
    }, (err: unknown) => {
      request.log.error({ err }, 'idempotency store unavailable')
      fail(new GatewayError(503, 'SERVICE_UNAVAILABLE', 'Order creation with an Idempotency-Key is unavailable right now; retry shortly', { headers: { 'retry-after': '5' } }))
    })
  }

  async function settle (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const claim = claims.get(request)
    const status = reply.statusCode
    if (claim === undefined || claim.settled) {
      // No key (or a replay): a 504 still deserves the unknown-outcome explanation.
      return status === 504 && claim === undefined && request.headers[IDEMPOTENCY_HEADER] === undefined
        ? unknownOutcome(payload, false)
        : payload
    }
    claim.settled = true
    const answered = claim.upstreamStatus
    const fromUpstream = answered !== undefined && answered === status && status < 500 && status !== 429
    const body = fromUpstream ? payloadBytes(payload) : undefined
    if (body !== undefined) {
      const contentType = String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8')
      try {
        await store.complete(claim.key, claim.fingerprint, { statusCode: status, contentType, body }, opts.ttlMs)
      } catch (err) {
        request.log.error({ err }, 'idempotency store failed to keep an answer; a retry with the same key may create another order')
      }
      return payload
    }
    if (answered !== undefined && answered >= 200 && answered < 300) {
      request.log.error({ upstreamStatus: answered, statusCode: status }, 'upstream created an order but the gateway answered otherwise; nothing stored for replay')
    }
    try {
      await store.abandon(claim.key)
    } catch (err) {
      request.log.error({ err }, 'idempotency store failed to release a key')
    }
    return status === 504 ? unknownOutcome(payload, true) : payload
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.config?.idempotency !== true) return
    // First among the route's own preHandlers: a replay skips every later check.
    route.preHandler = [claimKey, ...hookList(route.preHandler)]
    route.onSend = [...hookList(route.onSend), settle]
  })
}

export default fp(idempotency, { name: 'idempotency', dependencies: ['upstream'] })
