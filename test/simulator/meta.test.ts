import t from 'tap'
import { build } from '../helpers/build.js'
import { AUTH, T0 } from '../helpers/fixtures.js'
import { get, post } from '../helpers/simulator-requests.js'

const JSON_TYPE = 'application/json; charset=utf-8'

t.test('GET /v1/ping needs no key', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const res = await get(s, '/v1/ping', {})
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], JSON_TYPE)
  t.same(res.json, { ok: true, service: 'SecretCryptos API', version: '1.2.6', ts: T0 / 1000 })
  t.equal(s.control.stats().quotaUsed.SIM_KEY, undefined)
})

t.test('GET /v1/meta lists the nine endpoints', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const res = await get(s, '/v1/meta', {})
  t.equal(res.status, 200)
  t.equal(res.json.ok, true)
  t.equal(res.json.version, '1.2.6')
  t.same(res.json.server_time, { iso: '2025-08-20T16:00:00+00:00', unix: T0 / 1000 })
  t.same(res.json.docs, { html: 'https://secretcryptos.com/api' })
  t.equal(res.json.endpoints.length, 9)
  const byPath = Object.fromEntries(res.json.endpoints.map((e: { path: string, method: string, auth: boolean }) => [e.path, [e.method, e.auth]]))
  t.same(byPath, {
    '/v1/ping': ['GET', false],
    '/v1/meta/mixer': ['GET', true],
    '/v1/meta/exchange': ['GET', true],
    '/v1/mixer/orders': ['POST', true],
    '/v1/exchange/orders': ['POST', true],
    '/v1/orders/check': ['POST', true],
    '/v1/orders/delete': ['POST', true],
    '/v1/prices': ['GET', true],
    '/v1/validate': ['POST', false]
  })
  for (const e of res.json.endpoints) t.type(e.name, 'string') && t.type(e.desc, 'string')
})

t.test('GET /v1/meta/mixer has the documented shape and types', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const res = await get(s, '/v1/meta/mixer')
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], JSON_TYPE)
  t.same(res.json.mixer.BTC, {
    name: 'Bitcoin',
    symbol: '₿',
    service_fee: 0.1,
    maintenance: 0,
    per_address_fee: '0.00005000',
    decimals: 8,
    confirmations: 1,
    networks: { btc: { label: 'Bitcoin (BTC)', min: 0.001, max: 20 } }
  })
  t.same(Object.keys(res.json.mixer.USDT.networks), ['erc20', 'trc20'])
  for (const ticker of ['BTC', 'ETH', 'USDT', 'LTC', 'DOGE', 'SOL', 'XRP', 'TON']) {
    const c = res.json.mixer[ticker]
    t.ok(c, ticker)
    t.type(c.service_fee, 'number')
    t.match(c.per_address_fee, /^\d+\.\d{8}$/)
    for (const n of Object.values(c.networks) as Array<{ min: number, max: number }>) {
      t.type(n.min, 'number')
      t.ok(n.min < n.max)
    }
  }
})

t.test('GET /v1/meta/exchange has the documented shape and types', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const res = await get(s, '/v1/meta/exchange')
  t.equal(res.status, 200)
  const ex = res.json.exchange
  t.equal(ex.maintenance, 0)
  t.equal(ex.prices_usd.BTC, '117799.51713382')
  t.equal(ex.prices_usd.ETH, '4409.46254479')
  for (const p of Object.values(ex.prices_usd)) t.match(p, /^\d+\.\d{8}$/)
  t.same(ex.outputs.BTC, {
    name: 'Bitcoin',
    symbol: '₿',
    networks: { btc: { label: 'Bitcoin (BTC)', min_usd: '100', max_usd: '182520', service_fee: '0.5' } }
  })
  t.same(ex.outputs.DOGE.networks.doge, { label: 'Dogecoin (DOGE)', min_usd: '100', max_usd: '88565', service_fee: '0.5' })
  t.same(Object.keys(ex.outputs.USDT.networks), ['erc20', 'trc20'])
})

t.test('GET /v1/prices', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const all = await get(s, '/v1/prices')
  t.equal(all.status, 200)
  t.equal(all.json.base, 'USD')
  t.equal(all.json.ts, T0 / 1000)
  t.same(Object.keys(all.json.prices), ['BTC', 'ETH', 'USDT', 'LTC', 'DOGE', 'SOL', 'XRP', 'TON', 'TRX'])

  const some = await get(s, '/v1/prices?symbols=btc,ETH,NOPE,eth')
  t.same(some.json, { ok: true, base: 'USD', ts: T0 / 1000, prices: { BTC: '117799.51713382', ETH: '4409.46254479' } })

  const empty = await get(s, '/v1/prices?symbols=')
  t.equal(Object.keys(empty.json.prices).length, 9)

  for (const bad of ['BTC;ETH', 'BTC,,ETH', ',BTC', 'BTC-ETH', 'B%20T%20C']) {
    const res = await get(s, `/v1/prices?symbols=${bad}`)
    t.equal(res.status, 400, bad)
    t.equal(res.json.code, 'BAD_REQUEST', bad)
    t.match(res.json.message, /symbols/, bad)
  }
  const twice = await get(s, '/v1/prices?symbols=BTC&symbols=ETH')
  t.equal(twice.status, 400)
})

t.test('?pretty=1 indents; default is compact', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const pretty = await get(s, '/v1/ping?pretty=1', {})
  t.equal(pretty.headers['content-type'], JSON_TYPE)
  t.equal(pretty.body, JSON.stringify(pretty.json, null, 2))
  const plain = await get(s, '/v1/ping', {})
  t.equal(plain.body, JSON.stringify(plain.json))
  const err = await get(s, '/v1/meta/mixer?pretty=1', {})
  t.equal(err.status, 401)
  t.equal(err.body, JSON.stringify(err.json, null, 2))
})

t.test('unknown routes and bad bodies get envelopes', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const missing = await get(s, '/v1/nope')
  t.equal(missing.status, 404)
  t.equal(missing.headers['content-type'], JSON_TYPE)
  t.equal(missing.json.ok, false)
  t.equal(missing.json.code, 'NOT_FOUND')
  t.type(missing.json.message, 'string')

  const wrongMethod = await get(s, '/v1/orders/check')
  t.equal(wrongMethod.status, 404)
  t.equal(wrongMethod.json.code, 'NOT_FOUND')

  const malformed = await s.app.inject({
    method: 'POST',
    url: '/v1/orders/check',
    headers: { ...AUTH, 'content-type': 'application/json' },
    payload: '{"trackcode": "6A5FB3BA8A150EC9",}'
  })
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.headers['content-type'], JSON_TYPE)
  t.same(malformed.json(), { ok: false, code: 'BAD_REQUEST', message: 'Malformed JSON body' })

  const notJson = await s.app.inject({
    method: 'POST',
    url: '/v1/orders/check',
    headers: { ...AUTH, 'content-type': 'text/plain' },
    payload: 'trackcode=6A5FB3BA8A150EC9'
  })
  t.equal(notJson.statusCode, 400)
  t.equal(notJson.json().code, 'BAD_REQUEST')

  const arrayBody = await post(s, '/v1/orders/check', ['6A5FB3BA8A150EC9'])
  t.equal(arrayBody.status, 400)
  t.equal(arrayBody.json.message, 'Request body must be a JSON object')

  const malformedValidate = await s.app.inject({
    method: 'POST',
    url: '/v1/validate',
    headers: { 'content-type': 'application/json' },
    payload: '{"signature":'
  })
  t.same(malformedValidate.json(), { ok: false, error: 'BAD_REQUEST', message: 'Malformed JSON body' })
})
