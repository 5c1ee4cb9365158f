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
import type { FastifyReply } from 'fastify'
import type { PolledSnapshot } from '../../../tracking/hub/freshness.js'
import { textOfSeconds } from '../../../lib/text-of-seconds.js'

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

/** What is sent for one stored snapshot, made once per snapshot (see {@link answerOf}). */
interface Answer {
  /** The snapshot's JSON as UTF-8 bytes. */
  bytes: Buffer
  /** Its `ETag`, e.g. `"3"`. */
  etag: string
}

/**
 * The answer of a stored snapshot, made once: the stores hand out the same object while
 * the snapshot is current, and a JSON holding masked addresses (`…`) is a two-byte
 * string that would otherwise be measured and encoded on every answer.
 */
const answers = new WeakMap<StoredSnapshot, Answer>()

function answerOf (snapshot: StoredSnapshot): Answer {
  let answer = answers.get(snapshot)
  if (answer === undefined) {
    answer = { bytes: Buffer.from(snapshot.json, 'utf8'), etag: `"${snapshot.order.version}"` }
    answers.set(snapshot, answer)
  }
  return answer
}

/** `X-Poll-After` and `Cache-Control` per number of seconds, made once each. */
const pollAfterText = textOfSeconds(String)
const cacheControlText = textOfSeconds((seconds) => `private, max-age=${seconds}`)

function setPollHeaders (reply: FastifyReply, seconds: number): void {
  reply.header('x-poll-after', pollAfterText(seconds)).header('cache-control', cacheControlText(seconds))
}

/** Sends a polled snapshot: its polling headers and `ETag`, then the JSON, or a bodiless 304 when the client holds this version. */
function sendPolled (reply: FastifyReply, { snapshot, pollAfterMs }: PolledSnapshot, ifNoneMatch: string | undefined): FastifyReply {
  const answer = answerOf(snapshot)
  setPollHeaders(reply, Math.max(1, Math.ceil(pollAfterMs / 1000)))
  reply.header('etag', answer.etag)
  if (ifNoneMatch === answer.etag) return reply.code(304).send()
  // The stored serialization is sent as is (as bytes: no response serializer touches them).
  return reply.type('application/json; charset=utf-8').send(answer.bytes as never)
}

const orderRoute: FastifyPluginAsyncTypebox = async (app) => {
  const hub = app.tracking
  app.get('/orders/:trackcode', { schema, schemaErrorFormatter: schemaErrorFormatter(schema) }, (request, reply) => {
    const { trackcode } = request.params
    const ifNoneMatch = request.headers['if-none-match']
    // A snapshot held in process and fresh enough is sent without a promise; anything
    // else waits for the hub (stored elsewhere, stale, unknown: maybe a check).
    const held = hub.pollHeld(trackcode)
    if (held !== undefined) {
      sendPolled(reply, held, ifNoneMatch)
      return
    }
    return hub.poll(trackcode, payerOf(request.caller, app.config)).then((polled) => sendPolled(reply, polled, ifNoneMatch))
  })
}

export default orderRoute
