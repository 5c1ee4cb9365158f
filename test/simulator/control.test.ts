import t from 'tap'
import { buildSimulator, createScaledClock } from '../../src/simulator/index.js'
import { build } from '../helpers/build.js'
import { SIM_KEY, T0 } from '../helpers/fixtures.js'
import { check, createMixer, get, post } from '../helpers/simulator-requests.js'

t.test('/_sim/orders: list, get, pay, expire (no API key needed)', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const order = await createMixer(s)
  const code: string = order.trackcode

  let res = await get(s, '/_sim/orders', {})
  t.equal(res.status, 200)
  t.equal(res.json.orders.length, 1)
  t.equal(res.json.orders[0].trackcode, code)

  res = await get(s, `/_sim/orders/${code}`, {})
  t.same({ ...res.json.order, depositAddress: 'x', outputs: res.json.order.outputs.length }, {
    trackcode: code,
    type: 'mixer',
    coin: 'btc',
    network: 'btc',
    depositAddress: 'x',
    depositAmount: '10.00000000',
    serviceFee: '0.45',
    partner: 'YOUR_PARTNER_KEY',
    received: '0.00000000',
    confirmStatus: 0,
    fullyFunded: false,
    startedAt: null,
    createdAt: T0,
    expiresAt: T0 + 48 * 3_600_000,
    deleteAt: T0 + 48 * 3_600_000,
    payments: [],
    outputs: 2
  })
  t.equal(res.json.order.depositAddress, order.deposit.address)
  t.equal((await get(s, '/_sim/orders/0000000000000000', {})).status, 404)

  res = await post(s, `/_sim/orders/${code}/pay`, { amount: '4' }, {})
  t.equal(res.status, 200)
  t.equal(res.json.order.received, '4.00000000')
  t.equal(res.json.order.confirmStatus, 1)
  res = await post(s, `/_sim/orders/${code}/pay`, undefined, {})
  t.equal(res.json.order.received, '10.00000000', 'no body → the rest')
  t.equal((await post(s, `/_sim/orders/${code}/pay`, { amount: [1] }, {})).status, 400)
  t.equal((await post(s, `/_sim/orders/${code}/pay`, 'x', {})).status, 400)
  res = await post(s, `/_sim/orders/${code}/pay`, {}, {})
  t.equal(res.status, 409)
  t.same(res.json, { ok: false, code: 'CONFLICT', message: `order ${code} is already fully funded` })
  t.equal((await post(s, '/_sim/orders/0000000000000000/pay', {}, {})).status, 404)

  res = await post(s, `/_sim/orders/${code}/expire`, undefined, {})
  t.same(res.json, { ok: true, trackcode: code, expired: true })
  t.equal((await check(s, code)).status, 404)
  t.equal((await post(s, `/_sim/orders/${code}/expire`, undefined, {})).status, 404)
  t.same(s.control.stats().byRoute, { 'POST /v1/mixer/orders': 1, 'POST /v1/orders/check': 1 }, 'control calls are not counted')
})

t.test('/_sim/stats and reset', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  await get(s, '/v1/prices')
  let res = await get(s, '/_sim/stats', {})
  t.same(res.json, { total: 1, byRoute: { 'GET /v1/prices': 1 }, byStatus: { 200: 1 }, quotaUsed: { [SIM_KEY]: 1 } })
  res = await post(s, '/_sim/stats/reset', undefined, {})
  t.same(res.json, { ok: true })
  t.equal(s.control.stats().total, 0)
})

t.test('/_sim/clock moves a manual clock', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  let res = await get(s, '/_sim/clock', {})
  t.same(res.json, { ok: true, now: T0, manual: true })
  res = await post(s, '/_sim/clock', { advanceMs: 5000 }, {})
  t.same(res.json, { ok: true, now: T0 + 5000, manual: true })
  res = await post(s, '/_sim/clock', { set: T0 + 60_000, advanceMs: 1 }, {})
  t.equal(res.json.now, T0 + 60_001)
  t.equal((await post(s, '/_sim/clock', { advanceMs: -1 }, {})).status, 400)
  t.equal((await get(s, '/v1/ping', {})).json.ts, Math.floor((T0 + 60_001) / 1000))

  const real = await buildSimulator()
  t.teardown(() => real.app.close())
  const r = await real.app.inject({ method: 'POST', url: '/_sim/clock', payload: { advanceMs: 1 } })
  t.equal(r.statusCode, 409)
  t.equal(r.json().code, 'CONFLICT')
  t.equal((await real.app.inject({ method: 'GET', url: '/_sim/clock' })).json().manual, false)
})

t.test('a scaled clock drives the lifecycle without timers', async (t) => {
  const clock = createScaledClock(6000, T0)
  t.equal(clock.scale, 6000)
  t.throws(() => createScaledClock(0))
  const s = await buildSimulator({ clock })
  t.teardown(() => s.app.close())
  const res = await s.app.inject({
    method: 'POST',
    url: '/v1/mixer/orders',
    headers: { authorization: 'Bearer sim-key' },
    payload: { crypto: 'btc', network: 'btc', amount: '1', addresses: [{ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: '100', delay: '10' }] }
  })
  const code = res.json().trackcode as string
  s.control.pay(code)
  // 2 min confirm + 10 min delay + 1 min output confirmation = 13 simulated minutes = 130 ms real.
  await new Promise((resolve) => setTimeout(resolve, 200))
  const view = s.control.getOrder(code)
  t.equal(view?.confirmStatus, 2)
  t.same([view?.outputs[0]?.state, view?.outputs[0]?.confirm], [2, 1])
  t.ok(clock.now() - T0 >= 200 * 6000 - 6000)
})

t.test('manual clock', async (t) => {
  const { createManualClock } = await import('../../src/simulator/index.js')
  const c = createManualClock(1000)
  c.advance(500)
  t.equal(c.now(), 1500)
  c.set(10)
  t.equal(c.now(), 10)
  t.throws(() => c.advance(-1), RangeError)
  const d = createManualClock()
  t.ok(Math.abs(d.now() - Date.now()) < 1000)
})
