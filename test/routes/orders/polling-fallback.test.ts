/**
 * GET /orders/:trackcode, the polling fallback.
 */
import t from 'tap'
import { build } from '../../helpers/build.js'
import { createOrder } from '../../helpers/fixtures.js'
import { isSnapshot, isStop, openRaw } from '../../helpers/sse-reader.js'
import { waitFor } from '../../helpers/wait-for.js'

t.test('the fallback answers the same JSON as a message event, with when to poll again', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { pollWaitingPaymentMs: 30_000 } })
  const code = await createOrder(s.sim)
  const res = await fetch(`${s.url}/orders/${code}`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  const body = await res.text()
  const seconds = Number(res.headers.get('x-poll-after'))
  t.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 30, `X-Poll-After ${seconds}: within the waiting-for-payment interval`)
  t.equal(res.headers.get('cache-control'), `private, max-age=${seconds}`)
  t.equal(res.headers.get('etag'), '"1"')
  t.equal(s.checks(), 1)

  const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
  const event = await stream.next(isSnapshot)
  t.equal(event.data, body, 'byte for byte the data of the message event')
  t.equal(s.checks(), 1, 'the fresh snapshot served the subscriber too')
  stream.close()

  const again = await fetch(`${s.url}/orders/${code}`)
  t.equal(await again.text(), body)
  t.equal(s.checks(), 1, 'no new check while fresh')

  const notModified = await fetch(`${s.url}/orders/${code}`, { headers: { 'if-none-match': '"1"' } })
  t.equal(notModified.status, 304)
  t.equal(await notModified.text(), '')
  t.equal(notModified.headers.get('etag'), '"1"')
})

t.test('concurrent polls of a stale order share one check, and see changes as new versions', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { pollWaitingPaymentMs: 30_000, pollIntervalMs: 30_000 } })
  const code = await createOrder(s.sim)
  const many = await Promise.all(Array.from({ length: 20 }, async () => await fetch(`${s.url}/orders/${code}`)))
  t.ok(many.every((r) => r.status === 200))
  t.equal(s.checks(), 1, 'twenty concurrent polls, one check')

  s.sim.control.pay(code)
  s.clock.advance(31_000)
  const changed = await (await fetch(`${s.url}/orders/${code}`)).json() as { version: number, status: string }
  t.same([changed.version, changed.status], [2, 'Confirming'], 'stale after its interval: checked again, a new version')
  t.equal(s.checks(), 2)
})

t.test('with a poller running, the fallback reads its snapshot and points at its next check', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { pollIntervalMs: 200, pollWaitingPaymentMs: 200 } })
  const code = await createOrder(s.sim)
  const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await stream.next(isSnapshot)
  s.sim.control.pay(code)
  const confirming = await stream.next((e) => isSnapshot(e) && e.id === '2')
  const checks = s.checks()
  const res = await fetch(`${s.url}/orders/${code}`)
  t.equal(await res.text(), confirming.data)
  t.ok(s.checks() - checks <= 1, 'at most the poller\'s own check meanwhile')
  t.equal(res.headers.get('x-poll-after'), '1', 'the poller checks again within a second')
  stream.close()
})

t.test('a finished order is served from the final cache', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { finalCacheMs: 600_000 } })
  const code = await createOrder(s.sim)
  const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await stream.next(isSnapshot)
  s.sim.control.expire(code)
  await stream.next(isStop)
  await waitFor(() => stream.ended(), 'the stream to end')
  const checks = s.checks()
  const res = await fetch(`${s.url}/orders/${code}`)
  t.equal(res.status, 200)
  t.equal((await res.json() as { status: string }).status, 'Gone')
  t.equal(res.headers.get('x-poll-after'), '600', 'nothing will change: poll again when the final cache expires')
  t.equal(s.checks(), checks)
})

t.test('bad trackcodes and failing upstream are envelopes', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const bad = await fetch(`${s.url}/orders/not-a-code`)
  t.equal(bad.status, 400)
  t.match(await bad.json(), { ok: false, code: 'BAD_REQUEST', message: /^trackcode / })

  const code = await createOrder(s.sim)
  s.sim.control.fail({ mode: 'status503', count: 1, route: '/v1/orders/check' })
  const failing = await fetch(`${s.url}/orders/${code}`)
  t.equal(failing.status, 502)
  t.match(await failing.json(), { ok: false, code: 'UPSTREAM_UNAVAILABLE' })
  t.equal(s.checks(), 1, 'one check: a 5xx is not retried (changed with issue 10)')
})
