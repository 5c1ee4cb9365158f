import t from 'tap'
import { parseFixed, formatFixed, type Fixed } from '../../src/lib/decimal.js'
import { effectiveExchangeFee, exchangeQuote } from '../../src/simulator/exchange.js'
import { build } from '../helpers/build.js'
import { DOGE_A, ETH_A, T0, TON_A, TRC_A, XRP_A } from '../helpers/fixtures.js'
import { post } from '../helpers/simulator-requests.js'

const T0S = T0 / 1000
const fx = (s: string): Fixed => parseFixed(s) as Fixed

const ETH_TO_DOGE = {
  from_coin: 'eth',
  from_network: 'eth',
  to_coin: 'doge',
  to_network: 'doge',
  to_address: DOGE_A,
  amount: '1.00000000',
  service_fee: 0.6,
  partner: 'YOUR_PARTNER_KEY'
}

t.test('quote arithmetic on the doc example', async (t) => {
  const q = exchangeQuote(fx('1'), fx('4300.88362842'), fx('0.22014648'), fx('0.6'))
  t.equal(formatFixed(q.amountUsd), '4300.88362842')
  t.equal(formatFixed(q.finalUsd), '4275.07832665')
  // The doc shows 19419.24455241: its DOGE price has more digits than the 8 it prints.
  t.equal(formatFixed(q.receive), '19419.24452596')
})

t.test('fee clamp', async (t) => {
  const f = (requested: unknown, site: string): string => formatFixed(effectiveExchangeFee(requested, site), 2)
  t.equal(f(undefined, '0.5'), '0.50', 'omitted → site default')
  t.equal(f(undefined, '0.4'), '0.50', 'omitted → max(site default, 0.50)')
  t.equal(f(null, '0.8'), '0.80')
  t.equal(f(0.6, '0.5'), '0.60', 'above the default is kept')
  t.equal(f('0.3', '0.5'), '0.50', 'below the default → default')
  t.equal(f(0.45, '0.4'), '0.50', 'below the global floor → 0.50')
  t.equal(f(0.6, '0.8'), '0.80')
  t.equal(f(3.5, '0.5'), '3.00', 'above 3 → 3')
  t.equal(f(undefined, '4'), '3.00')
  t.throws(() => f('0.555', '0.5'), { code: 'BAD_REQUEST' })
  t.throws(() => f('abc', '0.5'), { code: 'BAD_REQUEST' })
})

t.test('ETH → DOGE: shape and values', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const res = await post(s, '/v1/exchange/orders', { ...ETH_TO_DOGE, qrcode: 1 })
  t.equal(res.status, 200)
  const b = res.json
  t.same(Object.keys(b), ['ok', 'type', 'trackcode', 'pair', 'deposit', 'quote', 'receive', 'outputs', 'signature_text'])
  t.equal(b.type, 'exchange')
  t.match(b.trackcode, /^[0-9A-F]{16}$/)
  t.same(b.pair, { from: 'ETH_eth', to: 'DOGE_doge' })
  t.match(b.deposit.address, /^0x[0-9a-fA-F]{40}$/, 'EIP-55 mixed case (its checksum deliberately wrong: test/simulator/addresses.test.ts)')
  t.match(b.deposit.qr_code, /^data:image\/png;base64,/)
  t.same({ ...b.deposit, address: 'x', qr_code: 'q' }, {
    address: 'x',
    name: 'Ethereum',
    symbol: 'Ξ',
    network: 'eth',
    network_label: 'Ethereum (ERC20)',
    deposit_amount: '1.00000000',
    min_usd: 100,
    max_usd: 88565,
    expires_at: T0S + 48 * 3600,
    qr_code: 'q'
  })
  t.same(b.quote, {
    from: { coin: 'ETH', network: 'eth', price_usd: 4409.46254479, amount: '1.00000000', amount_usd: '4409.46254479' },
    to: { coin: 'DOGE', network: 'doge', price_usd: 0.22014648, estimated_receive: '19909.49739246' },
    fee_percent: 0.6,
    final_usd: '4383.00576952'
  })
  t.same(b.receive, {
    address: DOGE_A,
    destination_tag: null,
    coin: 'DOGE',
    network: 'doge',
    percent: 100,
    delay_minutes: 10,
    delay_label: '0h 10m',
    amount: '19909.49739246',
    time: T0S + 600
  })
  t.same(b.outputs, [{
    id: 1, address: DOGE_A, destination_tag: null, share_percent: 100, delay_minutes: 10, delay_label: '0h 10m', amount: '19909.49739246', time: T0S + 600
  }])
  t.match(b.signature_text, /^-----BEGIN DIGITAL SIGNATURE-----\n/)
  const order = s.control.getOrder(b.trackcode)
  t.equal(order?.type, 'exchange')
  t.equal(order?.coin, 'eth')
  t.equal(order?.serviceFee, '0.60')
})

t.test('omitted fee, XRP tag, TON memo, custom delay', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const xrp = await post(s, '/v1/exchange/orders', {
    from_coin: 'btc', from_network: 'btc', to_coin: 'xrp', to_network: 'xrp', to_address: XRP_A, destination_tag: '123456', amount: '0.01'
  })
  t.equal(xrp.status, 200)
  t.equal(xrp.json.quote.fee_percent, 0.5)
  t.equal(xrp.json.quote.from.amount_usd, '1177.99517134')
  t.equal(xrp.json.quote.final_usd, '1172.10519548')
  t.equal(xrp.json.quote.to.estimated_receive, '387.03527570')
  t.equal(xrp.json.receive.destination_tag, '123456')
  t.equal(xrp.json.outputs[0].destination_tag, '123456')
  t.notOk('qr_code' in xrp.json.deposit)

  const ton = await post(s, '/v1/exchange/orders', {
    from_coin: 'BTC', from_network: 'BTC', to_coin: 'TON', to_network: 'TON', to_address: TON_A, memo: 'MYMEMO123', amount: '0.015', delay: '1h 5m'
  })
  t.equal(ton.status, 200)
  t.equal(ton.json.receive.destination_tag, 'MYMEMO123')
  t.equal(ton.json.receive.delay_label, '1h 5m')
  t.equal(ton.json.receive.time, T0S + 65 * 60)
  t.same(ton.json.pair, { from: 'BTC_btc', to: 'TON_ton' })

  const trx = await post(s, '/v1/exchange/orders', {
    from_coin: 'usdt', from_network: 'trc20', to_coin: 'trx', to_network: 'trx', to_address: TRC_A, amount: 100
  })
  t.equal(trx.status, 200)
  t.equal(trx.json.quote.fee_percent, 0.5, 'TRX site default 0.4 is raised to the 0.50 floor')
  t.equal(trx.json.quote.to.estimated_receive, '283.40472933')
})

t.test('validation errors', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['below min_usd', { amount: '0.02' }, 'AMOUNT_TOO_LOW', /minimum for this pair is 100 USD/],
    ['above max_usd', { amount: '21' }, 'AMOUNT_TOO_HIGH', /maximum for this pair is 88565 USD/],
    ['bad amount', { amount: '1e3' }, 'BAD_REQUEST', /^amount/],
    ['missing amount', { amount: undefined }, 'BAD_REQUEST', /^amount is required/],
    ['unknown from coin', { from_coin: 'xmr' }, 'BAD_REQUEST', /^from_coin "xmr" is not supported/],
    ['unknown from network', { from_network: 'trx' }, 'BAD_REQUEST', /^from_network "trx" is not supported for ETH/],
    ['unknown to coin', { to_coin: 'ada' }, 'BAD_REQUEST', /^to_coin "ada" is not supported/],
    ['unknown to network', { to_network: 'btc' }, 'BAD_REQUEST', /^to_network "btc" is not supported for DOGE/],
    ['missing to_network', { to_network: undefined }, 'BAD_REQUEST', /^to_network is required/],
    ['same pair', { to_coin: 'eth', to_network: 'eth', to_address: ETH_A }, 'BAD_REQUEST', /must be different/],
    ['missing to_address', { to_address: undefined }, 'BAD_REQUEST', /^to_address is required/],
    ['to_address of another network', { to_address: ETH_A }, 'BAD_REQUEST', /^to_address is not a valid Dogecoin \(DOGE\) address/],
    ['fee 3 decimals', { service_fee: '0.655' }, 'BAD_REQUEST', /^service_fee/],
    ['bad qrcode', { qrcode: 'yes' }, 'BAD_REQUEST', /^qrcode/],
    ['bad delay', { delay: '3000' }, 'BAD_REQUEST', /^delay must not exceed 48h/],
    ['bad XRP tag', { to_coin: 'xrp', to_network: 'xrp', to_address: XRP_A, destination_tag: 'abc' }, 'BAD_REQUEST', /^destination_tag must be an XRP destination tag/],
    ['bad TON memo', { to_coin: 'ton', to_network: 'ton', to_address: TON_A, memo: 'x'.repeat(121) }, 'BAD_REQUEST', /^memo must be a TON memo/]
  ]
  for (const [name, override, code, message] of cases) {
    const res = await post(s, '/v1/exchange/orders', { ...ETH_TO_DOGE, ...override })
    t.equal(res.status, 400, name)
    t.equal(res.json.code, code, name)
    t.match(res.json.message, message, name)
  }
  t.same(s.control.listOrders(), [])
})

t.test('exhausted deposit network → SERVICE_UNAVAILABLE', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual', sim: { exhaustedNetworks: ['eth'] } })
  const res = await post(s, '/v1/exchange/orders', ETH_TO_DOGE)
  t.equal(res.status, 503)
  t.equal(res.json.code, 'SERVICE_UNAVAILABLE')
})
