/**
 * Order tokens (src/access/order-token.ts): what they are, the secret they need, and the
 * creator getting its order's token — on the first answer and on an `Idempotency-Key`
 * replay — while the body stays byte for byte upstream's and the order becomes known.
 */
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { OrderTokens } from '../../src/access/order-token.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { KNOWN_ORDER_TTL_MS } from '../../src/state/orders/index.js'
import { build } from '../helpers/build.js'
import { sendJson, startFakeUpstream } from '../helpers/fake-upstream.js'
import { ORDER_TOKEN_SECRET, exchangeOrder, mixerOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'

const TRACKCODE = '6A5FB3BA8A150EC9'

t.test('an order token is the HMAC of its trackcode under the secret, 43 base64url characters', async (t) => {
  const tokens = new OrderTokens(ORDER_TOKEN_SECRET)
  const token = tokens.mint(TRACKCODE)
  t.match(token, /^[A-Za-z0-9_-]{43}$/)
  t.equal(new OrderTokens(ORDER_TOKEN_SECRET).mint(TRACKCODE), token, 'the same on every instance with the secret')
  t.ok(tokens.verify(TRACKCODE, token))
  t.notOk(tokens.verify('6A5FB3BA8A150EC8', token), 'another order')
  t.notOk(tokens.verify(TRACKCODE, `${token.slice(0, -1)}A` === token ? `${token.slice(0, -1)}B` : `${token.slice(0, -1)}A`), 'one character off')
  t.notOk(tokens.verify(TRACKCODE, token.slice(0, 20)), 'a prefix')
  t.notOk(tokens.verify(TRACKCODE, ''), 'empty')
  t.notOk(new OrderTokens(`${ORDER_TOKEN_SECRET}-other`).verify(TRACKCODE, token), 'another secret')
  t.not(new OrderTokens(undefined).mint(TRACKCODE), new OrderTokens(undefined).mint(TRACKCODE), 'unset: a random secret per process')
})

t.test('ORDER_TOKEN_SECRET: required in production and with Redis, at least 32 characters', async (t) => {
  const production = { NODE_ENV: 'production', SECRETCRYPTOS_API_KEY: 'k' }
  t.throws(() => loadConfig(production), /ORDER_TOKEN_SECRET: required with NODE_ENV=production/)
  t.throws(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }), /ORDER_TOKEN_SECRET: required with REDIS_URL/)
  t.throws(() => loadConfig({ ORDER_TOKEN_SECRET: 'short' }), ConfigError)
  t.equal(loadConfig({ ...production, ORDER_TOKEN_SECRET }).orderTokenSecret, ORDER_TOKEN_SECRET)
  t.equal(loadConfig({}).orderTokenSecret, undefined, 'development: may stay unset')
})

t.test('unset in development: a random secret and one warning at start', async (t) => {
  const { gw } = await build(t, { config: { orderTokenSecret: undefined }, logs: true })
  const warnings = gw.logs.filter((l) => /ORDER_TOKEN_SECRET/.test(l.msg))
  t.equal(warnings.length, 1)
  const token = gw.app.orderTokens.mint(TRACKCODE)
  t.not(token, new OrderTokens(ORDER_TOKEN_SECRET).mint(TRACKCODE))
  t.ok(gw.app.orderTokens.verify(TRACKCODE, token))
  const { gw: configured } = await build(t, { logs: true })
  t.equal(configured.logs.filter((l) => /ORDER_TOKEN_SECRET/.test(l.msg)).length, 0, 'no warning with a secret')
})

for (const route of [{ path: '/v1/mixer/orders', body: mixerOrder() }, { path: '/v1/exchange/orders', body: exchangeOrder() }]) {
  t.test(`${route.path}: the creator gets the order token, on the answer and on its replay; the order becomes known`, async (t) => {
    const { sim, gw } = await build(t)
    const key = randomUUID()
    const first = await request(`${gw.url}${route.path}`, { body: route.body, headers: { 'idempotency-key': key } })
    t.equal(first.status, 200, first.text)
    const trackcode: string = first.json.trackcode
    t.equal(first.headers.get('trackgate-order-token'), gw.app.orderTokens.mint(trackcode))
    t.notOk('order_token' in first.json, 'the body is upstream\'s, nothing added')

    const known = await gw.app.state.orders.get(trackcode)
    t.match(known, { source: 'created', by: 'ip:127.0.0.1' })

    const creates = (): number => sim.control.stats().byRoute[`POST ${route.path}`] ?? 0
    t.equal(creates(), 1)
    const replay = await request(`${gw.url}${route.path}`, { body: route.body, headers: { 'idempotency-key': key } })
    t.equal(replay.headers.get('idempotent-replayed'), 'true')
    t.equal(replay.text, first.text, 'the same bytes')
    t.equal(replay.headers.get('trackgate-order-token'), first.headers.get('trackgate-order-token'), 'the replay carries the order token too')
    t.equal(creates(), 1, 'no second create')

    const refused = await request(`${gw.url}${route.path}`, { body: { nonsense: true } })
    t.equal(refused.status, 400)
    t.equal(refused.headers.get('trackgate-order-token'), null, 'no token on a refusal')
  })
}

t.test('the body of a create is upstream\'s, byte for byte, beside the order token header', async (t) => {
  const body = '{ "ok": true,\n  "type": "mixer", "trackcode": "6A5FB3BA8A150EC9", "fee": 1.50, "new_field": [1] }'
  const upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, body))
  t.teardown(upstream.close)
  const { gw } = await build(t, { upstream: upstream.baseUrl })
  const res = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })
  t.equal(res.status, 200)
  t.equal(res.text, body, 'untouched')
  t.equal(res.headers.get('trackgate-order-token'), gw.app.orderTokens.mint(TRACKCODE))
  const known = await gw.app.state.orders.get(TRACKCODE)
  t.equal(known?.source, 'created')
  t.ok(KNOWN_ORDER_TTL_MS > 48 * 3600_000, 'known orders outlive upstream\'s 48 h retention')
})
