/**
 * `PUT /tracked-orders/:trackcode` and `DELETE /tracked-orders/:trackcode` (gateway
 * tokens only): register, or unregister, an order created elsewhere as a known order
 * (`app.state.orders`, `source: 'registered'`), so tracking it charges its subscribers
 * nothing (see `src/state/orders/index.ts`). No upstream call.
 *
 * Both are idempotent and answer the same whatever was known before: PUT keeps what is
 * already known (an order created through the gateway stays `created`) and answers the
 * entry; DELETE answers 200 whether or not the order was known, so a retried DELETE
 * never fails.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { callerId } from '../../../access/caller.js'
import { errorResponses } from '../../../upstream/schemas/common.js'
import { schemaErrorFormatter } from '../../../lib/schema-errors.js'
import { KNOWN_ORDER_TTL_MS } from '../../../state/orders/index.js'
import { Trackcode, TrackcodeParams } from '../../../tracking/schemas.js'

/** Answer of PUT. */
export const TrackedOrderEntry = Type.Object({
  ok: Type.Literal(true),
  trackcode: Trackcode,
  source: Type.Union([Type.Literal('created'), Type.Literal('registered')], { description: '`created` through this gateway, or `registered` by a token client.' })
}, { description: 'A known order.', examples: [{ ok: true, trackcode: '6A5FB3BA8A150EC9', source: 'registered' }] })
type TrackedOrderEntry = Static<typeof TrackedOrderEntry>

/** Answer of DELETE. */
export const TrackedOrderRemoved = Type.Object({
  ok: Type.Literal(true),
  trackcode: Trackcode
}, { description: 'The order is no longer known (or never was).', examples: [{ ok: true, trackcode: '6A5FB3BA8A150EC9' }] })
type TrackedOrderRemoved = Static<typeof TrackedOrderRemoved>

const putSchema = {
  operationId: 'registerTrackedOrder',
  summary: 'Register an order for tracking',
  description: 'Makes `trackcode` a known order for 49 hours (upstream keeps orders 48 hours): its subscribers\' first check is not charged to their allowance. For orders created elsewhere; orders created through the gateway are known already. Idempotent: a second PUT answers the same and changes nothing. Needs a gateway token; no upstream call.',
  tags: ['Access'],
  params: TrackcodeParams,
  response: { 200: TrackedOrderEntry, ...errorResponses([400, 429]) }
}

const deleteSchema = {
  operationId: 'unregisterTrackedOrder',
  summary: 'Unregister an order',
  description: 'Forgets `trackcode` as a known order. Answers 200 whether or not it was known, so a retry is harmless. Needs a gateway token; no upstream call; the order itself is not touched (`POST /v1/orders/delete` deletes it).',
  tags: ['Access'],
  params: TrackcodeParams,
  response: { 200: TrackedOrderRemoved, ...errorResponses([400, 429]) }
}

const trackedOrderRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const orders = app.state.orders

  app.put('/tracked-orders/:trackcode', { schema: putSchema, schemaErrorFormatter: schemaErrorFormatter(putSchema) }, async (request): Promise<TrackedOrderEntry> => {
    const { trackcode } = request.params
    const known = await orders.get(trackcode)
    if (known !== undefined) return { ok: true, trackcode, source: known.source }
    await orders.remember(trackcode, { source: 'registered', by: callerId(request.caller), since: Date.now() }, KNOWN_ORDER_TTL_MS)
    return { ok: true, trackcode, source: 'registered' }
  })

  app.delete('/tracked-orders/:trackcode', { schema: deleteSchema, schemaErrorFormatter: schemaErrorFormatter(deleteSchema) }, async (request): Promise<TrackedOrderRemoved> => {
    const { trackcode } = request.params
    await orders.forget(trackcode)
    return { ok: true, trackcode }
  })
}

export default trackedOrderRoutes
