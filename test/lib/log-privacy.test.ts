import t from 'tap'
import { Writable } from 'node:stream'
import { anonymizeIp, maskAddress, redactUrl, scrubText, shortTrackcode } from '../../src/lib/log-privacy.js'
import { build } from '../helpers/build.js'
import { SIM_KEY, BTC_A, BTC_B, GATEWAY_TOKEN, ORDER_TOKEN_SECRET, TOKEN_AUTH, mixerOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'

const TRACKCODE = '6A5FB3BA8A150EC9'

t.test('trackcodes are shortened to 4 characters and a keyed hash', async (t) => {
  const short = shortTrackcode(TRACKCODE)
  t.match(short, /^6A5F…[0-9a-f]{8}$/)
  t.equal(shortTrackcode(TRACKCODE), short, 'stable within the process: one order\'s lines can be followed')
  t.equal(shortTrackcode(TRACKCODE.toLowerCase()), short)
  t.not(shortTrackcode('6A5FB3BA8A150EC8'), short)
  t.equal(redactUrl(`/orders/${TRACKCODE}/subscribe`), `/orders/${short}/subscribe`)
  t.equal(redactUrl(`/orders/${TRACKCODE}`), `/orders/${short}`)
  t.match(redactUrl('/orders/anything-at-all'), /^\/orders\/ANYT…[0-9a-f]{8}$/, 'a malformed trackcode is shortened too')
  t.equal(redactUrl('/v1/orders/check'), '/v1/orders/check')
  t.equal(redactUrl('/v1/prices?symbols=BTC,ETH'), '/v1/prices?symbols=BTC,ETH')
  t.equal(redactUrl(`/x?trackcode=${TRACKCODE}&key=abc&n=1`), '/x?trackcode=[redacted]&key=[redacted]&n=1')
  t.equal(scrubText(`poller for ${TRACKCODE} stopped`), `poller for ${short} stopped`)
  t.equal(scrubText('tx 135f451af7f894aafafb578eee9e9c4135f451af7f894aafafb578eee9e9c4'), 'tx 135f451af7f894aafafb578eee9e9c4135f451af7f894aafafb578eee9e9c4', 'longer hex (a tx hash) is not a trackcode')
})

t.test('addresses are masked, IPs truncated to their network', async (t) => {
  t.equal(maskAddress(BTC_A), '35iM…EL')
  t.equal(maskAddress('short'), '…')
  t.equal(anonymizeIp('203.0.113.77'), '203.0.113.0')
  t.equal(anonymizeIp('::ffff:203.0.113.77'), '203.0.113.0')
  t.equal(anonymizeIp('2001:db8:85a3:8d3:1319:8a2e:370:7348'), '2001:db8:85a3::')
  t.equal(anonymizeIp('::1'), '::')
  t.equal(anonymizeIp('nonsense'), 'unknown')
})

t.test('logs of a whole session hold no secret, no full address, no full trackcode', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const partnerKey = 'partner-secret-4f9d2c'
  const { gw, sim } = await build(t, { config: { partnerKey }, app: { logger: { level: 'trace', stream } } })

  const created = await request(`${gw.url}/v1/mixer/orders`, {
    body: mixerOrder(),
    headers: { ...TOKEN_AUTH, cookie: 'session=abc123secret', 'idempotency-key': 'idem-key-0123456789-secret' }
  })
  t.equal(created.status, 200)
  const orderToken = created.headers.get('trackgate-order-token') ?? ''
  t.ok(orderToken.length === 43, 'the creator got its order token')
  const trackcode: string = created.json.trackcode
  const signature: string = created.json.signature_text
  const deposit: string = created.json.deposit.address
  t.equal(sim.control.getOrder(trackcode)?.partner, partnerKey, 'the partner key was really used')

  await request(`${gw.url}/v1/orders/check`, { body: { trackcode, outputs: 'full', mask_addresses: false }, headers: { 'trackgate-order-token': orderToken } })
  await request(`${gw.url}/v1/orders/check`, { body: { trackcode, outputs: 'full', mask_addresses: false }, headers: { 'trackgate-order-token': `${orderToken.slice(0, -1)}x` } })
  await request(`${gw.url}/orders/${trackcode}/token`, { method: 'POST', headers: TOKEN_AUTH })
  await request(`${gw.url}/v1/ping`, { headers: { authorization: 'Bearer tg_revokedrevokedrevokedrevokedrevokedrevoked' } })
  await request(`${gw.url}/orders/${trackcode}`)
  await request(`${gw.url}/orders/${TRACKCODE}`)
  await request(`${gw.url}/v1/validate`, { body: { signature }, headers: TOKEN_AUTH })
  sim.control.fail({ mode: 'reset', route: 'POST /v1/mixer/orders', count: 1 })
  await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })
  // What other code might log.
  gw.app.log.info({ trackcode, address: BTC_A, partner: partnerKey, order: { signature_text: signature, to_address: BTC_B } }, `checked ${trackcode}`)
  gw.app.log.info({ body: mixerOrder() }, 'a body')
  gw.app.log.info({ order_token: orderToken, token: GATEWAY_TOKEN, config: gw.config, headers: { 'trackgate-order-token': orderToken } }, 'credentials')
  const err = Object.assign(new Error(`order ${trackcode} failed`), { code: 'X_FAILED', request: { addresses: [BTC_A] } })
  gw.app.log.error({ err }, 'an error')

  const log = lines.join('')
  if (process.env.SHOW_LOG) process.stderr.write(log)
  t.ok(lines.length > 10, 'requests were logged')
  t.match(log, /"url":"\/orders\/6A5F…[0-9a-f]{8}"/, 'URLs are logged, trackcodes shortened')
  t.match(log, new RegExp(`${trackcode.slice(0, 4)}…[0-9a-f]{8}`), 'the created order is followable by its short form')
  t.match(log, /"ip":"127\.0\.0\.0"/)
  t.match(log, /"address":"35iM…EL"/)
  t.match(log, /"err":\{"type":"Error","message":"order [0-9A-F]{4}…[0-9a-f]{8} failed"/, 'errors are logged, trackcodes shortened')
  t.match(log, /"code":"X_FAILED"/)
  for (const [what, secret] of Object.entries({
    'API key': SIM_KEY,
    'partner key': partnerKey,
    'gateway token': GATEWAY_TOKEN.slice(3),
    'refused gateway token': 'revokedrevoked',
    'order token': orderToken,
    'wrong order token': orderToken.slice(0, -1),
    'order token secret': ORDER_TOKEN_SECRET,
    cookie: 'abc123secret',
    'idempotency key': 'idem-key-0123456789-secret',
    signature_text: signature.slice(0, 40),
    'output address A': BTC_A,
    'output address B': BTC_B,
    'deposit address': deposit,
    'created trackcode': trackcode,
    'looked-up trackcode': TRACKCODE
  })) {
    t.notOk(log.includes(secret), `no ${what} in the logs`)
  }
})
