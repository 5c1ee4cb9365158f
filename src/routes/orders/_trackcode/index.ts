/**
 * `GET /orders/:trackcode`: the polling fallback for clients that cannot hold an event
 * stream. Same JSON as a `message` event; served from the poller's snapshot when one
 * runs or the stored one is fresh, else from one check shared with every concurrent
 * caller. `X-Poll-After` (and `Cache-Control: max-age`) say when asking again can
 * show something new; `ETag` is the version, so `If-None-Match` gets a bodiless 304.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../../../upstream/schemas/common.js'
import { schemaErrorFormatter } from '../../../lib/schema-errors.js'
import { Type } from 'typebox'
import { componentRef, TrackcodeParams } from '../../../tracking/schemas.js'
import { POLL_HEADERS } from '../../../openapi/response-headers.js'
import { payerOf } from '../../../access/payer.js'
import type { StoredSnapshot } from '../../../state/snapshots/index.js'

const schema = {
  operationId: 'getTrackedOrder',
  summary: 'Poll an order (fallback for clients without EventSource)',
  description: 'The order\'s current snapshot, the same JSON as the `data` of a `message` event of `GET /orders/{trackcode}/subscribe`. Wait `X-Poll-After` seconds before asking again: the gateway checks upstream at most once per polling interval per order, whoever asks. An unknown order is a 404, remembered for a while without asking upstream again.',
  tags: ['Tracking'],
  params: TrackcodeParams,
  headers: Type.Object({
    'if-none-match': Type.Optional(Type.String({ description: 'The `ETag` of the snapshot the client holds (e.g. `"3"`): while it is still the current version the answer is a bodiless 304.' }))
  }),
  response: {
    200: { ...componentRef('TrackedOrder', { description: 'The order\'s current snapshot.' }), headers: POLL_HEADERS },
    304: { type: 'null', description: 'Not modified: the version named in `If-None-Match` is still the current one.', headers: POLL_HEADERS },
    ...errorResponses([400, 404, 429, 502, 504])
  }
}

/**
 * The UTF-8 bytes of a stored snapshot's JSON, made once per snapshot: the stores hand out
 * the same object while the snapshot is current, and a JSON holding masked addresses
 * (`…`) is a two-byte string that would otherwise be measured and encoded on every answer.
 */
const bytesOf = new WeakMap<StoredSnapshot, Buffer>()

function snapshotBytes (snapshot: StoredSnapshot): Buffer {
  let bytes = bytesOf.get(snapshot)
  if (bytes === undefined) {
    bytes = Buffer.from(snapshot.json, 'utf8')
    bytesOf.set(snapshot, bytes)
  }
  return bytes
}

const orderRoute: FastifyPluginAsyncTypebox = async (app) => {
  const hub = app.tracking
  app.get('/orders/:trackcode', { schema, schemaErrorFormatter: schemaErrorFormatter(schema) }, async (request, reply) => {
    const { snapshot, pollAfterMs } = await hub.poll(request.params.trackcode, payerOf(request.caller, app.config))
    const seconds = Math.max(1, Math.ceil(pollAfterMs / 1000))
    const etag = `"${snapshot.order.version}"`
    reply
      .header('x-poll-after', String(seconds))
      .header('cache-control', `private, max-age=${seconds}`)
      .header('etag', etag)
    if (request.headers['if-none-match'] === etag) return await reply.code(304).send()
    // The stored serialization is sent as is (as bytes: no response serializer touches them).
    return await reply.type('application/json; charset=utf-8').send(snapshotBytes(snapshot) as never)
  })
}

export default orderRoute
