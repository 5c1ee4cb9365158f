/**
 * The API key never leaves the server: not in any response (body or header) of any
 * route, success or failure, and not in the logs, even at `trace` and without pino's
 * redaction. The partner key stays out of the logs too.
 */
import t from 'tap'
import { Writable } from 'node:stream'
import { build } from '../helpers/build.js'
import { TOKEN_AUTH } from '../helpers/fixtures.js'
import { MIXER_ORDER_EXAMPLE } from '../../src/upstream/schemas/mixer-order.js'

const KEY = 'sk-live-SECRET-4c9e1f7a2b'
const PARTNER = 'partner-SECRET-77d1'

const MIXER = { ...MIXER_ORDER_EXAMPLE, qrcode: 1 }

const EXCHANGE = {
  from_coin: 'eth',
  from_network: 'eth',
  to_coin: 'doge',
  to_network: 'doge',
  to_address: 'DLPaeuaJi2JLUcvYHD4ddLxadwnGaVSt4p',
  amount: '1.00000000'
}

t.test('the key is in no response and no log line', async (t) => {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'))
      done()
    }
  })
  const { sim, gw } = await build(t, {
    sim: { apiKeys: [KEY] },
    config: { apiKey: KEY, partnerKey: PARTNER, upstreamTimeoutMs: 2000, dailyQuota: 40, quotaReserve: 5, quotaPollShare: 0, anonDailyAllowance: 1000 },
    app: { logger: { level: 'trace', stream } }
  })

  const seen: Array<{ what: string, status: number, text: string }> = []
  async function call (method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    const res = await fetch(gw.url + path, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) })
    })
    const text = await res.text()
    const head: string[] = []
    res.headers.forEach((value, name) => { head.push(`${name}: ${value}`) })
    seen.push({ what: `${method} ${path}`, status: res.status, text: `${head.join('\n')}\n\n${text}` })
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }

  // Every route, on its success path.
  for (const path of ['/v1/ping', '/v1/meta', '/v1/meta/mixer', '/v1/meta/exchange', '/v1/prices?symbols=BTC']) await call('GET', path)
  const mixer = await call('POST', '/v1/mixer/orders', MIXER) as { trackcode: string, signature_text: string }
  const exchange = await call('POST', '/v1/exchange/orders', EXCHANGE) as { trackcode: string }
  await call('POST', '/v1/orders/check', { trackcode: mixer.trackcode, outputs: 'full', mask_addresses: false }, TOKEN_AUTH)
  await call('POST', '/v1/validate', { signature: mixer.signature_text }, TOKEN_AUTH)
  await call('GET', `/orders/${mixer.trackcode}`)
  await call('POST', '/v1/orders/delete', { trackcode: exchange.trackcode }, TOKEN_AUTH)
  await call('GET', '/openapi.json')
  await call('GET', '/docs')
  await call('GET', '/health')

  // Refusals, with the client trying to pass its own credentials.
  await call('POST', '/v1/mixer/orders', { ...MIXER, amount: '99' }, { authorization: 'Bearer client-token' })
  await call('POST', '/v1/orders/check', '{"trackcode":', { authorization: `Bearer ${KEY}` })
  await call('POST', '/v1/validate', { signature: '!' })
  await call('GET', '/v1/nowhere')

  // Upstream failures of every kind.
  for (const mode of ['reset', 'html', 'badjson', 'status500', 'truncated'] as const) {
    sim.control.fail({ mode, count: 3, route: 'POST /v1/orders/check' })
    await call('POST', '/v1/orders/check', { trackcode: mixer.trackcode })
    sim.control.clearFaults()
  }
  sim.control.fail({ mode: 'hang', count: 1, route: 'GET /v1/prices' })
  await call('GET', '/v1/prices?symbols=ETH')
  sim.control.fail({ mode: 'too_many', count: 1, route: 'POST /v1/exchange/orders' })
  await call('POST', '/v1/exchange/orders', EXCHANGE)
  await call('POST', '/v1/orders/check', { trackcode: mixer.trackcode }) // refused locally: quota paused

  const statuses = new Set(seen.map((s) => s.status))
  for (const status of [200, 400, 404, 429, 500, 502, 504]) t.ok(statuses.has(status), `exercised HTTP ${status}`)
  for (const s of seen) {
    t.notOk(s.text.includes(KEY), `${s.what} (${s.status}): key absent from the response`)
    // The 401 challenge (`WWW-Authenticate: Bearer realm=…`) and the docs' `Bearer <token>` are no credentials.
    t.notOk(/bearer\s+(?!realm=")[A-Za-z0-9._~+/-]{6,}/i.test(s.text), `${s.what} (${s.status}): no Bearer credential echoed`)
    t.notOk(s.text.includes('client-token'), `${s.what} (${s.status}): the client's credential is not echoed`)
  }

  t.ok(lines.length > seen.length, 'the logs were captured')
  t.ok(lines.some((l) => l.includes('"level":10') || l.includes('"level":20') || l.includes('"level":30')), 'at the chattiest levels')
  const leaks = lines.filter((l) => l.includes(KEY) || l.includes(PARTNER))
  t.same(leaks, [], 'neither key appears in any log line')
})
