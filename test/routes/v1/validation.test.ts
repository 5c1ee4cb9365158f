/**
 * Every validation rule of the contract, refused by the gateway with the upstream
 * envelope naming the field, and without a single upstream call (the simulator's own
 * counters prove it).
 */
import t from 'tap'
import { build } from '../../helpers/build.js'
import { MIXER_ORDER_EXAMPLE } from '../../../src/upstream/schemas/mixer-order.js'

const MIXER = { ...MIXER_ORDER_EXAMPLE }

const EXCHANGE = {
  from_coin: 'eth',
  from_network: 'eth',
  to_coin: 'doge',
  to_network: 'doge',
  to_address: 'DLPaeuaJi2JLUcvYHD4ddLxadwnGaVSt4p',
  amount: '1.00000000'
}

const TRACKCODE = '6A5FB3BA8A150EC9'

type Output = Record<string, unknown>

/** The mixer body with its outputs replaced. */
function outputs (...list: Output[]): Record<string, unknown> {
  return { ...MIXER, addresses: list }
}

/** A two-output body whose second output gets `patch`. */
function second (patch: Output): Record<string, unknown> {
  return outputs(MIXER.addresses[0] as Output, { ...MIXER.addresses[1], ...patch })
}

function without (body: Record<string, unknown>, field: string): Record<string, unknown> {
  const copy = { ...body }
  delete copy[field]
  return copy
}

interface Case {
  name: string
  method?: 'GET' | 'POST'
  url: string
  /** JSON body, or a raw string sent as is. */
  body?: unknown
  contentType?: string
  status?: number
  code?: string
  /** What the message must contain (the field's name, the rule). */
  message: RegExp
}

const addr = (i: number, field: string): string => `addresses\\[${i}\\]\\.${field}`

const CASES: Case[] = [
  // --- mixer: shape
  { name: 'mixer: addresses missing', url: '/v1/mixer/orders', body: without(MIXER, 'addresses'), message: /^addresses is required$/ },
  { name: 'mixer: no outputs', url: '/v1/mixer/orders', body: outputs(), message: /^addresses must list 1 to 10 outputs$/ },
  { name: 'mixer: 11 outputs', url: '/v1/mixer/orders', body: outputs(...Array.from({ length: 11 }, (_, i) => ({ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: i === 0 ? '0' : '10', delay: 0 }))), message: /^addresses must list 1 to 10 outputs$/ },
  { name: 'mixer: addresses not a list', url: '/v1/mixer/orders', body: { ...MIXER, addresses: 'x' }, message: /^addresses must list 1 to 10 outputs$/ },
  { name: 'mixer: an output that is not an object', url: '/v1/mixer/orders', body: outputs('x' as unknown as Output), message: /^addresses\[0\] must be object$/ },
  { name: 'mixer: output without address', url: '/v1/mixer/orders', body: second({ address: undefined }), message: new RegExp(`^${addr(1, 'address')} is required$`) },
  { name: 'mixer: output without percent', url: '/v1/mixer/orders', body: second({ percent: undefined }), message: new RegExp(`^${addr(1, 'percent')} is required$`) },
  { name: 'mixer: output without delay', url: '/v1/mixer/orders', body: second({ delay: undefined }), message: new RegExp(`^${addr(1, 'delay')} is required$`) },
  { name: 'mixer: unknown output field', url: '/v1/mixer/orders', body: second({ memo: 'x' }), message: new RegExp(`^${addr(1, 'memo')} is not an accepted field$`) },
  { name: 'mixer: unknown field', url: '/v1/mixer/orders', body: { ...MIXER, servce_fee: 1 }, message: /^servce_fee is not an accepted field$/ },
  { name: 'mixer: action other than create_order', url: '/v1/mixer/orders', body: { ...MIXER, action: 'delete' }, message: /^action must be "create_order"$/ },
  { name: 'mixer: body is a list', url: '/v1/mixer/orders', body: [MIXER], message: /^body must be object$/ },
  // --- mixer: percent
  { name: 'percent: 3 decimals as a string', url: '/v1/mixer/orders', body: second({ percent: '15.071' }), message: new RegExp(`^${addr(1, 'percent')} must be a percentage from 1.00 to 100.00 with at most 2 decimals$`) },
  { name: 'percent: 3 decimals as a number', url: '/v1/mixer/orders', body: second({ percent: 15.071 }), message: new RegExp(`^${addr(1, 'percent')} must have at most 2 decimals$`) },
  { name: 'percent: below 1.00 (string)', url: '/v1/mixer/orders', body: second({ percent: '0.99' }), message: new RegExp(`^${addr(1, 'percent')} must be a percentage`) },
  { name: 'percent: below 1.00 (number)', url: '/v1/mixer/orders', body: second({ percent: 0.5 }), message: new RegExp(`^${addr(1, 'percent')} must be a percentage`) },
  { name: 'percent: above 100.00 (string)', url: '/v1/mixer/orders', body: outputs({ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: '100.01', delay: 0 }), message: new RegExp(`^${addr(0, 'percent')} must be a percentage`) },
  { name: 'percent: above 100.00 (number)', url: '/v1/mixer/orders', body: outputs({ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: 101, delay: 0 }), message: new RegExp(`^${addr(0, 'percent')} must be a percentage`) },
  { name: 'percent: comma as separator', url: '/v1/mixer/orders', body: second({ percent: '15,07' }), message: new RegExp(`^${addr(1, 'percent')} must be a percentage`) },
  { name: 'percent: negative', url: '/v1/mixer/orders', body: second({ percent: -15.07 }), message: new RegExp(`^${addr(1, 'percent')} must be a percentage`) },
  { name: 'percent: boolean', url: '/v1/mixer/orders', body: second({ percent: true }), message: new RegExp(`^${addr(1, 'percent')} must be a percentage`) },
  { name: 'percent: sum below 100.00', url: '/v1/mixer/orders', body: second({ percent: '15.06' }), message: /^Sum of percents must be exactly 100\.00 \(addresses\[\]\.percent add up to 99\.99\)$/ },
  { name: 'percent: sum above 100.00', url: '/v1/mixer/orders', body: second({ percent: 50 }), message: /^Sum of percents must be exactly 100\.00 \(addresses\[\]\.percent add up to 134\.93\)$/ },
  { name: 'percent: single output below 100.00', url: '/v1/mixer/orders', body: outputs({ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: '99.99', delay: 0 }), message: new RegExp(`^${addr(0, 'percent')} must be exactly 100.00 for a single output$`) },
  // --- mixer: delay
  { name: 'delay: 2881 minutes as a string', url: '/v1/mixer/orders', body: second({ delay: '2881' }), message: new RegExp(`^${addr(1, 'delay')} must be minutes \\(0 to 2880\\) or a label like "2h 0m", at most 48h$`) },
  { name: 'delay: 2881 minutes as a number', url: '/v1/mixer/orders', body: second({ delay: 2881 }), message: new RegExp(`^${addr(1, 'delay')} must be minutes`) },
  { name: 'delay: label over 48h', url: '/v1/mixer/orders', body: second({ delay: '48h 1m' }), message: new RegExp(`^${addr(1, 'delay')} must be at most 48h \\(2880 minutes\\), got 2881 minutes$`) },
  { name: 'delay: label summing over 48h', url: '/v1/mixer/orders', body: second({ delay: '47h 61m' }), message: new RegExp(`^${addr(1, 'delay')} must be at most 48h`) },
  { name: 'delay: minutes-only label over 48h', url: '/v1/mixer/orders', body: second({ delay: '2881m' }), message: new RegExp(`^${addr(1, 'delay')} must be at most 48h`) },
  { name: 'delay: not minutes nor a label', url: '/v1/mixer/orders', body: second({ delay: '2 hours' }), message: new RegExp(`^${addr(1, 'delay')} must be minutes`) },
  { name: 'delay: fractional minutes', url: '/v1/mixer/orders', body: second({ delay: 1.5 }), message: new RegExp(`^${addr(1, 'delay')} must be minutes`) },
  { name: 'delay: negative', url: '/v1/mixer/orders', body: second({ delay: -1 }), message: new RegExp(`^${addr(1, 'delay')} must be minutes`) },
  // --- mixer: service fee
  { name: 'service_fee: below 0.10', url: '/v1/mixer/orders', body: { ...MIXER, service_fee: 0.09 }, message: /^service_fee must be a percentage from 0\.10 to 5\.00 with at most 2 decimals$/ },
  { name: 'service_fee: above 5.00', url: '/v1/mixer/orders', body: { ...MIXER, service_fee: '5.01' }, message: /^service_fee must be a percentage from 0\.10 to 5\.00/ },
  { name: 'service_fee: 3 decimals as a string', url: '/v1/mixer/orders', body: { ...MIXER, service_fee: '0.455' }, message: /^service_fee must be a percentage from 0\.10 to 5\.00/ },
  { name: 'service_fee: 3 decimals as a number', url: '/v1/mixer/orders', body: { ...MIXER, service_fee: 0.455 }, message: /^service_fee must have at most 2 decimals$/ },
  { name: 'service_fee: not a number', url: '/v1/mixer/orders', body: { ...MIXER, service_fee: 'low' }, message: /^service_fee must be a percentage/ },
  // --- mixer: amount, coin, network
  { name: 'amount: missing', url: '/v1/mixer/orders', body: without(MIXER, 'amount'), message: /^amount is required$/ },
  { name: 'amount: zero', url: '/v1/mixer/orders', body: { ...MIXER, amount: '0.00000000' }, message: /^amount must be a positive decimal with a dot as separator and at most 8 decimals$/ },
  { name: 'amount: zero as a number', url: '/v1/mixer/orders', body: { ...MIXER, amount: 0 }, message: /^amount must be a positive decimal/ },
  { name: 'amount: negative', url: '/v1/mixer/orders', body: { ...MIXER, amount: '-1' }, message: /^amount must be a positive decimal/ },
  { name: 'amount: comma as separator', url: '/v1/mixer/orders', body: { ...MIXER, amount: '10,5' }, message: /^amount must be a positive decimal/ },
  { name: 'amount: 9 decimals', url: '/v1/mixer/orders', body: { ...MIXER, amount: '1.123456789' }, message: /^amount must be a positive decimal/ },
  { name: 'amount: 9 decimals as a number', url: '/v1/mixer/orders', body: { ...MIXER, amount: 1.123456789 }, message: /^amount must have at most 8 decimals$/ },
  { name: 'amount: exponent too small for 8 decimals', url: '/v1/mixer/orders', body: { ...MIXER, amount: 1e-9 }, message: /^amount must be a positive decimal/ },
  { name: 'crypto: missing', url: '/v1/mixer/orders', body: without(MIXER, 'crypto'), message: /^crypto is required$/ },
  { name: 'crypto: malformed', url: '/v1/mixer/orders', body: { ...MIXER, crypto: 'b t c' }, message: /^crypto must be a coin or network id/ },
  { name: 'network: missing', url: '/v1/mixer/orders', body: without(MIXER, 'network'), message: /^network is required$/ },
  // --- mixer: addresses, tags, partner, qrcode
  { name: 'address: wrong format for the network', url: '/v1/mixer/orders', body: second({ address: '0x52908400098527886E0F7030069857D2E4169EE7' }), message: new RegExp(`^${addr(1, 'address')} is not a valid btc address$`) },
  { name: 'address: with spaces', url: '/v1/mixer/orders', body: second({ address: '1P279UBC hDFPAky8S4DcKGaaxKEMYBK9MM' }), message: new RegExp(`^${addr(1, 'address')} must be an address`) },
  { name: 'address: empty', url: '/v1/mixer/orders', body: second({ address: '' }), message: new RegExp(`^${addr(1, 'address')} must be an address`) },
  { name: 'destination_tag: not an XRP tag', url: '/v1/mixer/orders', body: { ...MIXER, crypto: 'xrp', network: 'xrp', amount: '100', addresses: [{ address: 'rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe', percent: 100, delay: 0, destination_tag: 'abc' }] }, message: new RegExp(`^${addr(0, 'destination_tag')} must be an XRP destination tag`) },
  { name: 'destination_tag: XRP tag over 2^32-1', url: '/v1/mixer/orders', body: { ...MIXER, crypto: 'xrp', network: 'xrp', amount: '100', addresses: [{ address: 'rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe', percent: 100, delay: 0, destination_tag: '4294967296' }] }, message: new RegExp(`^${addr(0, 'destination_tag')} must be an XRP destination tag`) },
  { name: 'destination_tag: too long', url: '/v1/mixer/orders', body: second({ destination_tag: 'm'.repeat(121) }), message: new RegExp(`^${addr(1, 'destination_tag')} must be a destination tag or memo`) },
  { name: 'partner: too long', url: '/v1/mixer/orders', body: { ...MIXER, partner: 'p'.repeat(129) }, message: /^partner must be a partner key/ },
  { name: 'partner: with a space', url: '/v1/mixer/orders', body: { ...MIXER, partner: 'my partner' }, message: /^partner must be a partner key/ },
  { name: 'qrcode: 2', url: '/v1/mixer/orders', body: { ...MIXER, qrcode: 2 }, message: /^qrcode must be 0 or 1$/ },
  // --- exchange
  { name: 'exchange: from_coin missing', url: '/v1/exchange/orders', body: without(EXCHANGE, 'from_coin'), message: /^from_coin is required$/ },
  { name: 'exchange: to_network missing', url: '/v1/exchange/orders', body: without(EXCHANGE, 'to_network'), message: /^to_network is required$/ },
  { name: 'exchange: to_address missing', url: '/v1/exchange/orders', body: without(EXCHANGE, 'to_address'), message: /^to_address is required$/ },
  { name: 'exchange: to_address of another network', url: '/v1/exchange/orders', body: { ...EXCHANGE, to_address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL' }, message: /^to_address is not a valid doge address$/ },
  { name: 'exchange: amount 9 decimals', url: '/v1/exchange/orders', body: { ...EXCHANGE, amount: '1.000000001' }, message: /^amount must be a positive decimal/ },
  { name: 'exchange: amount zero', url: '/v1/exchange/orders', body: { ...EXCHANGE, amount: 0 }, message: /^amount must be a positive decimal/ },
  { name: 'exchange: service_fee 3 decimals (string)', url: '/v1/exchange/orders', body: { ...EXCHANGE, service_fee: '0.555' }, message: /^service_fee must be a percentage with at most 2 decimals$/ },
  { name: 'exchange: service_fee 3 decimals (number)', url: '/v1/exchange/orders', body: { ...EXCHANGE, service_fee: 0.555 }, message: /^service_fee must have at most 2 decimals$/ },
  { name: 'exchange: service_fee negative', url: '/v1/exchange/orders', body: { ...EXCHANGE, service_fee: -1 }, message: /^service_fee must be a percentage/ },
  { name: 'exchange: XRP destination_tag not an integer', url: '/v1/exchange/orders', body: { ...EXCHANGE, to_coin: 'xrp', to_network: 'xrp', to_address: 'rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe', destination_tag: '12a' }, message: /^destination_tag must be an XRP destination tag/ },
  { name: 'exchange: memo too long', url: '/v1/exchange/orders', body: { ...EXCHANGE, to_coin: 'ton', to_network: 'ton', to_address: 'EQDtFpEwcFAEcRe5mLVh2N6C0x-_hJEM7W61_JLnSF74p4q2', memo: 'm'.repeat(121) }, message: /^memo must be a destination tag or memo/ },
  { name: 'exchange: unknown field', url: '/v1/exchange/orders', body: { ...EXCHANGE, action: 'create_order' }, message: /^action is not an accepted field$/ },
  { name: 'exchange: qrcode "yes"', url: '/v1/exchange/orders', body: { ...EXCHANGE, qrcode: 'yes' }, message: /^qrcode must be 0 or 1$/ },
  // --- check
  { name: 'check: trackcode missing', url: '/v1/orders/check', body: {}, message: /^trackcode is required$/ },
  { name: 'check: trackcode lower case', url: '/v1/orders/check', body: { trackcode: TRACKCODE.toLowerCase() }, message: /^trackcode must be 16 upper-case hexadecimal characters$/ },
  { name: 'check: trackcode 15 characters', url: '/v1/orders/check', body: { trackcode: TRACKCODE.slice(1) }, message: /^trackcode must be 16 upper-case hexadecimal characters$/ },
  { name: 'check: trackcode not hex', url: '/v1/orders/check', body: { trackcode: 'GA5FB3BA8A150EC9' }, message: /^trackcode must be 16 upper-case hexadecimal characters$/ },
  { name: 'check: trackcode a number', url: '/v1/orders/check', body: { trackcode: 1234567890123456 }, message: /^trackcode must be 16 upper-case hexadecimal characters$/ },
  { name: 'check: type', url: '/v1/orders/check', body: { trackcode: TRACKCODE, type: 'swap' }, message: /^type must be "mixer" or "exchange"$/ },
  { name: 'check: outputs', url: '/v1/orders/check', body: { trackcode: TRACKCODE, outputs: 'all' }, message: /^outputs must be "none", "summary" or "full"$/ },
  { name: 'check: mask_addresses', url: '/v1/orders/check', body: { trackcode: TRACKCODE, mask_addresses: 'yes' }, message: /^mask_addresses must be true or false$/ },
  { name: 'check: unknown field', url: '/v1/orders/check', body: { trackcode: TRACKCODE, verbose: true }, message: /^verbose is not an accepted field$/ },
  // --- delete
  { name: 'delete: trackcode missing', url: '/v1/orders/delete', body: { type: 'mixer' }, message: /^trackcode is required$/ },
  { name: 'delete: trackcode malformed', url: '/v1/orders/delete', body: { trackcode: 'D391FC08747E7B0' }, message: /^trackcode must be 16 upper-case hexadecimal characters$/ },
  { name: 'delete: type', url: '/v1/orders/delete', body: { trackcode: TRACKCODE, type: 'Mixer' }, message: /^type must be "mixer" or "exchange"$/ },
  { name: 'delete: unknown field', url: '/v1/orders/delete', body: { trackcode: TRACKCODE, force: true }, message: /^force is not an accepted field$/ },
  // --- validate
  { name: 'validate: signature missing', url: '/v1/validate', body: {}, message: /^signature is required$/ },
  { name: 'validate: signature empty', url: '/v1/validate', body: { signature: '' }, message: /^signature must be a Base64 guarantee letter/ },
  { name: 'validate: signature blank', url: '/v1/validate', body: { signature: ' \n ' }, message: /^signature must be a Base64 guarantee letter/ },
  { name: 'validate: signature not Base64', url: '/v1/validate', body: { signature: '<script>alert(1)</script>' }, message: /^signature must be a Base64 guarantee letter/ },
  { name: 'validate: signature too long', url: '/v1/validate', body: { signature: 'A'.repeat(16_385) }, message: /^signature must be a Base64 guarantee letter/ },
  { name: 'validate: signature not a string', url: '/v1/validate', body: { signature: 42 }, message: /^signature must be a Base64 guarantee letter/ },
  { name: 'validate: unknown field', url: '/v1/validate', body: { signature: 'QUJD', trackcode: TRACKCODE }, message: /^trackcode is not an accepted field$/ },
  // --- prices
  { name: 'prices: symbols with a semicolon', method: 'GET', url: '/v1/prices?symbols=BTC;ETH', message: /^symbols must be a comma-separated list of tickers/ },
  { name: 'prices: empty ticker', method: 'GET', url: '/v1/prices?symbols=BTC,,ETH', message: /^symbols must be a comma-separated list of tickers/ },
  { name: 'prices: ticker too long', method: 'GET', url: '/v1/prices?symbols=ABCDEFGHIJKLM', message: /^symbols must be a comma-separated list of tickers/ },
  { name: 'prices: list too long', method: 'GET', url: `/v1/prices?symbols=${Array.from({ length: 60 }, () => 'BTCX').join(',')}`, message: /^symbols must be a comma-separated list of tickers/ },
  { name: 'prices: symbols given twice', method: 'GET', url: '/v1/prices?symbols=BTC&symbols=ETH', message: /^symbols must be a comma-separated list of tickers/ },
  // --- bodies that are not JSON objects at all
  { name: 'malformed JSON', url: '/v1/mixer/orders', body: '{"amount": "1",', message: /^Request body is not valid JSON$/ },
  { name: 'empty JSON body', url: '/v1/orders/check', body: '', message: /^Request body is empty/ },
  { name: 'not JSON', url: '/v1/orders/check', body: 'trackcode=6A5FB3BA8A150EC9', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /Content-Type must be application\/json/ },
  { name: 'oversized body', url: '/v1/validate', body: JSON.stringify({ signature: 'A'.repeat(70_000) }), status: 413, code: 'PAYLOAD_TOO_LARGE', message: /too large/ },
  { name: 'unknown route', method: 'GET', url: '/v1/orders', status: 404, code: 'NOT_FOUND', message: /^No route GET \/v1\/orders$/ },
  { name: 'unknown method of a known path', method: 'GET', url: '/v1/mixer/orders', status: 404, code: 'NOT_FOUND', message: /^No route GET \/v1\/mixer\/orders$/ }
]

const AMOUNT_CASES: Case[] = [
  { name: 'amount below the coin\'s minimum', url: '/v1/mixer/orders', body: { ...MIXER, amount: '0.0009' }, code: 'AMOUNT_TOO_LOW', message: /^amount is below the minimum of 0\.001 BTC on btc$/ },
  { name: 'amount above the coin\'s maximum', url: '/v1/mixer/orders', body: { ...MIXER, amount: 20.00000001 }, code: 'AMOUNT_TOO_HIGH', message: /^amount is above the maximum of 20 BTC on btc$/ },
  { name: 'amount limits of another network of a coin', url: '/v1/mixer/orders', body: { ...MIXER, crypto: 'USDT', network: 'TRC20', amount: '19.99', addresses: [{ address: 'TJYeasTPa6gpEEfYqP5bmwaqSCgZ4R9Hx8', percent: 100, delay: 0 }] }, code: 'AMOUNT_TOO_LOW', message: /^amount is below the minimum of 20 USDT on trc20$/ }
]

t.test('every rule is refused with the envelope, naming the field, with no upstream call', async (t) => {
  const { sim, gw } = await build(t, { config: { bodyLimit: 65_536 } })

  // The amount limits come from /v1/meta/mixer through the cache: load it once, so that
  // the refusals below are provably free.
  t.equal((await gw.app.inject({ method: 'GET', url: '/v1/meta/mixer' })).statusCode, 200)

  for (const c of [...CASES, ...AMOUNT_CASES]) {
    sim.control.resetStats()
    const method = c.method ?? 'POST'
    const raw = typeof c.body === 'string'
    const res = await gw.app.inject({
      method,
      url: c.url,
      ...(method === 'POST'
        ? { headers: { 'content-type': c.contentType ?? 'application/json' }, payload: raw ? c.body as string : JSON.stringify(c.body) }
        : {})
    })
    const body = res.json()
    t.equal(res.statusCode, c.status ?? 400, `${c.name}: status`)
    t.match(res.headers['content-type'], /^application\/json/, `${c.name}: JSON`)
    t.equal(body.ok, false, `${c.name}: ok false`)
    t.equal(body.code, c.code ?? 'BAD_REQUEST', `${c.name}: code`)
    t.match(body.message, c.message, `${c.name}: message`)
    if (c.url === '/v1/validate') {
      t.same(Object.keys(body).sort(), ['code', 'error', 'message', 'ok'], `${c.name}: validate's envelope carries error and code`)
      t.equal(body.error, body.code)
    } else {
      t.same(Object.keys(body).sort(), ['code', 'message', 'ok'], `${c.name}: exactly the envelope`)
    }
    t.equal(sim.control.stats().total, 0, `${c.name}: no upstream call`)
  }
})

t.test('amount limits: the meta is read once per TTL, then every refusal is free', async (t) => {
  const { sim, gw } = await build(t)
  for (let i = 0; i < 5; i++) {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/mixer/orders', payload: { ...MIXER, amount: '25' } })
    t.equal(res.json().code, 'AMOUNT_TOO_HIGH')
  }
  t.same(sim.control.stats().byRoute, { 'GET /v1/meta/mixer': 1 }, 'one meta call, no create')
})

t.test('amount limits: when the meta cannot be read, upstream judges the order', async (t) => {
  const { sim, gw } = await build(t)
  sim.control.fail({ mode: 'status500', count: 3, route: 'GET /v1/meta/mixer' })
  const res = await gw.app.inject({ method: 'POST', url: '/v1/mixer/orders', payload: { ...MIXER, amount: '25' } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'AMOUNT_TOO_HIGH', 'upstream\'s own refusal, forwarded')
  t.equal(sim.control.stats().byRoute['POST /v1/mixer/orders'], 1, 'the create went upstream')

  const ok = await gw.app.inject({ method: 'POST', url: '/v1/mixer/orders', payload: MIXER })
  t.equal(ok.statusCode, 200, 'and a good order is created')
})

t.test('the gateway accepts what the contract allows', async (t) => {
  const { gw } = await build(t)
  const good: Array<[string, string, unknown]> = [
    ['percents as numbers, delays as labels', '/v1/mixer/orders', second({ percent: 15.07, delay: '2h 0m' })],
    ['single output of 100', '/v1/mixer/orders', outputs({ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: '100.00', delay: '0h 0m' })],
    ['ten outputs', '/v1/mixer/orders', outputs(...Array.from({ length: 10 }, () => ({ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: '10', delay: 5 })))],
    ['fee bounds', '/v1/mixer/orders', { ...MIXER, service_fee: '0.10', qrcode: '0' }],
    ['fee upper bound', '/v1/mixer/orders', { ...MIXER, service_fee: 5, qrcode: true }],
    ['amount as a number at the minimum', '/v1/mixer/orders', { ...MIXER, amount: 0.001 }],
    ['amount at the maximum', '/v1/mixer/orders', { ...MIXER, amount: '20' }],
    ['upper-case coin and network', '/v1/mixer/orders', { ...MIXER, crypto: 'BTC', network: 'BTC' }],
    ['empty destination tag', '/v1/mixer/orders', second({ destination_tag: '' })],
    ['XRP with a tag', '/v1/exchange/orders', { ...EXCHANGE, to_coin: 'xrp', to_network: 'xrp', to_address: 'rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe', destination_tag: 123456 }],
    ['TON with a memo', '/v1/exchange/orders', { ...EXCHANGE, to_coin: 'ton', to_network: 'ton', to_address: 'EQDtFpEwcFAEcRe5mLVh2N6C0x-_hJEM7W61_JLnSF74p4q2', memo: 'MYMEMO123' }]
  ]
  for (const [name, url, payload] of good) {
    const res = await gw.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> })
    t.equal(res.statusCode, 200, `${name}: ${res.body.slice(0, 200)}`)
  }
})
