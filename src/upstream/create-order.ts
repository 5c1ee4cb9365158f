/**
 * Sends an order creation upstream, with two deadlines.
 *
 * A create is never retried (a repeated create would make a second order). When
 * upstream has not answered by `UPSTREAM_TIMEOUT_MS` the client gets 504
 * UPSTREAM_TIMEOUT at once, but the call itself keeps running up to
 * `CREATE_SETTLE_TIMEOUT_MS`: upstream may be creating the order right now, and its
 * answer (deposit address, `signature_text`) must not be lost.
 * - With an `Idempotency-Key`, the call is handed to the idempotency plugin
 *   (`request.idempotency.settleLater`), which stores the late answer under the key for
 *   a retry with the same key to replay (see `src/plugins/idempotency.ts`).
 * - Without one there is nothing to store it under: a late order is logged at warn
 *   level with its trackcode (shortened by the logger) so an operator can find it.
 *
 * Every order upstream creates — in time or late — becomes a known order
 * (`app.state.orders`, `source: 'created'`, `by` the caller), so tracking it costs its
 * subscribers nothing. Its creator gets the order token in the answer's
 * `Trackgate-Order-Token` header (the access plugin adds it, replays included).
 */
import { payerOf } from '../access/payer.js'
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify'
import { adviseMessage, UNKNOWN_OUTCOME_ADVICE } from '../idempotency/advice.js'
import { defaultConfig } from '../config.js'
import { callerId } from '../access/caller.js'
import { KNOWN_ORDER_TTL_MS } from '../state/orders/index.js'
import { UpstreamCallError, type UpstreamResult } from './client.js'

/** The create routes' description of what a timeout means (OpenAPI). */
export const CREATE_IDEMPOTENCY_DOC = [
  'Send an `Idempotency-Key` header (a new UUID per order) to make retries safe.',
  'When upstream has not answered within `UPSTREAM_TIMEOUT_MS` the answer is 504 and whether the order was created is not known yet;',
  'the gateway keeps waiting for upstream (up to `CREATE_SETTLE_TIMEOUT_MS`) and stores its late answer under the key:',
  'retry with the same key (409 while it waits) to get that order. If no usable answer ever comes, that key stays blocked',
  '(its 502/504 is replayed, saying so) rather than risk a second order: place the order again with a new key.'
].join(' ')

const defaults = defaultConfig()

/** Examples of the create routes' 502 and 504 answers (OpenAPI). */
export const CREATE_ERROR_EXAMPLES = {
  502: [
    { ok: false, code: 'UPSTREAM_UNAVAILABLE', message: 'SecretCryptos could not be reached (ECONNREFUSED)' },
    { ok: false, code: 'UPSTREAM_UNAVAILABLE', message: adviseMessage('SecretCryptos could not be reached (UND_ERR_SOCKET)', UNKNOWN_OUTCOME_ADVICE.spent) }
  ],
  504: [
    { ok: false, code: 'UPSTREAM_TIMEOUT', message: adviseMessage(`SecretCryptos did not answer within ${defaults.upstreamTimeoutMs} ms`, UNKNOWN_OUTCOME_ADVICE.settling(defaults.createSettleTimeoutMs)) },
    { ok: false, code: 'UPSTREAM_TIMEOUT', message: adviseMessage(`SecretCryptos did not answer within ${defaults.createSettleTimeoutMs} ms`, UNKNOWN_OUTCOME_ADVICE.spent) },
    { ok: false, code: 'UPSTREAM_TIMEOUT', message: adviseMessage(`SecretCryptos did not answer within ${defaults.upstreamTimeoutMs} ms`, UNKNOWN_OUTCOME_ADVICE.noKey) }
  ]
}

/** An order creation: which endpoint, with which body (as upstream will get it). */
export interface CreateCall {
  path: '/mixer/orders' | '/exchange/orders'
  body: unknown
}

/** Logs how a create that timed out without an `Idempotency-Key` ended. */
function reportLateAnswer (outcome: Promise<UpstreamResult>, path: string, log: FastifyBaseLogger): void {
  outcome.then((result) => {
    if (result.statusCode >= 200 && result.statusCode < 300) {
      log.warn({ path, statusCode: result.statusCode, trackcode: result.body.trackcode }, 'order created upstream after its client got 504 (no Idempotency-Key): nobody was shown this order')
    } else {
      log.info({ path, statusCode: result.statusCode }, 'late answer to an order creation that timed out (no Idempotency-Key): upstream created nothing')
    }
  }, (err: unknown) => {
    log.warn({ path, err }, 'order creation that timed out (no Idempotency-Key) never got an answer: whether an order was created is unknown')
  })
}

/** Remembers the order a successful create made (a failure to do so is logged, never the create's). */
async function rememberCreated (app: FastifyInstance, result: UpstreamResult, by: string, log: FastifyBaseLogger): Promise<void> {
  const trackcode = result.body.trackcode
  if (result.statusCode < 200 || result.statusCode >= 300 || typeof trackcode !== 'string') return
  try {
    await app.state.orders.remember(trackcode, { source: 'created', by, since: Date.now() }, KNOWN_ORDER_TTL_MS)
  } catch (err) {
    log.error({ err, trackcode }, 'could not remember a created order')
  }
}

/**
 * Upstream's answer to the create, if it comes within `UPSTREAM_TIMEOUT_MS`. Rejects
 * like `app.upstream.request`, and with a 504 {@link UpstreamCallError} at that
 * deadline, the call then going on in the background as described above.
 */
export async function createOrder (app: FastifyInstance, request: FastifyRequest, call: CreateCall): Promise<UpstreamResult> {
  const { upstreamTimeoutMs } = app.config
  const claim = request.idempotency
  const outcome = app.upstream.request({
    method: 'POST',
    path: call.path,
    body: call.body,
    auth: true,
    purpose: 'create',
    retry: false,
    payer: payerOf(request.caller, app.config),
    timeoutMs: Math.max(app.config.createSettleTimeoutMs, upstreamTimeoutMs),
    ...(claim === null ? {} : { signal: claim.signal })
  })
  const by = callerId(request.caller)
  const remembered = outcome.then(async (result) => { await rememberCreated(app, result, by, request.log) }, () => {})
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<'deadline'>((resolve) => { timer = setTimeout(resolve, upstreamTimeoutMs, 'deadline') })
  try {
    const first = await Promise.race([outcome, deadline])
    if (first !== 'deadline') {
      await remembered
      return first
    }
  } finally {
    clearTimeout(timer)
  }
  if (claim !== null) claim.settleLater(outcome)
  else reportLateAnswer(outcome, call.path, request.log)
  // Whether it left the gateway is not known yet: treated as if it had.
  throw new UpstreamCallError(504, 'UPSTREAM_TIMEOUT', `SecretCryptos did not answer within ${upstreamTimeoutMs} ms`, true)
}
