/**
 * `GET /orders/:trackcode/subscribe`: live tracking of one order as Server-Sent Events.
 *
 * Everything that can fail does so before the stream opens, as an ordinary envelope
 * (a browser's EventSource does not retry a non-200 answer): 400 for a malformed
 * trackcode, 404 for an order upstream does not know (remembered for a while, so a
 * retrying browser costs no upstream call), 429 when the client IP already holds
 * `SSE_MAX_CONNECTIONS_PER_IP` streams, 429/502/504 when the first check fails.
 * Then the reply is taken over (`reply.hijack()`) and handed to the hub as an
 * {@link SseStream}; see `sse-stream.ts` for why not `@fastify/sse`.
 *
 * Answers meant to make the browser come back later are 200 event streams that end
 * at once with a `retry:` (gateway at `SSE_MAX_CONNECTIONS`, shutting down): see the
 * hub. The client IP is `request.ip`, so it honours `TRUST_PROXY`.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from '../../../upstream/schemas/common.js'
import { schemaErrorFormatter } from '../../../lib/schema-errors.js'
import { EventStream, TrackcodeParams } from '../../../tracking/schemas.js'
import type { TrackingHub } from '../../../tracking/hub.js'
import { SSE_HEADERS, SseStream } from '../../../tracking/sse-stream.js'
import { payerOf } from '../../../access/payer.js'
import { AccessLine, clientNetwork } from '../../../lib/request-log.js'
import { shortTrackcode } from '../../../lib/log-privacy.js'

/** Longest `Last-Event-ID` looked at; versions are short decimal numbers. */
const MAX_LAST_EVENT_ID = 32

const schema = {
  operationId: 'subscribeOrder',
  summary: 'Follow an order live (Server-Sent Events)',
  description: [
    'Opens an event stream with the order\'s current snapshot at once, then one `message` event per real change (countdown ticks are not changes), until the order is `Done` or `Gone`: then a `stop` event and the end of the stream.',
    '',
    'Open it with `new EventSource(\'/orders/6A5FB3BA8A150EC9/subscribe\')`. On reconnection the browser sends `Last-Event-ID`; if it equals the current version no duplicate snapshot is sent. Degraded tracking (upstream failing, quota used up) is told in `tracking` events while the stream stays open.',
    '',
    'However many browsers follow an order, the gateway checks upstream for it once per polling interval (state-aware, stretched fairly when the daily quota is short). Errors are answered before the stream opens, in the usual envelope; a client IP holding too many streams already gets a `429` with `Retry-After`.',
    '',
    'Answers that ask the browser to come back later are event streams that end right away, so that EventSource reconnects by itself (it never retries a non-200 answer): a gateway holding as many streams as it may sends a long `retry:` and a `tracking` event with the reason `OVERLOADED`; a gateway shutting down, or ending a stream at its maximum lifetime, sends a short `retry:`.'
  ].join('\n'),
  tags: ['Tracking'],
  params: TrackcodeParams,
  headers: Type.Object({
    'last-event-id': Type.Optional(Type.String({ description: 'Sent by EventSource when reconnecting: the id (version) of the last event received.' }))
  }),
  response: {
    200: {
      description: 'The event stream (`Content-Type: text/event-stream`, `Cache-Control: no-cache, no-transform`, `X-Accel-Buffering: no`, `X-Content-Type-Options: nosniff`; the security headers meant for documents — CSP, HSTS, framing and cross-origin policies — are not sent on it).',
      content: { 'text/event-stream': { schema: EventStream } }
    },
    ...errorResponses([400, 404, 429, 502, 504])
  }
}

/**
 * The stream of one subscriber. Built outside the handler so that its callbacks close
 * over the raw response, the hub and the trackcode only: a closure sharing the
 * handler's scope would keep the Fastify request and reply alive with the stream.
 */
function openStream (res: ServerResponse, headers: OutgoingHttpHeaders, hub: TrackingHub, trackcode: string, done: StreamEnd): SseStream {
  return new SseStream(res, {
    headers,
    onClose: (stream) => {
      hub.detach(trackcode, stream)
      // The stream's access line (src/lib/request-log.ts), written when it ends.
      done.log.write(done.reqId, { method: 'GET', url: `/orders/${shortTrackcode(trackcode)}/subscribe`, ip: done.ip }, 200, performance.now() - done.startedAt)
    },
    onStall: (stream) => { hub.stalled(trackcode, stream) }
  })
}

/** What the end of a stream is logged with (Fastify's own `request completed` line is detached, see below). */
interface StreamEnd {
  /** Where the access line goes. */
  log: AccessLine
  reqId: string
  /** The client's network (a string shared by its streams). */
  ip: string
  startedAt: number
}

/**
 * Detaches the listeners Fastify put on the raw response to run the `onResponse` hooks
 * and log `request completed` when it finishes: they hold the Fastify request and reply
 * (with its logger, headers and hooks' closures) for the whole life of a hijacked
 * stream. The only `onResponse` hook that looks at streams (metrics) skips them, and
 * the route logs the end itself. Found by name: with a Fastify that names them
 * otherwise, nothing is removed and the stream merely costs more memory.
 */
function detachFastifyListeners (res: ServerResponse): void {
  for (const event of ['finish', 'error'] as const) {
    for (const listener of res.listeners(event)) if (listener.name === 'onResFinished') res.removeListener(event, listener as (...args: unknown[]) => void)
  }
}

const subscribeRoute: FastifyPluginAsyncTypebox = async (app) => {
  const hub = app.tracking
  const lifecycle = app.lifecycle
  const streamLog = new AccessLine(app.log)
  // No automatic HEAD route: the handler takes the raw response over, HEAD would get a body.
  app.get('/orders/:trackcode/subscribe', { schema, schemaErrorFormatter: schemaErrorFormatter(schema), exposeHeadRoute: false }, async (request, reply) => {
    const { trackcode } = request.params
    const raw = request.headers['last-event-id']
    const lastEventId = typeof raw === 'string' && raw.length <= MAX_LAST_EVENT_ID ? raw.trim() : undefined
    await hub.subscribe(trackcode, lastEventId, () => {
      // Told apart from ordinary answers by `onResponse` hooks (metrics), should they still run (see below).
      reply.header('content-type', SSE_HEADERS['content-type'])
      reply.hijack()
      if (request.raw.destroyed || reply.raw.destroyed) {
        // The client left while the first check ran.
        reply.raw.destroy()
        return null
      }
      // Not awaited by a graceful shutdown: the hub ends it with a farewell.
      lifecycle.streaming(reply.raw)
      detachFastifyListeners(reply.raw)
      // Headers hooks set on the reply (CORS, the simulator's) travel with the stream;
      // the stream keeps only those an event stream needs (see `sse-stream.ts`).
      return openStream(reply.raw, reply.getHeaders() as OutgoingHttpHeaders, hub, trackcode, { log: streamLog, reqId: request.id, ip: clientNetwork(request.ip), startedAt: performance.now() - reply.elapsedTime })
    }, { ip: request.ip, payer: payerOf(request.caller, app.config) })
  })
}

export default subscribeRoute
