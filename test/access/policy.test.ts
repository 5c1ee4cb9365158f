/**
 * The route policy (src/access/policy.ts, applied by src/plugins/access.ts), row by row,
 * over real HTTP against the simulator: anonymous callers refused where they must be —
 * 401 in the envelope, with no upstream call —, gateway tokens allowed, a token's
 * `routes` list enforced with 403, and order tokens accepted for their own order only.
 */
import t, { type Test } from 'tap'
import { accessOf, judge, requiredAccess, routeMatches, ROUTE_POLICY } from '../../src/access/policy.js'
import { hashToken } from '../../src/access/tokens.js'
import { buildApp } from '../../src/app.js'
import { build } from '../helpers/build.js'
import { BTC_A, TOKEN_AUTH, createOrder, mixerOrder, testConfig } from '../helpers/fixtures.js'
import { request, type HttpReply } from '../helpers/http.js'

const RESTRICTED_TOKEN = 'tg_cmVzdHJpY3RlZC10b2tlbi1vbmx5LWdldHMtdjEtMDA'
const RESTRICTED_AUTH = { authorization: `Bearer ${RESTRICTED_TOKEN}` }
const OTHER = '0123456789ABCDEF'

function refused (t: Test, res: HttpReply, status: 401 | 403, what: string): void {
  t.equal(res.status, status, `${what}: ${status}`)
  t.same(Object.keys(res.json ?? {}).filter((k) => k !== 'error'), ['ok', 'code', 'message'], `${what}: in the envelope`)
  t.equal(res.json?.code, status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', `${what}: its code`)
  if (status === 401) t.equal(res.headers.get('www-authenticate'), 'Bearer realm="trackgate"', `${what}: the challenge`)
}

t.test('the table: patterns, rows, and the body rule of unmasked checks', async (t) => {
  t.ok(routeMatches('*', 'DELETE', '/tracked-orders/:trackcode'))
  t.ok(routeMatches('POST /v1/*', 'POST', '/v1/orders/delete'))
  t.notOk(routeMatches('POST /v1/*', 'GET', '/v1/ping'))
  t.ok(routeMatches('GET /v1/*', 'HEAD', '/v1/ping'), 'HEAD follows GET')
  t.ok(routeMatches('* /tracked-orders*', 'PUT', '/tracked-orders/:trackcode'))
  t.notOk(routeMatches('POST /v1/orders/check', 'POST', '/v1/orders/checks'), 'no wildcard, exact URL')
  t.notOk(routeMatches('nonsense', 'GET', '/'))
  t.equal(accessOf('GET', '/docs/static/index.html'), 'public')
  t.equal(accessOf('GET', '/nowhere'), undefined)
  t.equal(requiredAccess('POST', '/v1/orders/check', { trackcode: OTHER }), 'public')
  t.equal(requiredAccess('POST', '/v1/orders/check', { trackcode: OTHER, mask_addresses: true }), 'public')
  t.equal(requiredAccess('POST', '/v1/orders/check', { trackcode: OTHER, mask_addresses: false }), 'owner')
  t.equal(requiredAccess('POST', '/v1/orders/delete', { trackcode: OTHER }), 'owner')
  t.equal(requiredAccess('POST', '/v1/validate', {}), 'token')
  const anonymous = { kind: 'anonymous', ip: '127.0.0.1' } as const
  const verify = (trackcode: string, token: string): boolean => token === `ok-${trackcode}`
  const base = { method: 'POST', url: '/v1/orders/delete', caller: anonymous, access: 'owner', trackcode: OTHER } as const
  t.same(judge({ ...base, orderToken: undefined }, verify).allowed, false)
  t.same(judge({ ...base, orderToken: `ok-${OTHER}` }, verify), { allowed: true })
  t.match(judge({ ...base, orderToken: 'ok-FFFFFFFFFFFFFFFF' }, verify), { allowed: false, status: 403 })
})

t.test('every route of the app has a row, and a route without one stops the app', async (t) => {
  // Built, not listening: routes may still be added.
  const app = await buildApp(testConfig('http://127.0.0.1:9/v1'), { logger: false })
  t.teardown(async () => { await app.close() })
  t.ok(Object.keys(ROUTE_POLICY).length >= 20)
  t.throws(() => app.get('/unclassified', async () => 'x'), /GET \/unclassified has no row in the route policy/)
})

t.test('anonymous callers: refused with 401 where the table says so, and no upstream call', async (t) => {
  const { sim, gw, calls } = await build(t)
  const trackcode = await createOrder(sim)
  const before = sim.control.stats().total

  refused(t, await request(`${gw.url}/v1/orders/delete`, { body: { trackcode } }), 401, 'delete')
  refused(t, await request(`${gw.url}/v1/validate`, { body: { signature: 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=' } }), 401, 'validate')
  refused(t, await request(`${gw.url}/v1/orders/check`, { body: { trackcode, mask_addresses: false } }), 401, 'unmasked check')
  refused(t, await request(`${gw.url}/orders/${trackcode}/token`, { method: 'POST' }), 401, 'mint an order token')
  refused(t, await request(`${gw.url}/tracked-orders/${trackcode}`, { method: 'PUT' }), 401, 'register')
  refused(t, await request(`${gw.url}/tracked-orders/${trackcode}`, { method: 'DELETE' }), 401, 'unregister')
  t.equal(sim.control.stats().total, before, 'not one upstream call for all these refusals')
  t.ok(sim.control.getOrder(trackcode), 'the order is still there')

  // A trackcode alone is no credential; an order token that is not this order's is refused.
  refused(t, await request(`${gw.url}/v1/orders/delete`, { body: { trackcode }, headers: { 'trackgate-order-token': 'x'.repeat(43) } }), 403, 'delete, a made-up order token')
  refused(t, await request(`${gw.url}/v1/orders/check`, { body: { trackcode, mask_addresses: false }, headers: { 'trackgate-order-token': gw.app.orderTokens.mint(OTHER) } }), 403, 'unmasked check, another order\'s token')
  t.equal(calls('POST /v1/orders/delete'), 0)
  t.equal(sim.control.stats().total, before, 'still no upstream call')

  // What stays open to them.
  const masked = await request(`${gw.url}/v1/orders/check`, { body: { trackcode, outputs: 'full' } })
  t.equal(masked.status, 200, 'a masked check is public')
  t.notOk(masked.text.includes(BTC_A), 'masked')
  t.equal((await request(`${gw.url}/v1/ping`)).status, 200)
  t.equal((await request(`${gw.url}/orders/${trackcode}`)).status, 200)
  t.equal((await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })).status, 200)
  t.equal((await request(`${gw.url}/healthz`)).status, 200)
  t.equal((await request(`${gw.url}/docs`)).status, 200)
})

t.test('a bad gateway token is refused everywhere, public routes included, never downgraded to anonymous', async (t) => {
  const { sim, gw } = await build(t)
  const before = sim.control.stats().total
  refused(t, await request(`${gw.url}/v1/ping`, { headers: { authorization: 'Bearer tg_unknownunknownunknownunknownunknownunknown' } }), 401, 'unknown token')
  refused(t, await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401, 'not a Bearer token')
  t.equal(sim.control.stats().total, before)
})

t.test('a gateway token may call every row; the order\'s token only its own order', async (t) => {
  const { sim, gw, calls } = await build(t)
  const created = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })
  const trackcode: string = created.json.trackcode
  const signature: string = created.json.signature_text
  const unmasked = await request(`${gw.url}/v1/orders/check`, { body: { trackcode, outputs: 'full', mask_addresses: false }, headers: TOKEN_AUTH })
  t.equal(unmasked.status, 200)
  t.ok(unmasked.text.includes(BTC_A), 'the addresses are unmasked')
  const minted = await request(`${gw.url}/orders/${trackcode}/token`, { method: 'POST', headers: TOKEN_AUTH })
  t.equal(minted.status, 200)
  t.same(minted.json, { ok: true, trackcode, order_token: gw.app.orderTokens.mint(trackcode) })
  t.equal(calls('POST /v1/orders/check'), 1, 'minting calls nobody upstream')
  const valid = await request(`${gw.url}/v1/validate`, { body: { signature }, headers: TOKEN_AUTH })
  t.equal(valid.status, 200, valid.text)

  // The customer holding the order token: unmasked check and delete of that order.
  const orderToken = minted.json.order_token as string
  const own = { 'trackgate-order-token': orderToken }
  const other = await createOrder(sim)
  const byOwner = await request(`${gw.url}/v1/orders/check`, { body: { trackcode, outputs: 'full', mask_addresses: false }, headers: own })
  t.equal(byOwner.status, 200)
  t.ok(byOwner.text.includes(BTC_A))
  refused(t, await request(`${gw.url}/v1/orders/delete`, { body: { trackcode: other }, headers: own }), 403, 'delete another order with it')
  t.equal(calls('POST /v1/orders/delete'), 0)
  refused(t, await request(`${gw.url}/v1/validate`, { body: { signature }, headers: own }), 401, 'validate with an order token')
  const deleted = await request(`${gw.url}/v1/orders/delete`, { body: { trackcode }, headers: own })
  t.equal(deleted.status, 200, deleted.text)
  t.equal(sim.control.getOrder(trackcode), undefined, 'deleted upstream')
  t.ok(sim.control.getOrder(other), 'the other order is untouched')
})

t.test('a token\'s routes list: anything outside it is 403, with no upstream call', async (t) => {
  const { sim, gw } = await build(t, {
    config: {
      gatewayTokens: [{ name: 'catalog-only', sha256: hashToken(RESTRICTED_TOKEN), routes: ['GET /v1/*', 'PUT /tracked-orders/*'] }]
    }
  })
  const trackcode = await createOrder(sim)
  t.equal((await request(`${gw.url}/v1/meta`, { headers: RESTRICTED_AUTH })).status, 200, 'in its list')
  t.equal((await request(`${gw.url}/tracked-orders/${trackcode}`, { method: 'PUT', headers: RESTRICTED_AUTH })).status, 200, 'in its list')
  const before = sim.control.stats().total
  refused(t, await request(`${gw.url}/v1/orders/delete`, { body: { trackcode }, headers: RESTRICTED_AUTH }), 403, 'delete')
  refused(t, await request(`${gw.url}/v1/orders/check`, { body: { trackcode }, headers: RESTRICTED_AUTH }), 403, 'even a public route outside its list')
  refused(t, await request(`${gw.url}/orders/${trackcode}`, { headers: RESTRICTED_AUTH }), 403, 'even a route open to anyone whatever the body')
  refused(t, await request(`${gw.url}/tracked-orders/${trackcode}`, { method: 'DELETE', headers: RESTRICTED_AUTH }), 403, 'another method of a listed path')
  t.equal(sim.control.stats().total, before, 'no upstream call')
  t.ok(sim.control.getOrder(trackcode))
})
