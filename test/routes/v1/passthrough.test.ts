/**
 * The REST pass-through over real HTTP: every endpoint's success path via the simulator,
 * upstream answers (success and error) forwarded byte for byte, and the partner key.
 */
import t, { type Test } from 'tap'
import { createManualClock } from '../../../src/simulator/index.js'
import { build, type Built } from '../../helpers/build.js'
import { sendJson, startFakeUpstream } from '../../helpers/fake-upstream.js'
import { AUTH, TOKEN_AUTH } from '../../helpers/fixtures.js'
import { request } from '../../helpers/http.js'
import type { Config } from '../../../src/config.js'
import { MIXER_ORDER_EXAMPLE } from '../../../src/upstream/schemas/mixer-order.js'

const MIXER_ORDER = { action: 'create_order', ...MIXER_ORDER_EXAMPLE, service_fee: 0.45, qrcode: 1 }

const EXCHANGE_ORDER = {
  from_coin: 'eth',
  from_network: 'eth',
  to_coin: 'doge',
  to_network: 'doge',
  to_address: 'DLPaeuaJi2JLUcvYHD4ddLxadwnGaVSt4p',
  amount: '1.00000000',
  service_fee: 0.6,
  qrcode: 1
}

/** Simulator with a frozen clock (identical answers to identical questions) + gateway. */
async function frozen (t: Test, config: Partial<Config> = {}): Promise<Built> {
  return await build(t, { clock: createManualClock(Date.UTC(2025, 7, 20, 12)), config })
}

t.test('the GET endpoints answer exactly what upstream answers', async (t) => {
  const { sim, gw } = await frozen(t)
  for (const path of ['/v1/ping', '/v1/meta', '/v1/meta/mixer', '/v1/meta/exchange', '/v1/prices', '/v1/prices?symbols=BTC,ETH']) {
    const direct = await request(sim.url + path, { headers: AUTH })
    const via = await request(gw.url + path)
    t.equal(direct.status, 200, `${path}: upstream answers`)
    t.equal(via.status, direct.status, `${path}: same status`)
    t.equal(via.text, direct.text, `${path}: same bytes`)
    t.match(via.headers.get('content-type'), /^application\/json/, `${path}: JSON`)
  }
})

t.test('prices: any spelling of a symbol list is asked upstream in its normal form', async (t) => {
  const { sim, gw } = await frozen(t)
  const direct = await request(`${sim.url}/v1/prices?symbols=BTC,ETH`, { headers: AUTH })
  const via = await request(gw.url + '/v1/prices?symbols=' + encodeURIComponent(' eth, btc,ETH '))
  t.equal(via.status, 200)
  t.equal(via.text, direct.text)
})

t.test('create a mixer order', async (t) => {
  const { sim, gw } = await frozen(t)
  const res = await request(`${gw.url}/v1/mixer/orders`, { body: MIXER_ORDER })
  t.equal(res.status, 200)
  const body = JSON.parse(res.text)
  t.equal(body.ok, true)
  const order = sim.control.getOrder(body.trackcode)
  t.ok(order, 'the order exists upstream')
  t.equal(order?.type, 'mixer')
  t.equal(body.deposit.deposit_amount, order?.depositAmount)
  t.equal(body.outputs.length, 2)
  t.same(order?.outputs.map((o) => o.address), MIXER_ORDER.addresses.map((a) => a.address), 'outputs forwarded in order')
  t.equal(order?.serviceFee, '0.45', 'service_fee forwarded')
  t.equal(sim.control.stats().byRoute['POST /v1/mixer/orders'], 1, 'created exactly once')
})

t.test('percents that do not add up in floating point but do exactly are accepted', async (t) => {
  const { sim, gw } = await frozen(t)
  const percents = [9.9, 9.9, 9.9, 9.9, 9.9, 9.9, 9.9, 9.9, 9.9, 10.9]
  t.not(percents.reduce((a, b) => a + b, 0), 100, 'the float sum misses 100')
  const res = await request(`${gw.url}/v1/mixer/orders`, {
    body: {
      ...MIXER_ORDER,
      addresses: percents.map((percent) => ({ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent, delay: 0 }))
    }
  })
  t.equal(res.status, 200, res.text)
  t.equal(sim.control.getOrder(JSON.parse(res.text).trackcode)?.outputs.length, 10)
})

t.test('delay labels and numbers are forwarded as sent', async (t) => {
  const { sim, gw } = await frozen(t)
  const res = await request(`${gw.url}/v1/mixer/orders`, {
    body: {
      ...MIXER_ORDER,
      addresses: [
        { address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: 50, delay: '48h 0m' },
        { address: '1P279UBChDFPAky8S4DcKGaaxKEMYBK9MM', percent: '50.00', delay: 2880 }
      ]
    }
  })
  t.equal(res.status, 200, res.text)
  t.same(sim.control.getOrder(JSON.parse(res.text).trackcode)?.outputs.map((o) => o.delayMinutes), [2880, 2880])
})

t.test('create an exchange order', async (t) => {
  const { sim, gw } = await frozen(t)
  const res = await request(`${gw.url}/v1/exchange/orders`, { body: EXCHANGE_ORDER })
  t.equal(res.status, 200, res.text)
  const body = JSON.parse(res.text)
  t.equal(body.type, 'exchange')
  const order = sim.control.getOrder(body.trackcode)
  t.equal(order?.type, 'exchange')
  t.equal(order?.outputs[0]?.address, EXCHANGE_ORDER.to_address)

  const capped = await request(`${gw.url}/v1/exchange/orders`, { body: { ...EXCHANGE_ORDER, service_fee: '9.5' } })
  t.equal(capped.status, 200, 'an out-of-range exchange fee is upstream\'s to clamp, not refused')
})

t.test('check, delete and validate an order', async (t) => {
  const { sim, gw } = await frozen(t)
  const created = JSON.parse((await request(`${gw.url}/v1/mixer/orders`, { body: MIXER_ORDER })).text)
  const trackcode: string = created.trackcode

  for (const body of [{ trackcode }, { trackcode, type: 'mixer', outputs: 'full', mask_addresses: false }, { trackcode, outputs: 'none', mask_addresses: 1 }]) {
    const direct = await request(`${sim.url}/v1/orders/check`, { body, headers: AUTH })
    // Unmasked addresses are the owner's: the gateway token is one.
    const via = await request(`${gw.url}/v1/orders/check`, { body, headers: TOKEN_AUTH })
    t.equal(via.status, 200)
    t.equal(via.text, direct.text, `check ${JSON.stringify(body)}: same bytes`)
  }

  const signature = { signature: created.signature_text }
  const directValid = await request(`${sim.url}/v1/validate`, { body: signature, headers: AUTH })
  const viaValid = await request(`${gw.url}/v1/validate`, { body: signature, headers: TOKEN_AUTH })
  t.equal(viaValid.status, 200)
  t.equal(viaValid.text, directValid.text, 'validate: same bytes')
  t.equal(JSON.parse(viaValid.text).trackcode, trackcode)

  const deleted = await request(`${gw.url}/v1/orders/delete`, { body: { trackcode, type: 'mixer' }, headers: TOKEN_AUTH })
  t.equal(deleted.status, 200)
  t.same(JSON.parse(deleted.text), { ok: true, trackcode, type: 'mixer', deleted: true })
  t.equal(sim.control.getOrder(trackcode), undefined, 'gone upstream')

  const again = await request(`${gw.url}/v1/orders/delete`, { body: { trackcode }, headers: TOKEN_AUTH })
  const againDirect = await request(`${sim.url}/v1/orders/delete`, { body: { trackcode }, headers: AUTH })
  t.equal(again.status, 404, 'upstream\'s 404 is forwarded')
  t.equal(again.text, againDirect.text)
  t.equal(JSON.parse(again.text).code, 'NOT_FOUND')
})

t.test('upstream errors keep their status and body, /v1/validate its `error` key', async (t) => {
  const { sim, gw } = await frozen(t)
  // Base64 the gateway accepts, that upstream cannot open.
  const garbage = { signature: 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=' }
  const direct = await request(`${sim.url}/v1/validate`, { body: garbage, headers: AUTH })
  const via = await request(`${gw.url}/v1/validate`, { body: garbage, headers: TOKEN_AUTH })
  t.equal(direct.status, 400)
  t.equal(via.status, 400)
  t.equal(via.text, direct.text)
  t.equal(JSON.parse(via.text).error, 'INVALID_SIGNATURE')
  t.notOk('code' in JSON.parse(via.text), 'upstream\'s envelope is not rewritten')

  const unknown = await request(`${gw.url}/v1/orders/check`, { body: { trackcode: '0123456789ABCDEF' } })
  t.equal(unknown.status, 404)
  t.equal(unknown.text, (await request(`${sim.url}/v1/orders/check`, { body: { trackcode: '0123456789ABCDEF' }, headers: AUTH })).text)
})

t.test('a 503 from upstream (no free deposit address) is forwarded', async (t) => {
  const { sim, gw } = await build(t, { sim: { exhaustedNetworks: ['btc'] } })
  const res = await request(`${gw.url}/v1/mixer/orders`, { body: MIXER_ORDER })
  t.equal(res.status, 503)
  t.equal(JSON.parse(res.text).code, 'SERVICE_UNAVAILABLE')
  t.equal(sim.control.stats().byRoute['POST /v1/mixer/orders'], 1, 'a create is not retried')
})

t.test('answers pass byte for byte: unknown fields, numeric strings, number spelling, whitespace', async (t) => {
  const upstream = await startFakeUpstream()
  t.teardown(upstream.close)
  const { gw } = await build(t, { upstream: upstream.baseUrl })
  const bodies: Record<string, string> = {
    '/v1/ping': '{"ok":true, "service":"SecretCryptos API","version":"1.2.6","ts":"1723800000","brand_new_field":{"x":[1,2.50]}}',
    '/v1/prices': '{"ok":true,"base":"USD","ts":1755600000.0,"prices":{"BTC":117799.51713382,"ETH":"4409.46254479"},"source":"x"}',
    '/v1/orders/check': '{\n  "ok": true,\n  "type": "mixer",\n  "trackcode": "6A5FB3BA8A150EC9",\n  "deposit": {"confirm_status": "2", "delete_in_sec": 1.0e5},\n  "outputs": {"count": "3"}\n}',
    '/v1/validate': '{"ok":false,"error":"DECRYPTION_FAILED","message":"nope","hint":null}'
  }
  upstream.handle((req, res) => {
    const path = req.url.split('?')[0] ?? ''
    const body = bodies[path]
    if (body === undefined) return sendJson(res, 500, '{"ok":false,"code":"SERVER_ERROR","message":"unexpected"}')
    sendJson(res, path === '/v1/validate' ? 400 : 200, body)
  })
  const ping = await request(`${gw.url}/v1/ping`)
  t.equal(ping.text, bodies['/v1/ping'], 'ping: the numeric string ts and the unknown field survive the response schema')
  const prices = await request(`${gw.url}/v1/prices`)
  t.equal(prices.text, bodies['/v1/prices'], 'prices: a number where a string is documented stays a number')
  const check = await request(`${gw.url}/v1/orders/check`, { body: { trackcode: '6A5FB3BA8A150EC9' } })
  t.equal(check.text, bodies['/v1/orders/check'], 'check: formatting and types untouched')
  const validate = await request(`${gw.url}/v1/validate`, { body: { signature: 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=' }, headers: TOKEN_AUTH })
  t.equal(validate.status, 400)
  t.equal(validate.text, bodies['/v1/validate'], 'validate: the error envelope with `error` untouched')
})

t.test('upstream statuses and Retry-After are forwarded', async (t) => {
  const upstream = await startFakeUpstream()
  t.teardown(upstream.close)
  const { gw } = await build(t, { upstream: upstream.baseUrl })
  const cases: Array<[number, string, Record<string, string>]> = [
    [401, '{"ok":false,"code":"UNAUTHORIZED","message":"Invalid API key"}', {}],
    [403, '{"ok":false,"code":"FORBIDDEN","message":"This API key is disabled"}', {}],
    [429, '{"ok":false,"code":"TOO_MANY_REQUESTS","message":"Daily request limit reached"}', { 'retry-after': '3600' }]
  ]
  for (const [status, body, headers] of cases) {
    upstream.handle((_req, res) => sendJson(res, status, body, headers))
    const res = await request(`${gw.url}/v1/exchange/orders`, { body: EXCHANGE_ORDER })
    t.equal(res.status, status)
    t.equal(res.text, body)
    if (headers['retry-after'] !== undefined) t.equal(res.headers.get('retry-after'), headers['retry-after'])
  }
})

t.test('a configured partner key is the partner of every created order, whatever the body says', async (t) => {
  const partnerKey = 'PARTNER-KEY-7Q2'
  const { sim, gw } = await frozen(t, { partnerKey })
  const partnerOf = async (path: string, body: unknown): Promise<string | null | undefined> => {
    const res = await request(gw.url + path, { body })
    t.equal(res.status, 200, res.text)
    return sim.control.getOrder(JSON.parse(res.text).trackcode)?.partner
  }
  t.equal(await partnerOf('/v1/mixer/orders', MIXER_ORDER), partnerKey, 'mixer: injected')
  t.equal(await partnerOf('/v1/mixer/orders', { ...MIXER_ORDER, partner: '' }), partnerKey, 'mixer: "" replaced')
  t.equal(await partnerOf('/v1/mixer/orders', { ...MIXER_ORDER, partner: 'CLIENT-OWN' }), partnerKey, 'mixer: the client\'s own is overridden')
  t.equal(await partnerOf('/v1/exchange/orders', EXCHANGE_ORDER), partnerKey, 'exchange: injected')
  t.equal(await partnerOf('/v1/exchange/orders', { ...EXCHANGE_ORDER, partner: 'CLIENT-OWN' }), partnerKey, 'exchange: the client\'s own is overridden')
})

t.test('without a partner key a body\'s own partner passes as sent', async (t) => {
  const { sim, gw } = await frozen(t)
  const res = await request(`${gw.url}/v1/mixer/orders`, { body: { ...MIXER_ORDER, partner: 'CLIENT-OWN' } })
  t.equal(res.status, 200, res.text)
  t.equal(sim.control.getOrder(JSON.parse(res.text).trackcode)?.partner, 'CLIENT-OWN')
})

t.test('without a partner key nothing is added', async (t) => {
  const upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, '{"ok":true}'))
  t.teardown(upstream.close)
  const { gw } = await build(t, { upstream: upstream.baseUrl })
  await request(`${gw.url}/v1/mixer/orders`, { body: MIXER_ORDER })
  t.same(JSON.parse(upstream.requests.at(-1)?.body ?? ''), MIXER_ORDER, 'the body is forwarded as the client sent it')
})
