/**
 * Upstream failures as clients see them, over real HTTP: unreachable or reset → 502
 * UPSTREAM_UNAVAILABLE, no answer in time → 504 UPSTREAM_TIMEOUT, garbage → 502
 * UPSTREAM_BAD_RESPONSE, all in the envelope; retries only where they are safe; the
 * daily quota never overshot.
 */
import t, { type Test } from 'tap'
import { createServer, type AddressInfo } from 'node:net'
import type { Config } from '../../src/config.js'
import { startGateway, startStack, testConfig, type RunningGateway, type RunningSimulator } from '../helpers/harness.js'

const MIXER = {
  addresses: [{ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: '100', delay: '0' }],
  amount: '1',
  crypto: 'btc',
  network: 'btc'
}

interface Answer {
  status: number
  body: Record<string, unknown>
  headers: Headers
}

async function call (gw: RunningGateway, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(gw.url + path, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  })
  return { status: res.status, body: await res.json() as Record<string, unknown>, headers: res.headers }
}

async function stack (t: Test, overrides: Partial<Config> = {}): Promise<{ sim: RunningSimulator, gw: RunningGateway }> {
  const { sim, gw, close } = await startStack(overrides)
  t.teardown(close)
  return { sim, gw }
}

function envelope (t: Test, answer: Answer, status: number, code: string): void {
  t.equal(answer.status, status, `HTTP ${status}`)
  t.equal(answer.body.ok, false)
  t.equal(answer.body.code, code)
  t.type(answer.body.message, 'string')
}

t.test('reset: 502 UPSTREAM_UNAVAILABLE; GETs retried, creates never', async (t) => {
  const { sim, gw } = await stack(t)
  sim.control.fail({ mode: 'reset', count: 3, route: 'GET /v1/meta/exchange' })
  envelope(t, await call(gw, 'GET', '/v1/meta/exchange'), 502, 'UPSTREAM_UNAVAILABLE')
  t.equal(sim.control.stats().byRoute['GET /v1/meta/exchange'], 3, 'three attempts')

  await call(gw, 'GET', '/v1/meta/mixer') // the amount pre-check's meta, now cached
  sim.control.resetStats()
  sim.control.fail({ mode: 'reset', count: 1, route: 'POST /v1/mixer/orders' })
  envelope(t, await call(gw, 'POST', '/v1/mixer/orders', MIXER), 502, 'UPSTREAM_UNAVAILABLE')
  t.equal(sim.control.stats().byRoute['POST /v1/mixer/orders'], 1, 'one attempt: a create is never repeated')
  t.equal(sim.control.listOrders().length, 0)
})

t.test('a reset once, then an answer: the retried GET succeeds', async (t) => {
  const { sim, gw } = await stack(t)
  sim.control.fail({ mode: 'reset', count: 1, route: 'POST /v1/orders/check' })
  const created = await call(gw, 'POST', '/v1/mixer/orders', MIXER)
  const check = await call(gw, 'POST', '/v1/orders/check', { trackcode: created.body.trackcode })
  t.equal(check.status, 200)
  t.equal(check.body.trackcode, created.body.trackcode)
  t.equal(sim.control.stats().byRoute['POST /v1/orders/check'], 2)
})

t.test('upstream not listening: 502 UPSTREAM_UNAVAILABLE', async (t) => {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const gw = await startGateway(testConfig(`http://127.0.0.1:${port}/v1`))
  t.teardown(() => gw.app.close())
  envelope(t, await call(gw, 'GET', '/v1/ping'), 502, 'UPSTREAM_UNAVAILABLE')
  envelope(t, await call(gw, 'POST', '/v1/orders/check', { trackcode: '6A5FB3BA8A150EC9' }), 502, 'UPSTREAM_UNAVAILABLE')
})

t.test('no answer within UPSTREAM_TIMEOUT_MS: 504 UPSTREAM_TIMEOUT', async (t) => {
  const { sim, gw } = await stack(t, { upstreamTimeoutMs: 300 })
  sim.control.fail({ mode: 'hang', count: 1, route: 'POST /v1/orders/check' })
  envelope(t, await call(gw, 'POST', '/v1/orders/check', { trackcode: '6A5FB3BA8A150EC9' }), 504, 'UPSTREAM_TIMEOUT')
  t.equal(sim.control.stats().byRoute['POST /v1/orders/check'], 1, 'a timeout is not retried')

  sim.control.fail({ mode: 'slow', count: 1, route: 'GET /v1/ping', delayMs: 200 })
  envelope(t, await call(gw, 'GET', '/v1/ping'), 504, 'UPSTREAM_TIMEOUT')
})

t.test('HTML, broken JSON or a cut body: 502', async (t) => {
  const { sim, gw } = await stack(t)
  sim.control.fail({ mode: 'html', count: 1, route: 'GET /v1/ping' })
  envelope(t, await call(gw, 'GET', '/v1/ping'), 502, 'UPSTREAM_BAD_RESPONSE')
  sim.control.fail({ mode: 'badjson', count: 1, route: 'GET /v1/prices' })
  envelope(t, await call(gw, 'GET', '/v1/prices'), 502, 'UPSTREAM_BAD_RESPONSE')
  sim.control.fail({ mode: 'truncated', count: 1, route: 'POST /v1/orders/delete' })
  const cut = await call(gw, 'POST', '/v1/orders/delete', { trackcode: '6A5FB3BA8A150EC9' })
  t.equal(cut.status, 502)
  t.match(cut.body.code, /^UPSTREAM_(UNAVAILABLE|BAD_RESPONSE)$/)
})

t.test('5xx: forwarded after the retries of a GET; a create\'s is forwarded at once', async (t) => {
  const { sim, gw } = await stack(t)
  sim.control.fail({ mode: 'status503', count: 2, route: 'GET /v1/ping' })
  const ping = await call(gw, 'GET', '/v1/ping')
  t.equal(ping.status, 200, 'the third attempt answers')

  await call(gw, 'GET', '/v1/meta/mixer')
  sim.control.resetStats()
  sim.control.fail({ mode: 'status500', count: 1, route: 'POST /v1/mixer/orders' })
  const create = await call(gw, 'POST', '/v1/mixer/orders', MIXER)
  t.equal(create.status, 500)
  t.same(create.body, { ok: false, code: 'SERVER_ERROR', message: 'Internal server error' }, 'upstream\'s envelope')
  t.equal(sim.control.stats().byRoute['POST /v1/mixer/orders'], 1)
})

t.test('the daily quota: general calls stop at limit − reserve, creates may use the reserve, nothing overshoots', async (t) => {
  const { sim, gw } = await stack(t, { dailyQuota: 4, quotaReserve: 2 })
  t.equal((await call(gw, 'GET', '/v1/meta/mixer')).status, 200)
  t.equal((await call(gw, 'GET', '/v1/prices')).status, 200)
  sim.control.resetStats()
  const refused = await call(gw, 'POST', '/v1/orders/check', { trackcode: '6A5FB3BA8A150EC9' })
  envelope(t, refused, 429, 'TOO_MANY_REQUESTS')
  t.match(refused.headers.get('retry-after'), /^\d+$/, 'Retry-After')
  t.equal(sim.control.stats().total, 0, 'refused locally: no upstream call')

  t.equal((await call(gw, 'GET', '/v1/meta/mixer')).status, 200, 'cached answers are still served')
  const created = await call(gw, 'POST', '/v1/mixer/orders', MIXER)
  t.equal(created.status, 200, 'a create uses the reserve')
  const deleted = await call(gw, 'POST', '/v1/orders/delete', { trackcode: created.body.trackcode })
  t.equal(deleted.status, 200, 'so does a delete')
  envelope(t, await call(gw, 'POST', '/v1/mixer/orders', MIXER), 429, 'TOO_MANY_REQUESTS')
  t.equal(sim.control.stats().total, 2)
})

t.test('upstream TOO_MANY_REQUESTS is forwarded, then calls pause without reaching upstream', async (t) => {
  const { sim, gw } = await stack(t)
  sim.control.fail({ mode: 'too_many', count: 1, route: 'GET /v1/prices' })
  const first = await call(gw, 'GET', '/v1/prices')
  t.equal(first.status, 429)
  t.same(first.body, { ok: false, code: 'TOO_MANY_REQUESTS', message: 'Daily request limit reached' }, 'upstream\'s answer')
  sim.control.resetStats()
  const second = await call(gw, 'GET', '/v1/meta/exchange')
  envelope(t, second, 429, 'TOO_MANY_REQUESTS')
  t.ok(Number(second.headers.get('retry-after')) > 0)
  t.equal(sim.control.stats().total, 0)
  t.equal((await call(gw, 'GET', '/v1/ping')).status, 200, 'unauthenticated calls go on')
})
