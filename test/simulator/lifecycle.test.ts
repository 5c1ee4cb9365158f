import t from 'tap'
import { SimControlError } from '../../src/simulator/index.js'
import type { SimulatorOptions } from '../../src/simulator/index.js'
import { build } from '../helpers/build.js'
import { BTC_A, BTC_B, T0 } from '../helpers/fixtures.js'
import { check, createMixer, post } from '../helpers/simulator-requests.js'

const MIN = 60_000
const RETENTION_S = 48 * 3600

t.test('mixer lifecycle on a manual clock', async (t) => {
  const { sim: s, clock } = await build(t, { instances: 0, clock: 'manual' })
  const order = await createMixer(s)
  const code: string = order.trackcode

  let res = await check(s, code)
  t.equal(res.status, 200)
  t.same(res.json, {
    ok: true,
    type: 'mixer',
    trackcode: code,
    deposit: {
      confirm_status: 0,
      coin: 'btc',
      network: 'btc',
      delete_in_sec: RETENTION_S,
      funding: { waiting_balance: '10.00000000', received_balance: '0.00000000', remaining_need: '10.00000000', is_fully_funded: false, can_start: false }
    },
    outputs: { count: 2, sent_count: 0, sent_total: '0.00000000' }
  }, 'created: nothing seen, summary by default, no status_reason')

  clock.advance(30_000)
  t.equal(s.control.pay(code).received, '10.00000000', 'pay() defaults to the full amount')
  res = await check(s, code, { outputs: 'full', mask_addresses: false })
  t.equal(res.json.deposit.confirm_status, 1)
  t.equal(res.json.deposit.delete_in_sec, RETENTION_S - 30)
  t.same(res.json.deposit.funding, { waiting_balance: '10.00000000', received_balance: '10.00000000', remaining_need: '0.00000000', is_fully_funded: true, can_start: false })
  t.notOk('status_reason' in res.json)
  t.same(res.json.outputs.map((o: { state: number, confirm: number, tx: string, left_seconds: number }) => [o.state, o.confirm, o.tx, o.left_seconds]),
    [[0, 0, '', 0], [0, 0, '', 7200]], 'outputs wait; countdown not started')

  clock.advance(2 * MIN - 1)
  t.equal((await check(s, code)).json.deposit.confirm_status, 1, 'still confirming 1 ms before confirmMs')
  clock.advance(1)
  res = await check(s, code, { outputs: 'full', mask_addresses: false })
  t.equal(res.json.deposit.confirm_status, 2)
  t.equal(res.json.deposit.funding.can_start, true)
  const [o1, o2] = res.json.outputs
  t.same({ ...o1, tx: 'h' }, {
    index: 1,
    address: BTC_A,
    destination_tag: null,
    coin: 'btc',
    network: 'btc',
    share_percent: 84.93,
    delay_label: '0h 0m',
    delay_seconds: 0,
    state: 2,
    confirm: 0,
    tx: 'h',
    amount: '8.45469657',
    left_seconds: 0
  }, 'no-delay output sent at start, unconfirmed')
  t.match(o1.tx, /^[0-9a-f]{64}$/)
  t.same(o2, {
    index: 2,
    address: BTC_B,
    destination_tag: null,
    coin: 'btc',
    network: 'btc',
    share_percent: 15.07,
    delay_label: '2h 0m',
    delay_seconds: 7200,
    state: 1,
    confirm: 0,
    tx: '',
    amount: '1.50020343',
    left_seconds: 7200
  }, 'delayed output processing with a full countdown')
  t.same((await check(s, code)).json.outputs, { count: 2, sent_count: 1, sent_total: '8.45469657' })

  const startedAt = T0 + 30_000 + 2 * MIN
  t.equal(s.control.getOrder(code)?.startedAt, startedAt)
  t.equal(s.control.getOrder(code)?.outputs[1]?.sendAt, startedAt + 120 * MIN, 'send time fixed at start + delay')

  clock.advance(MIN - 1)
  res = await check(s, code, { outputs: 'full' })
  t.equal(res.json.outputs[0].confirm, 0)
  t.equal(res.json.outputs[1].left_seconds, 7200 - 59)
  clock.advance(1)
  res = await check(s, code, { outputs: 'full' })
  t.equal(res.json.outputs[0].confirm, 1, 'confirmed outputConfirmMs after sending')
  t.equal(res.json.outputs[0].tx, o1.tx, 'tx stable')
  t.equal(res.json.outputs[1].left_seconds, 7140)

  clock.set(startedAt + 120 * MIN - 1000)
  res = await check(s, code, { outputs: 'full' })
  t.same([res.json.outputs[1].state, res.json.outputs[1].left_seconds], [1, 1])
  clock.advance(1000)
  res = await check(s, code, { outputs: 'full' })
  t.same([res.json.outputs[1].state, res.json.outputs[1].confirm, res.json.outputs[1].left_seconds], [2, 0, 0])
  t.match(res.json.outputs[1].tx, /^[0-9a-f]{64}$/)
  t.not(res.json.outputs[1].tx, o1.tx)
  clock.advance(MIN)
  res = await check(s, code, { outputs: 'full' })
  t.equal(res.json.outputs[1].confirm, 1)
  t.same((await check(s, code)).json.outputs, { count: 2, sent_count: 2, sent_total: '9.95490000' })
  t.equal(res.json.deposit.delete_in_sec, RETENTION_S - (startedAt + 121 * MIN - T0) / 1000)
})

t.test('partial payments: INSUFFICIENT_FUNDS until topped up', async (t) => {
  const { sim: s, clock } = await build(t, { instances: 0, clock: 'manual' })
  const created = await post(s, '/v1/exchange/orders', {
    from_coin: 'usdt', from_network: 'erc20', to_coin: 'btc', to_network: 'btc', to_address: BTC_A, amount: '500'
  })
  const code: string = created.json.trackcode
  s.control.pay(code, '420')
  let res = await check(s, code)
  t.equal(res.json.type, 'exchange')
  t.equal(res.json.deposit.confirm_status, 1)
  t.equal(res.json.deposit.coin, 'usdt')
  t.equal(res.json.deposit.network, 'erc20')
  t.same(res.json.deposit.funding, { waiting_balance: '500.00000000', received_balance: '420.00000000', remaining_need: '80.00000000', is_fully_funded: false, can_start: false })
  t.equal(res.json.status_reason, 'INSUFFICIENT_FUNDS')
  t.same(Object.keys(res.json), ['ok', 'type', 'trackcode', 'deposit', 'status_reason', 'outputs'])

  clock.advance(10 * MIN)
  res = await check(s, code, { outputs: 'full' })
  t.equal(res.json.deposit.confirm_status, 2, 'confirmed but underfunded, as in the doc example')
  t.equal(res.json.deposit.funding.can_start, false)
  t.equal(res.json.status_reason, 'INSUFFICIENT_FUNDS')
  t.equal(res.json.outputs[0].state, 0)
  t.equal(res.json.outputs[0].left_seconds, 600, 'countdown has not started')

  s.control.pay(code, 30)
  s.control.pay(code)
  res = await check(s, code)
  t.equal(res.json.deposit.confirm_status, 1, 'a top-up is pending again')
  t.equal(res.json.deposit.funding.received_balance, '500.00000000')
  t.equal(res.json.deposit.funding.is_fully_funded, true)
  t.notOk('status_reason' in res.json)
  t.throws(() => s.control.pay(code), SimControlError, 'nothing left to pay')

  clock.advance(2 * MIN)
  res = await check(s, code, { outputs: 'full', mask_addresses: false })
  t.equal(res.json.deposit.confirm_status, 2)
  t.equal(res.json.deposit.funding.can_start, true)
  t.same([res.json.outputs[0].state, res.json.outputs[0].left_seconds, res.json.outputs[0].coin, res.json.outputs[0].address], [1, 600, 'btc', BTC_A])
  clock.advance(10 * MIN)
  res = await check(s, code, { outputs: 'full' })
  t.same([res.json.outputs[0].state, res.json.outputs[0].confirm], [2, 0])
  clock.advance(MIN)
  res = await check(s, code, { outputs: 'summary' })
  t.same(res.json.outputs, { count: 1, sent_count: 1, sent_total: res.json.outputs.sent_total })
  t.equal(res.json.outputs.sent_total, created.json.receive.amount)

  s.control.pay(code, '5')
  res = await check(s, code)
  t.equal(res.json.deposit.confirm_status, 2, 'an overpayment after the start does not go back')
  t.equal(res.json.deposit.funding.received_balance, '505.00000000')
  t.equal(res.json.deposit.funding.remaining_need, '0.00000000')
})

t.test('masking, outputs modes and type matching', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const code: string = (await createMixer(s)).trackcode
  const masked = await check(s, code, { outputs: 'full' })
  t.same(masked.json.outputs.map((o: { address: string }) => o.address), ['35iM…EL', '1P27…MM'])
  for (const flag of [false, 0, '0', 'false']) {
    const res = await check(s, code, { outputs: 'full', mask_addresses: flag })
    t.equal(res.json.outputs[0].address, BTC_A, String(flag))
  }
  t.equal((await check(s, code, { outputs: 'full', mask_addresses: true })).json.outputs[1].address, '1P27…MM')
  const none = await check(s, code, { outputs: 'none' })
  t.notOk('outputs' in none.json)
  t.equal((await check(s, code, { type: 'mixer' })).status, 200)
  const wrongType = await check(s, code, { type: 'exchange' })
  t.equal(wrongType.status, 404)
  t.same(wrongType.json, { ok: false, code: 'NOT_FOUND', message: 'Order not found' })
})

t.test('check validation', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const code: string = (await createMixer(s)).trackcode
  const cases: Array<[Record<string, unknown> | undefined, RegExp]> = [
    [undefined, /^trackcode is required/],
    [{}, /^trackcode/],
    [{ trackcode: code.toLowerCase() }, /^trackcode/],
    [{ trackcode: code.slice(1) }, /^trackcode/],
    [{ trackcode: 'GGGGGGGGGGGGGGGG' }, /^trackcode/],
    [{ trackcode: 1234567890123456 }, /^trackcode/],
    [{ trackcode: code, type: 'swap' }, /^type/],
    [{ trackcode: code, outputs: 'all' }, /^outputs/],
    [{ trackcode: code, mask_addresses: 'yes' }, /^mask_addresses/]
  ]
  for (const [body, message] of cases) {
    const res = await post(s, '/v1/orders/check', body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.json.code, 'BAD_REQUEST')
    t.match(res.json.message, message)
  }
  const unknown = await check(s, '0123456789ABCDEF')
  t.equal(unknown.status, 404)
  t.equal(unknown.json.code, 'NOT_FOUND')
})

t.test('refreshIntervalMs quantizes what check reports; countdowns stay live', async (t) => {
  const { sim: s, clock } = await build(t, { instances: 0, clock: 'manual', sim: { refreshIntervalMs: MIN, timing: { confirmMs: 0 } } })
  const code: string = (await createMixer(s)).trackcode
  clock.advance(10_000)
  s.control.pay(code)
  clock.advance(40_000)
  let res = await check(s, code, { outputs: 'full' })
  t.equal(res.json.deposit.confirm_status, 0, 'payment not visible before the next refresh')
  t.equal(res.json.deposit.funding.received_balance, '0.00000000')
  t.equal(res.json.deposit.delete_in_sec, RETENTION_S - 50, 'delete_in_sec is live')
  t.equal(s.control.getOrder(code)?.confirmStatus, 2, 'the control view is live')
  clock.advance(10_000)
  res = await check(s, code, { outputs: 'full' })
  t.equal(res.json.deposit.confirm_status, 2)
  t.equal(res.json.outputs[1].left_seconds, 7200 - 50, 'left_seconds counts from the real start')

  clock.set(T0 + 10_000 + 120 * MIN + 30_000)
  res = await check(s, code, { outputs: 'full' })
  t.same([res.json.outputs[1].state, res.json.outputs[1].left_seconds], [1, 0], 'due but not yet refreshed')
  clock.set(T0 + 121 * MIN)
  res = await check(s, code, { outputs: 'full' })
  t.equal(res.json.outputs[1].state, 2)
})

t.test('retention: orders vanish 48 h after creation', async (t) => {
  const { sim: s, clock } = await build(t, { instances: 0, clock: 'manual' })
  const code: string = (await createMixer(s)).trackcode
  clock.advance(RETENTION_S * 1000 - 1000)
  let res = await check(s, code)
  t.equal(res.json.deposit.delete_in_sec, 1)
  clock.advance(1000)
  res = await check(s, code)
  t.equal(res.status, 404)
  t.equal(res.json.code, 'NOT_FOUND')
  t.equal(s.control.getOrder(code), undefined)
  t.same(s.control.listOrders(), [])
})

t.test('custom timing: short retention and deposit expiry', async (t) => {
  const { sim: s, clock } = await build(t, { instances: 0, clock: 'manual', sim: { timing: { retentionMs: 10 * MIN, depositExpiryMs: 5 * MIN } } })
  const order = await createMixer(s)
  t.equal(order.deposit.expires_at, T0 / 1000 + 300)
  t.equal((await check(s, order.trackcode)).json.deposit.delete_in_sec, 600)
  clock.advance(5 * MIN)
  t.throws(() => s.control.pay(order.trackcode), { name: 'SimControlError', statusCode: 409, message: /expired/ })
  clock.advance(5 * MIN)
  t.equal((await check(s, order.trackcode)).status, 404)
  await t.rejects(buildBad({ timing: { confirmMs: -1 } }), RangeError)
  await t.rejects(buildBad({ refreshIntervalMs: Number.NaN }), RangeError)
  await t.rejects(buildBad({ dailyQuota: 1.5 }), RangeError)
})

async function buildBad (opts: SimulatorOptions): Promise<void> {
  const { buildSimulator } = await import('../../src/simulator/index.js')
  await buildSimulator(opts)
}

t.test('expire() and delete', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const a: string = (await createMixer(s)).trackcode
  const b: string = (await createMixer(s)).trackcode
  t.equal(s.control.listOrders().length, 2)
  s.control.expire(a)
  t.equal((await check(s, a)).status, 404)
  t.throws(() => s.control.expire(a), { name: 'SimControlError', statusCode: 404 })
  t.throws(() => s.control.pay(a), { name: 'SimControlError', statusCode: 404 })

  t.equal((await post(s, '/v1/orders/delete', { trackcode: b, type: 'exchange' })).status, 404, 'type must match')
  const del = await post(s, '/v1/orders/delete', { trackcode: b })
  t.equal(del.status, 200)
  t.same(del.json, { ok: true, trackcode: b, type: 'mixer', deleted: true })
  const again = await post(s, '/v1/orders/delete', { trackcode: b, type: 'mixer' })
  t.equal(again.status, 404)
  t.same(again.json, { ok: false, code: 'NOT_FOUND', message: 'Order not found or already deleted' })
  t.equal((await check(s, b)).status, 404)
  for (const body of [{ trackcode: 'abc' }, { trackcode: b, type: 'order' }, {}]) {
    const res = await post(s, '/v1/orders/delete', body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.json.code, 'BAD_REQUEST')
  }
})

t.test('pay() rejects bad amounts', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const code: string = (await createMixer(s)).trackcode
  for (const amount of ['0', '-1', 'abc', '1.123456789', -2, 0]) {
    t.throws(() => s.control.pay(code, amount), { name: 'SimControlError', statusCode: 400 }, String(amount))
  }
  t.equal(s.control.pay(code, 2.5).received, '2.50000000')
  t.same(s.control.getOrder(code)?.payments, [{ amount: '2.50000000', at: T0 }])
})
