import { randomBytes } from 'node:crypto'
import t from 'tap'
import { GuaranteeSigner } from '../../src/simulator/signature.js'
import { build } from '../helpers/build.js'
import { BTC_A, BTC_B, DOGE_A, T0 } from '../helpers/fixtures.js'
import { createMixer, post } from '../helpers/simulator-requests.js'

const MIN = 60_000

t.test('round trip: a mixer guarantee letter validates, route follows progress', async (t) => {
  const { sim: s, clock } = await build(t, { instances: 0, clock: 'manual' })
  const order = await createMixer(s)
  const res = await post(s, '/v1/validate', { signature: order.signature_text }, {})
  t.equal(res.status, 200)
  t.same(res.json, {
    ok: true,
    message: 'The signature has been validated successfully.',
    type: 'mixer',
    route: 'deposit',
    trackcode: order.trackcode,
    order: {
      deposit_address: order.deposit.address,
      service_fee: '0.45',
      coin: 'btc',
      network: 'btc',
      waiting_balance: '10.00000000',
      created_at: String(T0 / 1000)
    },
    outputs: [
      { coin: 'btc', network: 'btc', address: BTC_A, destination_tag: '', share_percent: '84.93', delay_minutes: 0, delay_label: '0h 0m', amount: '8.45469657' },
      { coin: 'btc', network: 'btc', address: BTC_B, destination_tag: '', share_percent: '15.07', delay_minutes: 120, delay_label: '2h 0m', amount: '1.50020343' }
    ],
    outputs_count: 2
  })

  const raw = order.signature_text.split('\n')[1]
  const unwrapped = await post(s, '/v1/validate', { signature: raw })
  t.equal(unwrapped.json.trackcode, order.trackcode, 'raw Base64 works too')
  const folded = order.signature_text.replace(raw, raw.match(/.{1,20}/g).join('\r\n'))
  t.equal((await post(s, '/v1/validate', { signature: folded })).status, 200, 'line-folded Base64 works')

  s.control.pay(order.trackcode, '1')
  t.equal((await post(s, '/v1/validate', { signature: raw })).json.route, 'confirm')
  s.control.pay(order.trackcode)
  clock.advance(2 * MIN)
  t.equal((await post(s, '/v1/validate', { signature: raw })).json.route, 'mixing')
})

t.test('exchange letters: exc-deposit then exc-send', async (t) => {
  const { sim: s, clock } = await build(t, { instances: 0, clock: 'manual' })
  const res = await post(s, '/v1/exchange/orders', {
    from_coin: 'eth', from_network: 'eth', to_coin: 'doge', to_network: 'doge', to_address: DOGE_A, amount: '1', service_fee: 0.6
  })
  const sig = res.json.signature_text
  let v = await post(s, '/v1/validate', { signature: sig })
  t.equal(v.json.type, 'exchange')
  t.equal(v.json.route, 'exc-deposit')
  t.same(v.json.order, {
    deposit_address: res.json.deposit.address, service_fee: '0.60', coin: 'eth', network: 'eth', waiting_balance: '1.00000000', created_at: String(T0 / 1000)
  })
  t.same(v.json.outputs, [{
    coin: 'doge', network: 'doge', address: DOGE_A, destination_tag: '', share_percent: '100.00', delay_minutes: 10, delay_label: '0h 10m', amount: res.json.receive.amount
  }])
  s.control.pay(res.json.trackcode)
  clock.advance(2 * MIN)
  v = await post(s, '/v1/validate', { signature: sig })
  t.equal(v.json.route, 'exc-send')
})

t.test('validate errors use the key "error"', async (t) => {
  const key = randomBytes(32)
  const { sim: s } = await build(t, { instances: 0, clock: 'manual', sim: { signatureKey: key } })
  const signer = new GuaranteeSigner(key)
  const other = new GuaranteeSigner()
  const order = await createMixer(s)
  const cases: Array<[string, unknown, number, string]> = [
    ['no body', undefined, 400, 'BAD_REQUEST'],
    ['missing', {}, 400, 'BAD_REQUEST'],
    ['blank', { signature: '   ' }, 400, 'BAD_REQUEST'],
    ['not a string', { signature: 42 }, 400, 'BAD_REQUEST'],
    ['not base64', { signature: 'not base64!' }, 400, 'INVALID_SIGNATURE'],
    ['bad base64 length', { signature: 'QUJDRE' + 'A'.repeat(39) }, 400, 'INVALID_SIGNATURE'],
    ['only the wrapper', { signature: '-----BEGIN DIGITAL SIGNATURE-----\n-----END DIGITAL SIGNATURE-----' }, 400, 'INVALID_SIGNATURE'],
    ['too short', { signature: Buffer.alloc(20).toString('base64') }, 400, 'INVALID_SIGNATURE'],
    ['the doc sample (plain JSON)', { signature: '-----BEGIN DIGITAL SIGNATURE-----\neyJ0cmFjayI6ICJEMzkxRkMwODc0N0U3QjA0IiwgInR5cGUiOiAibWl4ZXIiLCAiZXh0cmEiOiAiLi4uIn0=\n-----END DIGITAL SIGNATURE-----' }, 400, 'DECRYPTION_FAILED'],
    ['another key', { signature: other.seal({ track: order.trackcode, type: 'mixer', route: 'deposit', created_at: 0 }) }, 400, 'DECRYPTION_FAILED'],
    ['tampered', { signature: tamper(order.signature_text) }, 400, 'DECRYPTION_FAILED'],
    ['not JSON', { signature: signer.sealRaw('hello world') }, 400, 'INVALID_PAYLOAD'],
    ['JSON but not an object', { signature: signer.sealRaw('"6A5FB3BA8A150EC9"') }, 400, 'INVALID_PAYLOAD'],
    ['no trackcode', { signature: signer.sealRaw('{"type":"mixer"}') }, 400, 'MISSING_TRACKCODE'],
    ['unknown order', { signature: signer.sealRaw('{"track":"0123456789ABCDEF"}') }, 404, 'NOT_FOUND']
  ]
  for (const [name, body, status, code] of cases) {
    const res = await post(s, '/v1/validate', body, {})
    t.equal(res.status, status, name)
    t.same(Object.keys(res.json), ['ok', 'error', 'message'], name)
    t.equal(res.json.ok, false, name)
    t.equal(res.json.error, code, name)
    t.type(res.json.message, 'string', name)
  }
  const alt = await post(s, '/v1/validate', { signature: signer.sealRaw(JSON.stringify({ trackcode: order.trackcode })) })
  t.equal(alt.json.trackcode, order.trackcode, 'payload key "trackcode" is accepted too')
})

t.test('letters of deleted or expired orders are NOT_FOUND', async (t) => {
  const { sim: s, clock } = await build(t, { instances: 0, clock: 'manual' })
  const a = await createMixer(s)
  const b = await createMixer(s)
  await post(s, '/v1/orders/delete', { trackcode: a.trackcode })
  let res = await post(s, '/v1/validate', { signature: a.signature_text })
  t.equal(res.status, 404)
  t.equal(res.json.error, 'NOT_FOUND')
  clock.advance(48 * 3_600_000)
  res = await post(s, '/v1/validate', { signature: b.signature_text })
  t.equal(res.status, 404)
})

t.test('only orders of the last 48 h validate, whatever the retention', async (t) => {
  const { sim: s, clock } = await build(t, { instances: 0, clock: 'manual', sim: { timing: { retentionMs: 72 * 3_600_000 } } })
  const a = await createMixer(s)
  clock.advance(48 * 3_600_000 - 1)
  t.equal((await post(s, '/v1/validate', { signature: a.signature_text })).status, 200)
  clock.advance(1)
  t.equal((await post(s, '/v1/validate', { signature: a.signature_text })).status, 404)
  t.equal((await post(s, '/v1/orders/check', { trackcode: a.trackcode })).status, 200, 'still retained')
})

t.test('GuaranteeSigner rejects a key of the wrong size', async (t) => {
  t.throws(() => new GuaranteeSigner(Buffer.alloc(16)), RangeError)
})

function tamper (block: string): string {
  const lines = block.split('\n')
  const raw = Buffer.from(lines[1] as string, 'base64')
  raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 1
  return [lines[0], raw.toString('base64'), lines[2]].join('\n')
}
