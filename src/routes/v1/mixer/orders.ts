/**
 * `POST /v1/mixer/orders`: create a mixer order.
 *
 * Input is judged in three steps, all before any upstream call, so a bad request costs
 * no quota: the JSON Schema, then the rules it cannot say (`checkMixerOrder`), then the
 * amount against the coin's limits from the cached `/v1/meta/mixer` (skipped when the
 * meta cannot be had: upstream then judges). The create itself is never retried (a
 * repeated create would make a second order), may use the quota's reserve, and settles
 * in the background after a 504 (`create-order.ts`).
 */
import type { FastifyInstance } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Fixed } from '../../../lib/decimal.js'
import { IdempotencyHeaders, IdempotencyResponses } from '../../../idempotency/header.js'
import { BODY_ERRORS, errorResponses, UPSTREAM_ERRORS } from '../../../upstream/schemas/common.js'
import { MixerOrderRequest, MixerOrderResponse } from '../../../upstream/schemas/mixer-order.js'
import { checkMixerAmount, findMixerLimits, type MixerLimits } from '../../../upstream/rules/mixer-limits.js'
import { checkMixerOrder } from '../../../upstream/rules/mixer-order.js'
import { cachedGet } from '../../../upstream/cached-get.js'
import { CREATE_ERROR_EXAMPLES, CREATE_IDEMPOTENCY_DOC, createOrder } from '../../../upstream/create-order.js'
import { forward, isSuccess } from '../../../upstream/forward.js'
import { MIXER_META_PATH } from '../meta.js'
import { withPartner } from '../../../upstream/partner.js'
import { ORDER_TOKEN } from '../../../openapi/response-headers.js'
import { payerOf } from '../../../access/payer.js'
import type { Payer } from '../../../upstream/client.js'

/** The coin/network limits from the cached mixer meta, or `undefined` when they cannot be had. */
async function mixerLimits (app: FastifyInstance, crypto: string, network: string, payer: Payer): Promise<MixerLimits | undefined> {
  try {
    const meta = await cachedGet(app, { path: MIXER_META_PATH, auth: true, ttlMs: app.config.metaCacheTtlMs, payer })
    if (!isSuccess(meta)) return undefined
    return findMixerLimits(meta.body, crypto, network)
  } catch (err) {
    app.log.debug({ err }, 'mixer meta unavailable: amount limits left to upstream')
    return undefined
  }
}

async function checkAmountLimits (app: FastifyInstance, body: MixerOrderRequest, amount: Fixed, payer: Payer): Promise<void> {
  const limits = await mixerLimits(app, body.crypto, body.network, payer)
  if (limits !== undefined) checkMixerAmount(limits, amount, body.crypto, body.network)
}

/** What a refused mixer order reads like (the gateway's messages; upstream's own use the same codes). */
const MIXER_400_EXAMPLES = [
  { ok: false, code: 'BAD_REQUEST', message: 'Sum of percents must be exactly 100.00 (addresses[].percent add up to 99.99)' },
  { ok: false, code: 'BAD_REQUEST', message: 'addresses[1].percent must have at most 2 decimals' },
  { ok: false, code: 'AMOUNT_TOO_LOW', message: 'amount is below the minimum of 0.001 BTC on btc' },
  { ok: false, code: 'AMOUNT_TOO_HIGH', message: 'amount is above the maximum of 20 BTC on btc' }
]

const mixerOrderRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/mixer/orders', {
    // Idempotency-Key honoured (src/plugins/idempotency.ts).
    config: { idempotency: true, issuesOrderToken: true },
    schema: {
      operationId: 'createMixerOrder',
      summary: 'Create a mixer order',
      description: [
        'Creates an order that splits one deposit between 1 to 10 outputs, each after its own delay.',
        'The gateway checks every rule of the contract first and answers 400 without calling upstream when one fails:',
        'percents with at most 2 decimals, each 1.00–100.00, summing to exactly 100.00; delays up to 48h (minutes or `"Xh Ym"`);',
        '`service_fee` 0.10–5.00 with at most 2 decimals; address formats per network; the amount within the coin/network limits',
        'of `/v1/meta/mixer` (`AMOUNT_TOO_LOW` / `AMOUNT_TOO_HIGH`; skipped when that meta cannot be read). Unknown fields are refused.',
        'When the gateway has a partner key configured, it is the order\'s `partner`, whatever the body says. A successful creation answers with the header `Trackgate-Order-Token`: the order token that lets its holder delete the order or see its unmasked addresses (keep it with the order). Never retried; forwarded unchanged.',
        CREATE_IDEMPOTENCY_DOC
      ].join(' '),
      tags: ['Mixer'],
      headers: IdempotencyHeaders,
      body: MixerOrderRequest,
      response: {
        200: { ...MixerOrderResponse, headers: ORDER_TOKEN },
        ...errorResponses([...BODY_ERRORS, ...UPSTREAM_ERRORS], { examples: { ...CREATE_ERROR_EXAMPLES, 400: MIXER_400_EXAMPLES } }),
        ...IdempotencyResponses
      }
    }
  }, async (request, reply) => {
    const body = request.body
    const checked = checkMixerOrder(body)
    await checkAmountLimits(app, body, checked.amount, payerOf(request.caller, app.config))
    const result = await createOrder(app, request, { path: '/mixer/orders', body: withPartner(body, app.config.partnerKey) })
    return forward(reply, result)
  })
}

export default mixerOrderRoutes
