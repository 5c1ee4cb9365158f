/**
 * Upstream failures as clients see them, over real HTTP: unreachable or reset → 502
 * UPSTREAM_UNAVAILABLE, no answer in time → 504 UPSTREAM_TIMEOUT, garbage → 502
 * UPSTREAM_BAD_RESPONSE, all in the envelope; retries only before upstream saw the request; the
 * daily quota never overshot.
 */
import t, { type Test } from 'tap'
import { createServer, type AddressInfo } from 'node:net'
import { build } from '../../helpers/build.js'
import { TOKEN_AUTH } from '../../helpers/fixtures.js'
import { request, type HttpReply } from '../../helpers/http.js'

const MIXER = {
  addresses: [{ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: '100', delay: '0' }],
  amount: '1',
  crypto: 'btc',
  network: 'btc'
}

function envelope (t: Test, answer: HttpReply, status: number, code: string): void {
  t.equal(answer.status, status, `HTTP ${status}`)
  t.equal(answer.json.ok, false)
  t.equal(answer.json.code, code)
  t.type(answer.json.message, 'string')
}

t.test('reset: 502 UPSTREAM_UNAVAILABLE; never retried, GET or create', async (t) => {
  // Changed with issue 10: a reset comes after the request was sent (upstream may have
  // counted it), so a GET is no longer retried either.
  const { sim, gw } = await build(t)
  sim.control.fail({ mode: 'reset', count: 3, route: 'GET /v1/meta/exchange' })
  envelope(t, await request(`${gw.url}/v1/meta/exchange`), 502, 'UPSTREAM_UNAVAILABLE')
  t.equal(sim.control.stats().byRoute['GET /v1/meta/exchange'], 1, 'one attempt')

  await request(`${gw.url}/v1/meta/mixer`) // the amount pre-check's meta, now cached
  sim.control.resetStats()
  sim.control.fail({ mode: 'reset', count: 1, route: 'POST /v1/mixer/orders' })
  envelope(t, await request(`${gw.url}/v1/mixer/orders`, { body: MIXER }), 502, 'UPSTREAM_UNAVAILABLE')
  t.equal(sim.control.stats().byRoute['POST /v1/mixer/orders'], 1, 'one attempt: a create is never repeated')
  t.equal(sim.control.listOrders().length, 0)
})

t.test('a reset once: the check is answered 502, and asking again succeeds', async (t) => {
  // Changed with issue 10: the reset is no longer retried by the gateway; the client asks again.
  const { sim, gw } = await build(t)
  sim.control.fail({ mode: 'reset', count: 1, route: 'POST /v1/orders/check' })
  const created = await request(`${gw.url}/v1/mixer/orders`, { body: MIXER })
  envelope(t, await request(`${gw.url}/v1/orders/check`, { body: { trackcode: created.json.trackcode } }), 502, 'UPSTREAM_UNAVAILABLE')
  const check = await request(`${gw.url}/v1/orders/check`, { body: { trackcode: created.json.trackcode } })
  t.equal(check.status, 200)
  t.equal(check.json.trackcode, created.json.trackcode)
  t.equal(sim.control.stats().byRoute['POST /v1/orders/check'], 2)
})

t.test('upstream not listening: 502 UPSTREAM_UNAVAILABLE', async (t) => {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const { gw } = await build(t, { upstream: `http://127.0.0.1:${port}/v1` })
  envelope(t, await request(`${gw.url}/v1/ping`), 502, 'UPSTREAM_UNAVAILABLE')
  envelope(t, await request(`${gw.url}/v1/orders/check`, { body: { trackcode: '6A5FB3BA8A150EC9' } }), 502, 'UPSTREAM_UNAVAILABLE')
})

t.test('no answer within UPSTREAM_TIMEOUT_MS: 504 UPSTREAM_TIMEOUT', async (t) => {
  const { sim, gw } = await build(t, { config: { upstreamTimeoutMs: 300 } })
  sim.control.fail({ mode: 'hang', count: 1, route: 'POST /v1/orders/check' })
  envelope(t, await request(`${gw.url}/v1/orders/check`, { body: { trackcode: '6A5FB3BA8A150EC9' } }), 504, 'UPSTREAM_TIMEOUT')
  t.equal(sim.control.stats().byRoute['POST /v1/orders/check'], 1, 'a timeout is not retried')

  sim.control.fail({ mode: 'slow', count: 1, route: 'GET /v1/ping', delayMs: 200 })
  envelope(t, await request(`${gw.url}/v1/ping`), 504, 'UPSTREAM_TIMEOUT')
})

t.test('HTML, broken JSON or a cut body: 502', async (t) => {
  const { sim, gw } = await build(t)
  sim.control.fail({ mode: 'html', count: 1, route: 'GET /v1/ping' })
  envelope(t, await request(`${gw.url}/v1/ping`), 502, 'UPSTREAM_BAD_RESPONSE')
  sim.control.fail({ mode: 'badjson', count: 1, route: 'GET /v1/prices' })
  envelope(t, await request(`${gw.url}/v1/prices`), 502, 'UPSTREAM_BAD_RESPONSE')
  sim.control.fail({ mode: 'truncated', count: 1, route: 'POST /v1/orders/delete' })
  const cut = await request(`${gw.url}/v1/orders/delete`, { body: { trackcode: '6A5FB3BA8A150EC9' }, headers: TOKEN_AUTH })
  t.equal(cut.status, 502)
  t.match(cut.json.code, /^UPSTREAM_(UNAVAILABLE|BAD_RESPONSE)$/)
})

t.test('5xx: forwarded at once, GET or create (never retried)', async (t) => {
  // Changed with issue 10: a 5xx was retried for GETs; upstream may have counted it.
  const { sim, gw } = await build(t)
  sim.control.fail({ mode: 'status503', count: 2, route: 'GET /v1/ping' })
  const ping = await request(`${gw.url}/v1/ping`)
  t.equal(ping.status, 503, 'upstream\'s 503, forwarded')
  t.equal(sim.control.stats().byRoute['GET /v1/ping'], 1, 'one attempt')

  await request(`${gw.url}/v1/meta/mixer`)
  sim.control.resetStats()
  sim.control.fail({ mode: 'status500', count: 1, route: 'POST /v1/mixer/orders' })
  const create = await request(`${gw.url}/v1/mixer/orders`, { body: MIXER })
  t.equal(create.status, 500)
  t.same(create.json, { ok: false, code: 'SERVER_ERROR', message: 'Internal server error' }, 'upstream\'s envelope')
  t.equal(sim.control.stats().byRoute['POST /v1/mixer/orders'], 1)
})

t.test('the daily quota: REST calls stop at their partition, creates have the reserve, nothing overshoots', async (t) => {
  // Partitions: create 1, rest 2, poll 1. Changed with issue 10: deletes use `rest`, not the reserve.
  const { sim, gw } = await build(t, { config: { dailyQuota: 4, quotaReserve: 1, quotaPollShare: 0.25 } })
  t.equal((await request(`${gw.url}/v1/meta/mixer`)).status, 200)
  t.equal((await request(`${gw.url}/v1/prices`)).status, 200)
  sim.control.resetStats()
  const refused = await request(`${gw.url}/v1/orders/check`, { body: { trackcode: '6A5FB3BA8A150EC9' } })
  envelope(t, refused, 429, 'TOO_MANY_REQUESTS')
  t.match(refused.headers.get('retry-after'), /^\d+$/, 'Retry-After')
  t.equal(sim.control.stats().total, 0, 'refused locally: no upstream call')

  t.equal((await request(`${gw.url}/v1/meta/mixer`)).status, 200, 'cached answers are still served')
  const created = await request(`${gw.url}/v1/mixer/orders`, { body: MIXER })
  t.equal(created.status, 200, 'a create uses the reserve')
  envelope(t, await request(`${gw.url}/v1/orders/delete`, { body: { trackcode: created.json.trackcode }, headers: TOKEN_AUTH }), 429, 'TOO_MANY_REQUESTS')
  envelope(t, await request(`${gw.url}/v1/mixer/orders`, { body: MIXER }), 429, 'TOO_MANY_REQUESTS')
  t.equal(sim.control.stats().total, 1, 'a delete does not take the reserve')
  t.same((await gw.app.state.quota.state()).partitions.poll, { limit: 1, used: 0, remaining: 1 }, 'and nothing took the pollers\' slot')
})

t.test('upstream TOO_MANY_REQUESTS is forwarded, then calls pause without reaching upstream', async (t) => {
  const { sim, gw } = await build(t)
  sim.control.fail({ mode: 'too_many', count: 1, route: 'GET /v1/prices' })
  const first = await request(`${gw.url}/v1/prices`)
  t.equal(first.status, 429)
  t.same(first.json, { ok: false, code: 'TOO_MANY_REQUESTS', message: 'Daily request limit reached' }, 'upstream\'s answer')
  sim.control.resetStats()
  const second = await request(`${gw.url}/v1/meta/exchange`)
  envelope(t, second, 429, 'TOO_MANY_REQUESTS')
  t.ok(Number(second.headers.get('retry-after')) > 0)
  t.equal(sim.control.stats().total, 0)
  t.equal((await request(`${gw.url}/v1/ping`)).status, 200, 'unauthenticated calls go on')
})
