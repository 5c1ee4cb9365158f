/**
 * `Idempotency-Key` for order creation, with Stripe's semantics.
 *
 * Routes opt in with `config: { idempotency: true }`. For a request that carries the
 * header:
 * - first use of the key: the request runs; its answer is stored (`IDEMPOTENCY_TTL_MS`)
 *   *before* it is written to the client, so a client that disconnects can still get
 *   it by retrying;
 * - keys are scoped per caller (`request.caller`): the record is stored under
 *   `sha256(callerId + "\n" + key)`, so another caller's same key is another record;
 * - same key, same request (method, path, canonical JSON body): the stored answer is
 *   replayed byte for byte with `Idempotent-Replayed: true`, and upstream is not called;
 * - same key, different request → 422 UNPROCESSABLE;
 * - same key while the first request is still running, or still being settled (below)
 *   → 409 CONFLICT with `Retry-After`.
 *
 * What happens to the key depends on what the gateway knows about the order:
 * - upstream answered (2xx, or a 4xx other than 429): the answer is stored and replayed;
 * - upstream cannot have created it — the gateway refused the request itself (schema,
 *   rules, local quota or rate limit), upstream answered 5xx or 429, or the request
 *   provably never left the gateway (`mayHaveReachedUpstream` is false: still queued,
 *   connection refused) — the key is released and a retry with it runs again;
 * - a create still unanswered at `UPSTREAM_TIMEOUT_MS`: the client gets 504 saying the
 *   outcome is not known yet, but the call keeps running up to
 *   `CREATE_SETTLE_TIMEOUT_MS` (the route hands it over with `request.idempotency.settleLater`)
 *   and the key stays claimed meanwhile (409 "still being settled"); its late answer is
 *   then stored (or releases the key) as above, so a retry with the same key gets the
 *   order upstream created instead of creating a second one;
 * - the outcome stays unknown — the request may have reached upstream but no usable
 *   answer came back (no answer even by the hard deadline, connection reset, unreadable
 *   body): the key is **kept blocked** for its TTL, replaying that 502/504 whose message
 *   says so. SecretCryptos has no idempotency of its own and no way to look an order up
 *   by a client reference, so the gateway can never learn whether an order exists:
 *   releasing the key could put two orders behind one key. Blocking keeps the promise
 *   of the key — at most one creation sent upstream per key — and leaves the decision to
 *   try again (with a new key) to the client, knowingly. No money is at stake in an
 *   order nobody was shown: it cannot be funded and expires with its deposit address.
 *   See the README, "Order creation and Idempotency-Key".
 *
 * Whether an answer "came from upstream" is known exactly, not guessed from the
 * payload: the route's handler runs inside an AsyncLocalStorage context and the
 * upstream client's observer records the status upstream answered for that request;
 * the error a request failed with is kept from the `onError` hook.
 *
 * On a graceful shutdown with a shared store (Redis), creates still being settled get
 * the drain period (`SHUTDOWN_TIMEOUT_MS`) to finish, so their answers reach the store
 * another instance replays from; with the in-process store there is nobody left to
 * replay to. On close, those still running are cancelled (their keys blocked as
 * unknown, or released when the call never left): closing never waits for the hard
 * deadline.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import fp from 'fastify-plugin'
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import { envelope, GatewayError } from '../errors.js'
import { adviseMessage, UNKNOWN_OUTCOME_ADVICE as ADVICE, withAdvice } from '../idempotency/advice.js'
import { requestFingerprint } from '../idempotency/fingerprint.js'
import { IDEMPOTENCY_HEADER, idempotencyStoreKey, KEY_PATTERN, KEY_RULE, REPLAYED_HEADER } from '../idempotency/header.js'
import { callerId } from '../access/caller.js'
import { MemoryIdempotencyStore } from '../state/idempotency/memory.js'
import { mayHaveReachedUpstream, type UpstreamResult } from '../upstream/client.js'

/** What a route sees of its request's claim on an `Idempotency-Key`. */
export interface IdempotencyClaim {
  /** Aborted when the app closes: a call handed to {@link settleLater} must take it. */
  readonly signal: AbortSignal
  /**
   * Keeps the key claimed for `outcome`, a call still running when the request is
   * answered (with a 504): its late answer is stored for replay, or the key released
   * or blocked, as the module comment says. Call it at most once, before answering.
   */
  settleLater: (outcome: Promise<UpstreamResult>) => void
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Honour the `Idempotency-Key` header on this route (order creation). */
    idempotency?: boolean
  }
  interface FastifyRequest {
    /** The request's claim on its `Idempotency-Key`; null without one (or on other routes). */
    idempotency: IdempotencyClaim | null
  }
}

export interface IdempotencyPluginOptions {
  /** How long a stored answer is replayed. */
  ttlMs: number
  /**
   * How long a running request holds its key at most (a crashed holder never blocks a
   * key for good). Raised, if needed, to cover a create settling in the background.
   */
  lockMs: number
}

interface Claim {
  /** Hash of the client's key (the key itself is never stored or logged). */
  key: string
  fingerprint: string
  /** Status upstream answered a POST of this request with, if it answered. */
  upstreamStatus?: number
  /** `settling`: answered, its upstream call handed to `settleLater`. */
  state: 'running' | 'settling' | 'settled'
}

const JSON_TYPE = 'application/json; charset=utf-8'
/** Longest wait on close for settling creates to be written down once cancelled. */
const CLOSE_GRACE_MS = 5000

function hookList<T> (value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

function payloadBytes (payload: unknown): Buffer | undefined {
  if (Buffer.isBuffer(payload)) return payload
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8')
  return undefined
}

/** Upstream answers worth replaying: it took a decision (created, or refused the input). */
function storable (status: number): boolean {
  return status < 500 && status !== 429
}

async function idempotency (app: FastifyInstance, opts: IdempotencyPluginOptions): Promise<void> {
  const store = app.state.idempotency
  const settleMs = Math.max(app.config.createSettleTimeoutMs, app.config.upstreamTimeoutMs)
  // A create may wait for the mixer meta, then settle: its key must outlive both.
  const lockMs = Math.max(opts.lockMs, 3 * app.config.upstreamTimeoutMs + settleMs)
  const claims = new WeakMap<FastifyRequest, Claim>()
  const failures = new WeakMap<FastifyRequest, unknown>()
  const running = new AsyncLocalStorage<Claim>()
  /** Keys (hashes) of this process's creates settling in the background. */
  const settling = new Set<string>()
  /** Their bookkeeping, awaited on close. */
  const pending = new Set<Promise<void>>()
  const closing = new AbortController()

  app.decorateRequest('idempotency', null)

  app.upstreamObservers.add((event) => {
    const claim = running.getStore()
    if (claim?.state === 'running' && event.method === 'POST' && typeof event.outcome === 'number') claim.upstreamStatus = event.outcome
  })

  async function release (claim: Claim, log: FastifyBaseLogger): Promise<void> {
    try {
      await store.abandon(claim.key)
    } catch (err) {
      log.error({ err }, 'idempotency store failed to release a key')
    }
  }

  async function keep (claim: Claim, statusCode: number, contentType: string, body: Buffer, log: FastifyBaseLogger): Promise<void> {
    try {
      await store.complete(claim.key, claim.fingerprint, { statusCode, contentType, body }, opts.ttlMs)
    } catch (err) {
      log.error({ err }, 'idempotency store failed to keep an answer; a retry with the same key may create another order')
    }
  }

  /** Writes down the late outcome of a create whose client already got its 504. */
  async function settleLate (claim: Claim, outcome: Promise<UpstreamResult>, log: FastifyBaseLogger): Promise<void> {
    let result: UpstreamResult
    try {
      result = await outcome
    } catch (err) {
      if (!mayHaveReachedUpstream(err)) {
        log.info({ err }, 'order creation never reached upstream: its Idempotency-Key is released')
        await release(claim, log)
        return
      }
      const { statusCode, code, message } = err as GatewayError
      log.warn({ err }, 'order creation outcome unknown: its Idempotency-Key stays blocked for its TTL')
      await keep(claim, statusCode, JSON_TYPE, Buffer.from(JSON.stringify(envelope(code, adviseMessage(message, ADVICE.spent)))), log)
      return
    }
    if (storable(result.statusCode)) {
      log.info({ statusCode: result.statusCode, trackcode: result.body.trackcode }, 'late answer to an order creation stored for its Idempotency-Key')
      await keep(claim, result.statusCode, JSON_TYPE, result.raw, log)
      return
    }
    log.warn({ statusCode: result.statusCode }, 'late answer to an order creation is an upstream failure: its Idempotency-Key is released')
    await release(claim, log)
  }

  function claimFor (request: FastifyRequest, claim: Claim): IdempotencyClaim {
    return {
      signal: closing.signal,
      settleLater: (outcome) => {
        if (claim.state !== 'running') {
          request.log.error('settleLater called on a key that is not running; ignored')
          return
        }
        claim.state = 'settling'
        settling.add(claim.key)
        const task = settleLate(claim, outcome, request.log).finally(() => {
          settling.delete(claim.key)
          pending.delete(task)
        })
        pending.add(task)
      }
    }
  }

  function claimKey (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const fail = (err: GatewayError): void => { done(err as unknown as FastifyError) }
    const header = request.headers[IDEMPOTENCY_HEADER]
    if (header === undefined) {
      done()
      return
    }
    if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
      fail(new GatewayError(400, 'BAD_REQUEST', `Idempotency-Key ${KEY_RULE}`))
      return
    }
    const key = idempotencyStoreKey(callerId(request.caller), header)
    const fingerprint = requestFingerprint(request.method, request.routeOptions.url ?? request.url.split('?')[0] ?? '', request.body)
    store.begin(key, fingerprint, lockMs).then((found) => {
      switch (found.state) {
        case 'new': {
          const claim: Claim = { key, fingerprint, state: 'running' }
          claims.set(request, claim)
          request.idempotency = claimFor(request, claim)
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
          fail(settling.has(key)
            ? new GatewayError(409, 'CONFLICT', 'The first request with this Idempotency-Key timed out and the gateway is still waiting for upstream\'s answer to it; retry with the same key shortly to get that order', { headers: { 'retry-after': '2' } })
            : new GatewayError(409, 'CONFLICT', 'A request with this Idempotency-Key is still being processed; retry shortly', { headers: { 'retry-after': '1' } }))
          return
        case 'mismatch':
          fail(new GatewayError(422, 'UNPROCESSABLE', 'This Idempotency-Key was already used for a different request (method, path or body); use a new key for a new order'))
      }
    }, (err: unknown) => {
      request.log.error({ err }, 'idempotency store unavailable')
      fail(new GatewayError(503, 'SERVICE_UNAVAILABLE', 'Order creation with an Idempotency-Key is unavailable right now; retry shortly', { headers: { 'retry-after': '5' } }))
    })
  }

  async function recordFailure (request: FastifyRequest, _reply: FastifyReply, error: unknown): Promise<void> {
    failures.set(request, error)
  }

  async function settle (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const claim = claims.get(request)
    const status = reply.statusCode
    const unknownOutcome = status >= 500 && mayHaveReachedUpstream(failures.get(request))
    if (claim === undefined) {
      // No key (a replay is sent as stored): an unknown outcome still deserves the explanation.
      return unknownOutcome && request.headers[IDEMPOTENCY_HEADER] === undefined ? withAdvice(payload, ADVICE.noKey) : payload
    }
    if (claim.state === 'settling') return unknownOutcome ? withAdvice(payload, ADVICE.settling(settleMs)) : payload
    if (claim.state === 'settled') return payload
    claim.state = 'settled'
    const answered = claim.upstreamStatus
    const body = answered !== undefined && answered === status && storable(status) ? payloadBytes(payload) : undefined
    if (body !== undefined) {
      await keep(claim, status, String(reply.getHeader('content-type') ?? JSON_TYPE), body, request.log)
      return payload
    }
    if (unknownOutcome && answered === undefined) {
      const explained = withAdvice(payload, ADVICE.spent)
      const bytes = payloadBytes(explained)
      if (bytes !== undefined) {
        request.log.warn({ statusCode: status }, 'order creation outcome unknown: its Idempotency-Key stays blocked for its TTL')
        await keep(claim, status, String(reply.getHeader('content-type') ?? JSON_TYPE), bytes, request.log)
        return explained
      }
    }
    if (answered !== undefined && answered >= 200 && answered < 300) {
      request.log.error({ upstreamStatus: answered, statusCode: status }, 'upstream created an order but the gateway answered otherwise; nothing stored for replay')
    }
    await release(claim, request.log)
    return payload
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.config?.idempotency !== true) return
    // First among the route's own preHandlers: a replay skips every later check.
    route.preHandler = [claimKey, ...hookList(route.preHandler)]
    route.onError = [...hookList(route.onError), recordFailure]
    route.onSend = [...hookList(route.onSend), settle]
  })

  // The lifecycle waits for its shutdown handlers while it drains in-flight requests.
  if (!(store instanceof MemoryIdempotencyStore) && app.hasDecorator('lifecycle')) {
    app.lifecycle.onShutdown(async () => {
      while (pending.size > 0) await Promise.allSettled([...pending])
    })
  }

  app.addHook('preClose', async () => {
    closing.abort()
    if (pending.size === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.allSettled([...pending]),
      new Promise((resolve) => { timer = setTimeout(resolve, CLOSE_GRACE_MS) })
    ])
    clearTimeout(timer)
  })
}

export default fp(idempotency, { name: 'idempotency', dependencies: ['upstream'] })
