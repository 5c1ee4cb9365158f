/**
 * Stream limits: per client IP (429, before any upstream call), the global cap (a 200
 * stream that sends the browser away for a while without switching it off), and the
 * counters behind /metrics.
 */
import t from 'tap'
import { EventSource } from 'eventsource'
import { build } from '../helpers/build.js'
import { CHECK_ROUTE, createOrder } from '../helpers/fixtures.js'
import { isSnapshot, isTracking, openRaw, type SseEvent } from '../helpers/sse-reader.js'
import { waitFor } from '../helpers/wait-for.js'
import { OVERLOAD_JITTER_MS, OVERLOAD_RETRY_MS, PER_IP_RETRY_AFTER_S } from '../../src/tracking/hub/admission.js'
import { trackOrder } from '../../web/client/trackgate-client.js'

const streamHeaders = (extra: Record<string, string> = {}): Record<string, string> => ({ accept: 'text/event-stream', ...extra })

t.test('one stream too many from a client IP is a 429 envelope with Retry-After, costing no check', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { sseMaxConnectionsPerIp: 2 } })
  const code = await createOrder(s.sim)
  const a = await openRaw(`${s.url}/orders/${code}/subscribe`)
  const b = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await a.next(isSnapshot)
  await b.next(isSnapshot)
  const checks = s.checks()

  const refused = await fetch(`${s.url}/orders/${code}/subscribe`, { headers: streamHeaders() })
  t.equal(refused.status, 429)
  t.match(refused.headers.get('content-type'), /^application\/json/)
  t.equal(refused.headers.get('retry-after'), String(PER_IP_RETRY_AFTER_S))
  const body = await refused.json() as { ok: boolean, code: string, message: string }
  t.same([body.ok, body.code], [false, 'TOO_MANY_REQUESTS'])
  t.match(body.message, /event streams from this address \(at most 2\)/)
  t.equal(s.checks(), checks, 'no upstream call for a refused stream')
  t.equal(s.app.tracking.stats().streamsRefused, 1)

  // A browser's EventSource gives up on a non-200 answer: intended here (the bundled
  // client probes the order and retries on its own backoff).
  const es = new EventSource(`${s.url}/orders/${code}/subscribe`)
  t.teardown(() => { es.close() })
  await new Promise<void>((resolve) => { es.addEventListener('error', () => { resolve() }, { once: true }) })
  t.equal(es.readyState, EventSource.CLOSED, 'EventSource stopped for good on the 429')

  a.close()
  await waitFor(() => s.app.tracking.stats().subscribers === 1, 'a to be gone')
  const c = await openRaw(`${s.url}/orders/${code}/subscribe`)
  t.equal(c.status, 200, 'a slot frees when a stream of that IP ends')
  b.close()
  c.close()
  await waitFor(() => s.app.tracking.stats().subscribers === 0, 'every stream to be gone')
})

t.test('subscriptions count from admission: a burst cannot slip past the limit while first checks run', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { sseMaxConnectionsPerIp: 2 } })
  const code = await createOrder(s.sim)
  s.sim.control.fail({ mode: 'slow', count: 1, route: '/v1/orders/check', delayMs: 60 })
  const answers = await Promise.all([0, 1, 2, 3].map(async () => await fetch(`${s.url}/orders/${code}/subscribe`, { headers: streamHeaders() })))
  const statuses = answers.map((r) => r.status).sort()
  t.same(statuses, [200, 200, 429, 429])
  for (const r of answers) await r.body?.cancel()
  t.equal(s.checks(), 1, 'the admitted ones shared one check')
})

t.test('the client IP is request.ip: X-Forwarded-For counts only behind a trusted proxy', async (t) => {
  await t.test('TRUST_PROXY set: one limit per forwarded client', async (t) => {
    const s = await build(t, { clock: 'manual', fast: true, config: { sseMaxConnectionsPerIp: 1, trustProxy: ['127.0.0.1'] } })
    const code = await createOrder(s.sim)
    const one = await openRaw(`${s.url}/orders/${code}/subscribe`, { 'x-forwarded-for': '203.0.113.1' })
    t.equal(one.status, 200)
    const again = await fetch(`${s.url}/orders/${code}/subscribe`, { headers: streamHeaders({ 'x-forwarded-for': '203.0.113.1' }) })
    t.equal(again.status, 429, 'the same client behind the proxy')
    await again.body?.cancel()
    const other = await openRaw(`${s.url}/orders/${code}/subscribe`, { 'x-forwarded-for': '203.0.113.2' })
    t.equal(other.status, 200, 'another client behind the same proxy')
    one.close()
    other.close()
  })
  await t.test('TRUST_PROXY unset: the header is ignored', async (t) => {
    const s = await build(t, { clock: 'manual', fast: true, config: { sseMaxConnectionsPerIp: 1 } })
    const code = await createOrder(s.sim)
    const one = await openRaw(`${s.url}/orders/${code}/subscribe`, { 'x-forwarded-for': '203.0.113.1' })
    t.equal(one.status, 200)
    const spoofed = await fetch(`${s.url}/orders/${code}/subscribe`, { headers: streamHeaders({ 'x-forwarded-for': '203.0.113.2' }) })
    t.equal(spoofed.status, 429, 'a forged header does not buy another slot')
    await spoofed.body?.cancel()
    one.close()
  })
})

t.test('at the global cap a stream is shed with 200, a long retry: and OVERLOADED, so browsers come back later', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { sseMaxConnections: 2, sseMaxConnectionsPerIp: 100 } })
  const code = await createOrder(s.sim)
  const a = await openRaw(`${s.url}/orders/${code}/subscribe`)
  const b = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await a.next(isSnapshot)
  await b.next(isSnapshot)
  const checks = s.checks()

  const shed = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await waitFor(() => shed.ended(), 'the shed stream to end')
  t.equal(shed.status, 200, 'not a 503: EventSource would stop for good')
  t.equal(shed.headers['content-type'], 'text/event-stream')
  t.same(shed.events.map((e) => e.event), ['retry', 'tracking'], 'a retry hint and the reason, no snapshot')
  const retry = (shed.events[0] as SseEvent).retry ?? 0
  t.ok(retry >= OVERLOAD_RETRY_MS && retry <= OVERLOAD_RETRY_MS + OVERLOAD_JITTER_MS, `retry: ${retry} is ${OVERLOAD_RETRY_MS} ms plus jitter`)
  const state = JSON.parse((shed.events[1] as SseEvent).data ?? '') as { state: string, reason: string, message: string, next_check_at: number }
  t.same([state.state, state.reason], ['degraded', 'OVERLOADED'])
  t.type(state.message, 'string')
  t.equal(state.next_check_at, Math.ceil((s.clock.now() + retry) / 1000), 'next_check_at: when the browser reconnects, epoch seconds')
  t.equal(s.checks(), checks, 'no upstream call for a shed stream')
  t.equal(s.app.tracking.stats().streamsShed, 1)
  t.equal(s.app.tracking.stats().subscribers, 2)

  // A browser-like client is not switched off: it reconnects by itself later.
  const es = new EventSource(`${s.url}/orders/${code}/subscribe`)
  t.teardown(() => { es.close() })
  const reason = await new Promise<string>((resolve) => {
    es.addEventListener('tracking', (e) => { resolve((JSON.parse(e.data) as { reason: string }).reason) }, { once: true })
  })
  t.equal(reason, 'OVERLOADED')
  await new Promise<void>((resolve) => { es.addEventListener('error', () => { resolve() }, { once: true }) })
  t.equal(es.readyState, EventSource.CONNECTING, 'EventSource will reconnect after the retry: delay')
  es.close()

  a.close()
  await waitFor(() => s.app.tracking.stats().subscribers === 1, 'a slot to free')
  const c = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await c.next(isSnapshot)
  t.notOk(c.events.some(isTracking), 'below the cap again: an ordinary stream')
  b.close()
  c.close()
})

t.test('metrics show refused and shed streams', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { sseMaxConnections: 1, sseMaxConnectionsPerIp: 1 } })
  const code = await createOrder(s.sim)
  const a = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await a.next(isSnapshot)
  const refused = await fetch(`${s.url}/orders/${code}/subscribe`, { headers: streamHeaders() })
  t.equal(refused.status, 429, 'the per-IP limit is checked first')
  await refused.body?.cancel()
  const metrics = await (await fetch(`${s.url}/metrics`)).text()
  const sample = (name: string): number | undefined => {
    const line = metrics.split('\n').find((l) => l.startsWith(`${name} `))
    return line === undefined ? undefined : Number(line.split(' ')[1])
  }
  t.equal(sample('trackgate_tracking_streams_refused_total'), 1)
  t.equal(sample('trackgate_tracking_streams_shed_total'), 0)
  t.equal(sample('trackgate_tracking_streams_stalled_total'), 0)
  t.equal(sample('trackgate_tracking_streams_rotated_total'), 0)
  t.equal(s.sim.control.stats().byRoute[CHECK_ROUTE], 1)
  a.close()
})

t.test('the bundled browser client gets past a per-IP refusal by itself', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { sseMaxConnectionsPerIp: 1 } })
  const code = await createOrder(s.sim)
  const holder = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await holder.next(isSnapshot)

  const updates: string[] = []
  const errors: Array<{ code: string, fatal: boolean }> = []
  const stop = trackOrder(code, {
    baseUrl: s.url,
    EventSource,
    backoff: { initialMs: 100, maxMs: 400, jitter: 0 },
    onUpdate: (order) => { updates.push(`${order.version}:${order.status}`) },
    onError: (err) => { errors.push({ code: err.code, fatal: err.fatal }) }
  })
  t.teardown(stop)
  // Refused (429): it probes the order (served from the poller's snapshot), shows
  // it, and retries the stream on its backoff rather than giving up.
  await waitFor(() => errors.length >= 2, 'the refused stream to be retried')
  t.ok(errors.every((e) => e.code === 'STREAM_REFUSED' && !e.fatal), 'never fatal')
  t.same(updates, ['1:WaitingForPayment'], 'the order is shown meanwhile')
  t.ok(s.app.tracking.stats().streamsRefused >= 2)

  holder.close()
  await waitFor(() => s.app.tracking.stats().subscribers === 1, 'the client to get the freed slot')
  s.sim.control.pay(code)
  await waitFor(() => updates.includes('2:Confirming'), 'the next change, live')
})
