import QRCode from 'qrcode'
import t from 'tap'
import { build } from '../helpers/build.js'
import { BTC_A, BTC_B, ETH_A, T0, TON_A, XRP_A } from '../helpers/fixtures.js'
import { MIXER_EXAMPLE, createMixer, post } from '../helpers/simulator-requests.js'

const T0S = T0 / 1000

t.test('the doc example: shape and arithmetic', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const res = await post(s, '/v1/mixer/orders', MIXER_EXAMPLE)
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  const body = res.json
  t.same(Object.keys(body), ['ok', 'trackcode', 'maintenance', 'deposit', 'fees', 'outputs', 'signature_text'])
  t.match(body.trackcode, /^[0-9A-F]{16}$/)
  t.equal(body.maintenance, 0)
  t.match(body.deposit.address, /^3[1-9A-HJ-NP-Za-km-z]{33}$/)
  t.same({ ...body.deposit, address: 'x' }, {
    address: 'x',
    name: 'Bitcoin',
    symbol: '₿',
    network: 'btc',
    network_label: 'Bitcoin (BTC)',
    deposit_amount: '10.00000000',
    min_amount: 0.001,
    max_amount: 20,
    expires_at: T0S + 48 * 3600
  }, 'no qr_code unless asked')
  t.same(body.fees, {
    service_fee_percent: 0.45,
    service_fee_value: '0.04500000',
    fee_per_output: '0.00005000',
    fee_outputs_total: '0.00010000',
    fee_total: '0.04510000'
  })
  t.same(body.outputs, [
    { id: 1, address: BTC_A, destination_tag: null, share_percent: 84.93, delay_minutes: 0, delay_label: '0h 0m', amount: '8.45469657', time: T0S },
    { id: 2, address: BTC_B, destination_tag: null, share_percent: 15.07, delay_minutes: 120, delay_label: '2h 0m', amount: '1.50020343', time: T0S + 7200 }
  ])
  t.match(body.signature_text, /^-----BEGIN DIGITAL SIGNATURE-----\n[A-Za-z0-9+/]+=*\n-----END DIGITAL SIGNATURE-----$/)
  t.equal(s.control.getOrder(body.trackcode)?.partner, 'YOUR_PARTNER_KEY')
})

t.test('qrcode: 1 → a PNG data URL of the deposit address', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  for (const flag of [1, '1', true]) {
    const body = await createMixer(s, { qrcode: flag })
    t.match(body.deposit.qr_code, /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/)
    const png = Buffer.from(body.deposit.qr_code.split(',')[1], 'base64')
    t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature')
    const expected = await QRCode.toDataURL(body.deposit.address, { type: 'image/png', errorCorrectionLevel: 'M', margin: 2 })
    t.equal(body.deposit.qr_code, expected, 'encodes the deposit address')
  }
  for (const flag of [0, '0', false]) {
    const body = await createMixer(s, { qrcode: flag })
    t.notOk('qr_code' in body.deposit)
  }
  const bad = await post(s, '/v1/mixer/orders', { ...MIXER_EXAMPLE, qrcode: 2 })
  t.equal(bad.status, 400)
  t.match(bad.json.message, /qrcode/)
})

t.test('defaults and accepted forms', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const noFee = await createMixer(s, { service_fee: undefined, action: undefined, partner: undefined })
  t.equal(noFee.fees.service_fee_percent, 0.1, 'omitted service_fee → coin default')
  t.equal(noFee.fees.service_fee_value, '0.01000000')
  t.equal(noFee.fees.fee_total, '0.01010000')
  t.equal(noFee.outputs[0].amount, '8.48442207')

  const labels = await createMixer(s, {
    addresses: [
      { address: BTC_A, percent: 50, delay: '2h 30m' },
      { address: BTC_B, percent: '25.5', delay: 2880 },
      { address: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', percent: '24.50', delay: '45m' }
    ],
    service_fee: '5'
  })
  t.same(labels.outputs.map((o: { delay_minutes: number, delay_label: string, share_percent: number }) => [o.delay_minutes, o.delay_label, o.share_percent]),
    [[150, '2h 30m', 50], [2880, '48h 0m', 25.5], [45, '0h 45m', 24.5]])
  t.equal(labels.fees.service_fee_value, '0.50000000')
  t.equal(labels.fees.fee_outputs_total, '0.00015000')
  t.same(labels.outputs.map((o: { amount: string }) => o.amount), ['4.74992500', '2.42246175', '2.32746325'])

  const single = await createMixer(s, { addresses: [{ address: BTC_A, percent: '100.00' }], amount: 0.5, service_fee: 0.1 })
  t.equal(single.deposit.deposit_amount, '0.50000000')
  t.equal(single.outputs[0].delay_minutes, 0, 'omitted delay → 0')
  t.equal(single.outputs[0].amount, '0.49945000')

  const eth = await post(s, '/v1/mixer/orders', { crypto: 'ETH', network: 'ETH', amount: '1', addresses: [{ address: ETH_A, percent: 100, delay: 0 }] })
  t.equal(eth.status, 200)
  t.match(eth.json.deposit.address, /^0x[0-9a-fA-F]{40}$/)
  t.equal(eth.json.deposit.network_label, 'Ethereum (ERC20)')
})

t.test('deposit addresses match each network', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const cases: Array<[string, string, string, string, RegExp]> = [
    ['usdt', 'trc20', '100', 'TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE', /^T[1-9A-HJ-NP-Za-km-z]{33}$/],
    ['usdt', 'erc20', '100', ETH_A, /^0x[0-9a-fA-F]{40}$/],
    ['ltc', 'ltc', '1', 'LZ6sBhTaFTDR3mcKA3GPMqNhNSUyNNxuUD', /^M[1-9A-HJ-NP-Za-km-z]{33}$/],
    ['doge', 'doge', '1000', 'DLPaeuaJi2JLUcvYHD4ddLxadwnGaVSt4p', /^D[1-9A-HJ-NP-Za-km-z]{33}$/],
    ['sol', 'sol', '1', '7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV', /^[1-9A-HJ-NP-Za-km-z]{44}$/],
    ['xrp', 'xrp', '100', XRP_A, /^r[1-9A-HJ-NP-Za-km-z]{24,34}$/],
    ['ton', 'ton', '100', TON_A, /^UQ[A-Za-z0-9_-]{46}$/]
  ]
  for (const [crypto, network, amount, address, re] of cases) {
    const res = await post(s, '/v1/mixer/orders', { crypto, network, amount, addresses: [{ address, percent: '100' }] })
    t.equal(res.status, 200, `${crypto}/${network}: ${res.body}`)
    t.match(res.json.deposit.address, re, `${crypto}/${network}`)
  }
})

t.test('destination tags: kept for XRP/TON, ignored elsewhere, checked', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const xrp = await post(s, '/v1/mixer/orders', { crypto: 'xrp', network: 'xrp', amount: '100', addresses: [{ address: XRP_A, percent: '60', destination_tag: 123456 }, { address: XRP_A, percent: '40', destination_tag: '' }] })
  t.equal(xrp.status, 200)
  t.same(xrp.json.outputs.map((o: { destination_tag: string | null }) => o.destination_tag), ['123456', null])
  const ton = await post(s, '/v1/mixer/orders', { crypto: 'ton', network: 'ton', amount: '100', addresses: [{ address: TON_A, percent: '100', memo: 'MYMEMO123' }] })
  t.equal(ton.json.outputs[0].destination_tag, 'MYMEMO123')
  const btc = await createMixer(s, { addresses: [{ address: BTC_A, percent: '100', destination_tag: '42' }] })
  t.equal(btc.outputs[0].destination_tag, null)
  const badTag = await post(s, '/v1/mixer/orders', { crypto: 'xrp', network: 'xrp', amount: '100', addresses: [{ address: XRP_A, percent: '100', destination_tag: '4294967296' }] })
  t.equal(badTag.status, 400)
  t.match(badTag.json.message, /addresses\[0\]\.destination_tag/)
})

t.test('validation errors', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const two = (a: Record<string, unknown>, b: Record<string, unknown> = {}): unknown[] => [
    { address: BTC_A, percent: '50', delay: '0', ...a },
    { address: BTC_B, percent: '50', delay: '0', ...b }
  ]
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['amount below min', { amount: '0.0009' }, 'AMOUNT_TOO_LOW', /at least 0\.001 BTC/],
    ['amount above max', { amount: '20.00000001' }, 'AMOUNT_TOO_HIGH', /at most 20 BTC/],
    ['amount with comma', { amount: '1,5' }, 'BAD_REQUEST', /^amount must be a decimal/],
    ['amount with 9 decimals', { amount: '1.123456789' }, 'BAD_REQUEST', /^amount/],
    ['amount zero', { amount: '0' }, 'BAD_REQUEST', /^amount must be greater than zero/],
    ['amount missing', { amount: undefined }, 'BAD_REQUEST', /^amount is required/],
    ['negative amount', { amount: -1 }, 'BAD_REQUEST', /^amount/],
    ['unknown coin', { crypto: 'xmr' }, 'BAD_REQUEST', /crypto "xmr" is not supported/],
    ['missing coin', { crypto: undefined }, 'BAD_REQUEST', /^crypto is required/],
    ['unknown network', { network: 'erc20' }, 'BAD_REQUEST', /network "erc20" is not supported for BTC/],
    ['wrong action', { action: 'delete' }, 'BAD_REQUEST', /action/],
    ['no addresses', { addresses: [] }, 'BAD_REQUEST', /^addresses must be an array of 1 to 10/],
    ['addresses not an array', { addresses: BTC_A }, 'BAD_REQUEST', /^addresses must be an array/],
    ['11 addresses', { addresses: Array.from({ length: 11 }, (_, i) => ({ address: BTC_A, percent: i === 0 ? '10' : '9' })) }, 'BAD_REQUEST', /1 to 10/],
    ['output not an object', { addresses: [BTC_A] }, 'BAD_REQUEST', /^addresses\[0\] must be an object/],
    ['address missing', { addresses: two({ address: '' }) }, 'BAD_REQUEST', /^addresses\[0\]\.address is required/],
    ['address of another network', { addresses: two({}, { address: ETH_A }) }, 'BAD_REQUEST', /^addresses\[1\]\.address is not a valid Bitcoin \(BTC\) address/],
    ['percent 3 decimals', { addresses: two({ percent: '50.005' }, { percent: '49.995' }) }, 'BAD_REQUEST', /^addresses\[0\]\.percent must be a number with at most 2 decimals/],
    ['percent missing', { addresses: two({ percent: undefined }) }, 'BAD_REQUEST', /^addresses\[0\]\.percent is required/],
    ['percent below 1', { addresses: [{ address: BTC_A, percent: '0.99' }, { address: BTC_B, percent: '99.01' }] }, 'BAD_REQUEST', /^addresses\[0\]\.percent must be between 1\.00 and 100\.00/],
    ['percent above 100', { addresses: [{ address: BTC_A, percent: '100.01' }] }, 'BAD_REQUEST', /between 1\.00 and 100\.00/],
    ['sum 99.99', { addresses: two({ percent: '49.99' }) }, 'BAD_REQUEST', /^Sum of percents must be exactly 100\.00$/],
    ['sum 100.01', { addresses: two({ percent: '50.01' }) }, 'BAD_REQUEST', /^Sum of percents must be exactly 100\.00$/],
    ['single output below 100', { addresses: [{ address: BTC_A, percent: '99' }] }, 'BAD_REQUEST', /^Sum of percents/],
    ['delay above 48h', { addresses: two({ delay: '2881' }) }, 'BAD_REQUEST', /^addresses\[0\]\.delay must not exceed 48h/],
    ['delay label above 48h', { addresses: two({}, { delay: '48h 1m' }) }, 'BAD_REQUEST', /^addresses\[1\]\.delay must not exceed 48h/],
    ['delay garbage', { addresses: two({ delay: 'soon' }) }, 'BAD_REQUEST', /^addresses\[0\]\.delay must be a number of minutes or a label/],
    ['delay fractional', { addresses: two({ delay: 1.5 }) }, 'BAD_REQUEST', /delay/],
    ['fee below 0.10', { service_fee: 0.09 }, 'BAD_REQUEST', /^service_fee must be between 0\.10 and 5\.00/],
    ['fee above 5', { service_fee: '5.01' }, 'BAD_REQUEST', /^service_fee must be between/],
    ['fee 3 decimals', { service_fee: 0.455 }, 'BAD_REQUEST', /^service_fee must be a number with at most 2 decimals/],
    ['partner not a string', { partner: 7 }, 'BAD_REQUEST', /^partner must be a string/]
  ]
  for (const [name, override, code, message] of cases) {
    const res = await post(s, '/v1/mixer/orders', { ...MIXER_EXAMPLE, ...override })
    t.equal(res.status, 400, name)
    t.same(Object.keys(res.json), ['ok', 'code', 'message'], name)
    t.equal(res.json.code, code, name)
    t.match(res.json.message, message, name)
  }
  t.same(s.control.listOrders(), [], 'no order was created')
})

t.test('an exhausted network answers SERVICE_UNAVAILABLE', async (t) => {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual', sim: { exhaustedNetworks: ['BTC'] } })
  const res = await post(s, '/v1/mixer/orders', MIXER_EXAMPLE)
  t.equal(res.status, 503)
  t.equal(res.json.code, 'SERVICE_UNAVAILABLE')
  t.match(res.json.message, /btc/)
  const eth = await post(s, '/v1/mixer/orders', { crypto: 'eth', network: 'eth', amount: '1', addresses: [{ address: ETH_A, percent: 100 }] })
  t.equal(eth.status, 200)
})
