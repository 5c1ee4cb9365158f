/**
 * Upstream failing: streams stay open, are told in `tracking` events, and recover.
 */
import t from 'tap'
import { EventSource } from 'eventsource'
import { build } from '../helpers/build.js'
import { createOrder } from '../helpers/fixtures.js'
import { isSnapshot, isTracking, openRaw, withStatus, type SseEvent } from '../helpers/sse-reader.js'
import { waitFor } from '../helpers/wait-for.js'

const CHECK = '/v1/orders/check'
const tracking = (e: SseEvent): { state: string, reason: string | null, message: string, next_check_at: number } => JSON.parse(e.data ?? 'null')

t.test('subscribers survive a burst of upstream 5xx and resume', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const code = await createOrder(s.sim)
  const raw = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await raw.next(isSnapshot)

  const es = new EventSource(`${s.url}/orders/${code}/subscribe`)
  t.teardown(() => { es.close() })
  let opens = 0
  let errors = 0
  const statuses: string[] = []
  const states: string[] = []
  es.addEventListener('open', () => { opens++ })
  es.addEventListener('error', () => { errors++ })
  es.addEventListener('message', (e) => { statuses.push((JSON.parse(e.data) as { status: string }).status) })
  es.addEventListener('tracking', (e) => { states.push((JSON.parse(e.data) as { state: string }).state) })
  await waitFor(() => statuses.length === 1, 'the EventSource snapshot')

  // Two failed checks: a poller's check is one attempt (retry: false), the poller
  // itself backs off and tries again.
  s.sim.control.fail({ mode: 'status500', count: 2, route: CHECK })
  const degraded = await raw.next(isTracking)
  const d = tracking(degraded)
  t.equal(d.state, 'degraded')
  t.equal(d.reason, 'UPSTREAM_ERROR')
  t.type(d.message, 'string')
  t.ok(Number.isInteger(d.next_check_at), 'next_check_at is an integer')
  const nowS = s.clock.now() / 1000
  t.ok(d.next_check_at >= Math.floor(nowS) && d.next_check_at < nowS + 3600, `next_check_at ${d.next_check_at} is epoch seconds, soon after ${nowS}`)
  t.notOk(raw.text().includes('event: error'), 'never an `error` event')
  const live = await raw.next((e) => isTracking(e) && tracking(e).state === 'live')
  t.same({ ...tracking(live), next_check_at: 0, message: '' }, { state: 'live', reason: null, message: '', next_check_at: 0 })
  t.equal(raw.events.filter(isTracking).length, 2, 'one degraded event for the burst, one live event')
  t.equal(s.sim.control.stats().byStatus['500'], 2, 'each failed check was one upstream call: the upstream client did not retry it')

  s.sim.control.pay(code)
  await raw.next(withStatus('Confirming'))
  await waitFor(() => statuses.includes('Confirming'), 'the EventSource client to see the change')
  t.same(states, ['degraded', 'live'])
  t.equal(opens, 1, 'the EventSource never reconnected')
  t.equal(errors, 0)
  t.equal(raw.ended(), false, 'the stream stayed open')
  raw.close()
})

t.test('resets and timeouts are reported with their reason', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { upstreamTimeoutMs: 1500 } })
  const code = await createOrder(s.sim)
  const raw = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await raw.next(isSnapshot)

  s.sim.control.fail({ mode: 'reset', count: 3, route: CHECK })
  const reset = await raw.next(isTracking)
  t.equal(tracking(reset).reason, 'UPSTREAM_UNAVAILABLE')
  await raw.next((e) => isTracking(e) && tracking(e).state === 'live')

  const from = raw.events.length
  s.sim.control.fail({ mode: 'hang', count: 1, route: CHECK })
  const hang = await raw.next(isTracking, from)
  t.equal(tracking(hang).reason, 'UPSTREAM_TIMEOUT')
  await raw.next((e) => isTracking(e) && tracking(e).state === 'live', from)
  raw.close()
})

t.test('a failing first check is an error envelope, not a stream', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const code = await createOrder(s.sim)
  // One failure: a 5xx is no longer retried (changed with issue 10).
  s.sim.control.fail({ mode: 'status503', count: 1, route: CHECK })
  const res = await fetch(`${s.url}/orders/${code}/subscribe`, { headers: { accept: 'text/event-stream' } })
  t.equal(res.status, 502)
  t.match(await res.json(), { ok: false, code: 'UPSTREAM_UNAVAILABLE' })
  t.same([s.app.tracking.stats().pollers, s.app.tracking.stats().topics], [0, 0], 'nothing left running')

  const ok = await openRaw(`${s.url}/orders/${code}/subscribe`)
  t.equal(ok.status, 200, 'the next attempt works once upstream is back')
  await ok.next(isSnapshot)
  ok.close()
})

t.test('upstream TOO_MANY_REQUESTS pauses polling and newcomers are told', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const code = await createOrder(s.sim)
  const raw = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await raw.next(isSnapshot)
  s.sim.control.fail({ mode: 'too_many', count: 1, route: CHECK })
  const limited = await raw.next(isTracking)
  t.equal(tracking(limited).reason, 'RATE_LIMITED')
  t.ok((await s.app.state.quota.state()).pausedUntil > Date.now(), 'the shared quota is paused')
  const checks = s.checks()
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(s.checks(), checks, 'no check while paused')

  const late = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await late.next(isTracking)
  t.same(late.events.map((e) => e.event), ['retry', 'message', 'tracking'], 'a newcomer gets the snapshot, then the degraded state')
  t.equal(tracking(late.events[2] as SseEvent).reason, 'RATE_LIMITED')
  raw.close()
  late.close()
})
