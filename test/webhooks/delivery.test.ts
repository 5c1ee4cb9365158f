/**
 * Webhooks end to end: a token client registers a loopback receiver (allow-listed),
 * an order goes through its lifecycle on the simulator, and the receiver — verifying
 * every request with the `standardwebhooks` library — gets each transition once, in
 * order; a receiver failing for a while then back gets everything; URLs pointing at
 * internal addresses are refused without the allow-list; redirects are not followed.
 */
import t from 'tap'
import { createOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'
import { waitFor } from '../helpers/wait-for.js'
import { BEARER, EXPECTED, lifecycle, receiver, register, start, verified } from './fixtures.js'

t.test('every transition is delivered once, in order, signed', async (t) => {
  const s = await start(t)
  const rx = await receiver(t)
  const { secret, id } = await register(s, rx.url)
  t.match(secret, /^whsec_/)
  const code = await createOrder(s.sim)
  await lifecycle(s, code)
  await waitFor(() => rx.got.length >= EXPECTED.length, 'every event')
  const events = verified(secret, rx.got)
  t.same(events.map((e) => e.type), EXPECTED)
  t.equal(new Set(events.map((e) => e.id)).size, EXPECTED.length, 'unique ids')
  t.ok(events.every((e) => e.data.trackcode === code))
  t.equal(events.at(-1)?.data.status, 'Done')
  t.equal(rx.got[0]?.headers['webhook-id'], events[0]?.id)
  const listed = await request(`${s.url}/webhooks/${id}/deliveries`, { headers: BEARER })
  t.equal(listed.json.deliveries.length, EXPECTED.length)
  t.ok(listed.json.deliveries.every((d: { state: string }) => d.state === 'delivered'))
  const shown = await request(`${s.url}/webhooks/${id}`, { headers: BEARER })
  t.equal(shown.json.secret, undefined, 'the secret is never shown again')

  // Replay: the same event again, same webhook-id.
  const first = listed.json.deliveries.at(-1) as { id: string, event_id: string }
  const replay = await request(`${s.url}/webhooks/${id}/deliveries/${first.id}/replay`, { headers: BEARER, body: {} })
  t.equal(replay.status, 202)
  await waitFor(() => rx.got.length === EXPECTED.length + 1, 'the replay')
  t.equal(rx.got.at(-1)?.headers['webhook-id'], first.event_id)
})

t.test('finished deliveries are swept after the retention: no longer listed, a replay is a 404', async (t) => {
  const s = await start(t, ['127.0.0.1'], { config: { webhookDeliveryRetentionMs: 200, webhookRetryForMs: 200 } })
  const rx = await receiver(t)
  const { id } = await register(s, rx.url)
  const code = await createOrder(s.sim)
  await lifecycle(s, code)
  await waitFor(() => rx.got.length >= EXPECTED.length, 'every event')
  await waitFor(async () => (await request(`${s.url}/webhooks/${id}/deliveries`, { headers: BEARER })).json.deliveries.length === 0, 'the sweep')
  // dlv_1: the first delivery of this gateway's fresh store, delivered above.
  const replay = await request(`${s.url}/webhooks/${id}/deliveries/dlv_1/replay`, { headers: BEARER, body: {} })
  t.equal(replay.status, 404)
  t.match(replay.json, { ok: false, code: 'NOT_FOUND' })
  t.equal(rx.got.length, EXPECTED.length, 'nothing sent again')
})

t.test('a receiver failing for a while then back gets everything, in order', async (t) => {
  const s = await start(t)
  let up = false
  const rx = await receiver(t, () => up ? 200 : 503)
  const { secret, id } = await register(s, rx.url)
  const code = await createOrder(s.sim)
  await lifecycle(s, code)
  await waitFor(() => rx.got.length >= 3, 'a few failed attempts')
  const during = await request(`${s.url}/webhooks/${id}/deliveries`, { headers: BEARER })
  t.ok(during.json.deliveries.some((d: { attempts: number, last_status: number }) => d.attempts >= 1 && d.last_status === 503))
  const failedSoFar = rx.got.length
  up = true
  await waitFor(async () => (await request(`${s.url}/webhooks/${id}/deliveries`, { headers: BEARER })).json.deliveries.every((d: { state: string }) => d.state === 'delivered'), 'all delivered')
  const ok = rx.got.slice(failedSoFar)
  t.same(verified(secret, ok).map((e) => e.type), EXPECTED, 'after recovery: each once, in order')
  t.ok(verified(secret, rx.got.slice(0, failedSoFar)).every((e) => e.type === 'order.payment_seen'), 'while down, only the head of the queue was tried')
})

t.test('SSRF: internal targets are refused at registration; redirects are not followed', async (t) => {
  const s = await start(t, [])
  const refused = async (url: string): Promise<void> => {
    const res = await request(`${s.url}/webhooks`, { headers: BEARER, body: { url, events: ['order.completed'] } })
    t.equal(res.status, 400, url)
    t.equal(res.json?.code, 'BAD_REQUEST')
  }
  await refused('https://127.0.0.1/hook')
  await refused('http://127.0.0.1/hook')
  await refused('https://169.254.169.254/latest/meta-data/')
  await refused('https://[fd00:ec2::254]/')
  await refused('https://[::ffff:10.0.0.1]/')
  await refused('https://internal.example/hook')
  await refused('http://public.example/hook')
  const ok = await request(`${s.url}/webhooks`, { headers: BEARER, body: { url: 'https://public.example/hook', events: ['order.completed'] } })
  t.equal(ok.status, 201)
  const anonymous = await request(`${s.url}/webhooks`, { body: { url: 'https://public.example/hook', events: ['order.completed'] } })
  t.equal(anonymous.status, 401)
  t.equal(anonymous.json?.code, 'UNAUTHORIZED')

  const s2 = await start(t)
  const rx = await receiver(t, () => 302)
  const { id } = await register(s2, rx.url)
  const code = await createOrder(s2.sim)
  await waitFor(async () => (await request(`${s2.url}/orders/${code}`)).status === 200, 'first snapshot')
  s2.sim.control.pay(code)
  await waitFor(async () => {
    s2.clock.advance(200)
    return (await request(`${s2.url}/orders/${code}`)).json?.status === 'Confirming'
  }, 'Confirming')
  await waitFor(async () => (await request(`${s2.url}/webhooks/${id}/deliveries`, { headers: BEARER })).json.deliveries[0]?.last_status === 302, 'a 302 attempt')
  const d = (await request(`${s2.url}/webhooks/${id}/deliveries`, { headers: BEARER })).json.deliveries[0]
  t.equal(d.state, 'pending', 'a redirect is a failed attempt, retried at the same URL')
  t.ok(rx.got.every((r) => r.headers.host?.startsWith('127.0.0.1:')), 'never followed')
})
