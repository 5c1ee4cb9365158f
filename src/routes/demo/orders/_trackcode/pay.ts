/**
 * `POST /demo/orders/:trackcode/pay` (hidden from the OpenAPI spec; body optional
 * `{ amount }`) records a simulated deposit and nudges the order's poller to check at
 * once (`app.tracking.nudge`), so the demo page shows the payment within a moment. It
 * exists **only** on the simulator: with an API key configured it is not registered at
 * all (404).
 */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type {} from '@fastify/swagger'
import { Type } from 'typebox'
import { GatewayError } from '../../../../errors.js'
import { Trackcode } from '../../../../upstream/schemas/common.js'
import { SimControlError } from '../../../../simulator/index.js'

/** A decimal amount as the simulator accepts it. */
const PayAmount = Type.Union([
  Type.String({ pattern: '^\\d{1,12}(\\.\\d{1,8})?$' }),
  Type.Number({ exclusiveMinimum: 0 })
], { description: 'Amount to deposit; default: what is still missing.' })

const SIM_ERROR_CODES = { 400: 'BAD_REQUEST', 404: 'NOT_FOUND', 409: 'CONFLICT' } as const

export default async function demoPayRoute (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const simulator = app.simulator
  if (simulator === null) return

  app.post('/demo/orders/:trackcode/pay', {
    schema: {
      hide: true,
      params: Type.Object({ trackcode: Trackcode }),
      body: Type.Object({ amount: Type.Optional(PayAmount) }, { additionalProperties: false })
    },
    // The body is optional: none at all means `{}` (pay what is missing).
    preValidation: async (request) => {
      if (request.body === undefined || request.body === null) request.body = {}
    }
  }, async (request) => {
    try {
      simulator.control.pay(request.params.trackcode, request.body.amount)
    } catch (err) {
      if (err instanceof SimControlError) {
        const code = SIM_ERROR_CODES[err.statusCode as keyof typeof SIM_ERROR_CODES] ?? 'BAD_REQUEST'
        throw new GatewayError(err.statusCode, code, err.message)
      }
      throw err
    }
    // Show the payment now rather than at the poller's next planned check (still
    // through the quota; a no-op when nobody follows the order).
    if (app.hasDecorator('tracking')) {
      await app.tracking.nudge(request.params.trackcode).catch((err: unknown) => { request.log.warn({ err }, 'could not nudge the order\'s poller') })
    }
    return { ok: true }
  })
}
