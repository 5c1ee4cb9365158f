import t from 'tap'
import { build } from '../helpers/build.js'
import { SIM_KEY } from '../helpers/fixtures.js'
import { get, post } from '../helpers/simulator-requests.js'

const DAY = 24 * 3_600_000

t.test('missing, malformed and unknown keys → 401 UNAUTHORIZED', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const variants: Array<Record<string, string>> = [{}, { authorization: SIM_KEY }, { authorization: `Basic ${Buffer.from(SIM_KEY).toString('base64')}` }, { authorization: 'Bearer nope' }]
  for (const headers of variants) {
    const res = await get(s, '/v1/meta/mixer', headers)
    t.equal(res.status, 401, JSON.stringify(headers))
    t.equal(res.json.ok, false)
    t.equal(res.json.code, 'UNAUTHORIZED')
    t.type(res.json.message, 'string')
  }
  const lower = await get(s, '/v1/meta/mixer', { authorization: `bearer ${SIM_KEY}` })
  t.equal(lower.status, 200, 'the scheme is case-insensitive')
  for (const url of ['/v1/meta/exchange', '/v1/prices']) {
    t.equal((await get(s, url, {})).status, 401, url)
  }
  for (const url of ['/v1/mixer/orders', '/v1/exchange/orders', '/v1/orders/check', '/v1/orders/delete']) {
    const res = await post(s, url, {}, {})
    t.equal(res.status, 401, url)
    t.equal(res.json.code, 'UNAUTHORIZED', url)
  }
})

t.test('auth is checked before the body is parsed', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const res = await s.app.inject({ method: 'POST', url: '/v1/orders/check', headers: { 'content-type': 'application/json' }, payload: '{bad' })
  t.equal(res.statusCode, 401)
})

t.test('custom and disabled keys', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual', sim: { apiKeys: ['k1', 'k2'], disabledKeys: ['old'] } })
  t.equal((await get(s, '/v1/prices', { authorization: 'Bearer k2' })).status, 200)
  t.equal((await get(s, '/v1/prices', { authorization: `Bearer ${SIM_KEY}` })).status, 401)
  const off = await get(s, '/v1/prices', { authorization: 'Bearer old' })
  t.equal(off.status, 403)
  t.equal(off.json.code, 'FORBIDDEN')
})

t.test('/v1/validate works without a key but rejects a wrong one', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const none = await post(s, '/v1/validate', { signature: '' }, {})
  t.equal(none.status, 400)
  t.equal(none.json.error, 'BAD_REQUEST')
  const wrong = await post(s, '/v1/validate', { signature: '' }, { authorization: 'Bearer nope' })
  t.equal(wrong.status, 401)
  t.same(Object.keys(wrong.json), ['ok', 'error', 'message'])
  t.equal(wrong.json.error, 'UNAUTHORIZED')
  t.same(s.control.stats().quotaUsed, {}, 'no key, no quota')
  await post(s, '/v1/validate', { signature: '' })
  t.same(s.control.stats().quotaUsed, { [SIM_KEY]: 1 }, 'a valid key on validate uses quota')
})

t.test('daily quota over a rolling 24 h of simulated time', async (t) => {
  const { sim: s, clock } = await build(t, { instances: 0, clock: 'manual', sim: { dailyQuota: 3 } })
  await get(s, '/v1/prices')
  clock.advance(3_600_000)
  await get(s, '/v1/prices')
  await post(s, '/v1/orders/check', { trackcode: 'NOPE' })
  t.same(s.control.stats().quotaUsed, { [SIM_KEY]: 3 }, 'failed but authenticated calls count')
  t.equal((await get(s, '/v1/ping', {})).status, 200, 'no-auth routes are never limited')

  const over = await get(s, '/v1/prices')
  t.equal(over.status, 429)
  t.same(over.json, { ok: false, code: 'TOO_MANY_REQUESTS', message: 'Daily request limit of 3 reached for this API key' })
  t.equal((await get(s, '/v1/meta/mixer')).status, 429)
  t.equal(s.control.stats().quotaUsed[SIM_KEY], 3, 'refused calls use no quota')

  clock.advance(DAY - 3_600_000 - 1)
  t.equal((await get(s, '/v1/prices')).status, 429, 'the first call is still in the window')
  clock.advance(1)
  t.equal((await get(s, '/v1/prices')).status, 200, 'the first call left the window')
  t.equal((await get(s, '/v1/prices')).status, 429)
  clock.advance(3_600_000)
  t.equal((await get(s, '/v1/prices')).status, 200)
})

t.test('quota is per key', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual', sim: { apiKeys: ['a', 'b'], dailyQuota: 1 } })
  t.equal((await get(s, '/v1/prices', { authorization: 'Bearer a' })).status, 200)
  t.equal((await get(s, '/v1/prices', { authorization: 'Bearer a' })).status, 429)
  t.equal((await get(s, '/v1/prices', { authorization: 'Bearer b' })).status, 200)
  t.same(s.control.stats().quotaUsed, { a: 1, b: 1 })
})

t.test('stats count calls per route and status, not control calls', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  await get(s, '/v1/ping', {})
  await get(s, '/v1/prices')
  await get(s, '/v1/prices', {})
  await post(s, '/v1/orders/check', { trackcode: '0000000000000000' })
  await get(s, '/v1/nope')
  await get(s, '/_sim/stats')
  const stats = s.control.stats()
  t.equal(stats.total, 5)
  t.same(stats.byRoute, { 'GET /v1/ping': 1, 'GET /v1/prices': 2, 'POST /v1/orders/check': 1, 'GET /v1/nope': 1 })
  t.same(stats.byStatus, { 200: 2, 401: 1, 404: 2 })
  t.same(stats.quotaUsed, { [SIM_KEY]: 2 })

  s.control.resetStats()
  t.same(s.control.stats(), { total: 0, byRoute: {}, byStatus: {}, quotaUsed: { [SIM_KEY]: 2 } }, 'reset keeps the quota')
})
