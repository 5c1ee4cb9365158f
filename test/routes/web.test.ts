/**
 * The web routes: the page, its assets and the client module served with the right
 * types and cache validators; the demo routes present on the simulator only.
 */
import t, { type Test } from 'tap'
import { readFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import { build } from '../helpers/build.js'

/** A gateway on its embedded simulator (no API key). */
async function simulatorGateway (t: Test): Promise<FastifyInstance> {
  return (await build(t, { upstream: 'http://127.0.0.1:9/v1', config: { apiKey: undefined }, app: { logger: false } })).app
}

/** A gateway configured with a key (upstream never called in these tests). */
async function keyedGateway (t: Test): Promise<FastifyInstance> {
  return (await build(t, { upstream: 'http://127.0.0.1:9/v1', config: { apiKey: 'a-real-looking-key' }, app: { logger: false } })).app
}

/** Creates an order on the embedded simulator, returns its trackcode. */
async function createSimOrder (app: FastifyInstance): Promise<string> {
  if (app.simulator === null) throw new Error('no simulator')
  const res = await app.simulator.app.inject({
    method: 'POST',
    url: '/v1/mixer/orders',
    headers: { authorization: `Bearer ${app.config.apiKey ?? ''}` },
    payload: { addresses: [{ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: '100', delay: '0' }], amount: '0.01000000', crypto: 'btc', network: 'btc' }
  })
  const body = res.json()
  if (body.ok !== true) throw new Error(`create failed: ${res.body}`)
  return body.trackcode as string
}

const FILES = [
  ['/', 'web/index.html', 'text/html; charset=utf-8'],
  ['/web/app.js', 'web/app.js', 'text/javascript; charset=utf-8'],
  ['/web/style.css', 'web/style.css', 'text/css; charset=utf-8'],
  ['/web/favicon.svg', 'web/favicon.svg', 'image/svg+xml'],
  ['/client/trackgate-client.js', 'web/client/trackgate-client.js', 'text/javascript; charset=utf-8'],
  ['/client/trackgate-client.d.ts', 'web/client/trackgate-client.d.ts', 'application/typescript; charset=utf-8']
] as const

t.test('the page, its assets and the client module are served as files with validators', async (t) => {
  const app = await keyedGateway(t)
  for (const [url, file, type] of FILES) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, `${url} 200`)
    t.equal(res.headers['content-type'], type, `${url} content type`)
    t.equal(res.body, await readFile(file, 'utf8'), `${url} is ${file}`)
    t.equal(res.headers['cache-control'], 'no-cache', `${url} revalidated on each use`)
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    const etag = res.headers.etag
    t.match(etag, /^"[A-Za-z0-9_-]{27}"$/, `${url} strong ETag`)
    const again = await app.inject({ method: 'GET', url, headers: { 'if-none-match': etag as string } })
    t.equal(again.statusCode, 304, `${url} unchanged → 304`)
    t.equal(again.body, '')
    const weak = await app.inject({ method: 'GET', url, headers: { 'if-none-match': `"other", W/${etag as string}` } })
    t.equal(weak.statusCode, 304, 'weak comparison in a list')
    const stale = await app.inject({ method: 'GET', url, headers: { 'if-none-match': '"stale"' } })
    t.equal(stale.statusCode, 200, 'other ETag → full answer')
    const head = await app.inject({ method: 'HEAD', url })
    t.equal(head.statusCode, 200, `HEAD ${url}`)
  }
})

t.test('the page is locked down; the client module is importable cross-origin', async (t) => {
  const app = await keyedGateway(t)
  const page = await app.inject({ method: 'GET', url: '/' })
  const csp = String(page.headers['content-security-policy'])
  t.match(csp, /default-src 'self'/)
  t.match(csp, /img-src 'self' data:/, 'the deposit QR is a data: URL')
  t.notMatch(csp, /unsafe-inline/)
  t.equal(page.headers['referrer-policy'], 'no-referrer')
  t.notOk(/<script(?![^>]*\bsrc=)[^>]*>/.test(page.body), 'no inline scripts (CSP)')
  t.notOk(/\sstyle="/.test(page.body), 'no inline styles (CSP)')
  t.notOk(/https?:\/\//.test(page.body.replace(/<!--[\s\S]*?-->/g, '')), 'no external resources (offline machine)')
  t.match(page.body, /data-testid="status"/)
  t.match(page.body, /aria-live="polite"/)
  const client = await app.inject({ method: 'GET', url: '/client/trackgate-client.js' })
  t.equal(client.headers['access-control-allow-origin'], '*')
  t.match(client.body, /export function trackOrder/)
})

t.test('with an API key: demo mode is off and the pay route does not exist', async (t) => {
  const app = await keyedGateway(t)
  t.equal(app.simulator, null)
  const config = await app.inject({ method: 'GET', url: '/demo/config' })
  t.equal(config.statusCode, 200)
  t.equal(config.json().demo, false)
  t.equal(config.headers['cache-control'], 'no-store')
  const pay = await app.inject({ method: 'POST', url: '/demo/orders/6A5FB3BA8A150EC9/pay', payload: {} })
  t.equal(pay.statusCode, 404)
  t.same(pay.json(), { ok: false, code: 'NOT_FOUND', message: 'No route POST /demo/orders/6A5FB3BA8A150EC9/pay' })
})

t.test('on the simulator: demo mode is on and the pay route pays', async (t) => {
  const app = await simulatorGateway(t)
  const config = await app.inject({ method: 'GET', url: '/demo/config' })
  t.same(config.json(), { ok: true, demo: true, poll_interval_ms: app.config.pollIntervalMs, poll_waiting_payment_ms: app.config.pollWaitingPaymentMs })

  const full = await createSimOrder(app)
  const res = await app.inject({ method: 'POST', url: `/demo/orders/${full}/pay` })
  t.equal(res.statusCode, 200, 'no body: pays what is missing')
  t.same(res.json(), { ok: true })
  t.equal(app.simulator?.control.getOrder(full)?.received, '0.01000000')

  const part = await createSimOrder(app)
  const partial = await app.inject({ method: 'POST', url: `/demo/orders/${part}/pay`, payload: { amount: '0.004' } })
  t.equal(partial.statusCode, 200)
  t.equal(app.simulator?.control.getOrder(part)?.received, '0.00400000')
  const rest = await app.inject({ method: 'POST', url: `/demo/orders/${part}/pay`, payload: {} })
  t.equal(rest.statusCode, 200, 'an empty object pays the rest')
  t.equal(app.simulator?.control.getOrder(part)?.received, '0.01000000')

  const again = await app.inject({ method: 'POST', url: `/demo/orders/${part}/pay`, payload: {} })
  t.equal(again.statusCode, 409, 'nothing left to pay')
  t.equal(again.json().code, 'CONFLICT')
  t.equal(again.json().ok, false)
})

t.test('the pay route rejects bad input with the envelope naming the field', async (t) => {
  const app = await simulatorGateway(t)
  const before = app.simulator?.control.stats()
  const cases = [
    ['/demo/orders/6a5fb3ba8a150ec9/pay', {}, 400, /trackcode/],
    ['/demo/orders/TOO-SHORT/pay', {}, 400, /trackcode/],
    ['/demo/orders/6A5FB3BA8A150EC9/pay', { amount: '-1' }, 400, /amount/],
    ['/demo/orders/6A5FB3BA8A150EC9/pay', { amount: '1.123456789' }, 400, /amount/],
    ['/demo/orders/6A5FB3BA8A150EC9/pay', { amount: '1', extra: true }, 400, /extra/],
    ['/demo/orders/6A5FB3BA8A150EC9/pay', {}, 404, /6A5FB3BA8A150EC9|not found/i]
  ] as const
  for (const [url, payload, status, message] of cases) {
    const res = await app.inject({ method: 'POST', url, payload })
    t.equal(res.statusCode, status, `${url} ${JSON.stringify(payload)} → ${status}`)
    const body = res.json()
    t.equal(body.ok, false)
    t.equal(body.code, status === 400 ? 'BAD_REQUEST' : 'NOT_FOUND')
    t.match(body.message, message)
  }
  const malformed = await app.inject({ method: 'POST', url: '/demo/orders/6A5FB3BA8A150EC9/pay', headers: { 'content-type': 'application/json' }, payload: '{"amount":' })
  t.equal(malformed.statusCode, 400)
  t.same(app.simulator?.control.stats(), before, 'no upstream call for any of them')
})

t.test('web and demo routes stay out of the OpenAPI spec', async (t) => {
  const app = await simulatorGateway(t)
  const spec = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(spec.statusCode, 200)
  const paths = Object.keys(spec.json().paths ?? {})
  t.ok(paths.length > 0, 'the spec lists the API')
  for (const path of paths) t.notOk(/^\/(demo|web|client)\b|^\/$/.test(path), `${path} is not a web route`)
})
