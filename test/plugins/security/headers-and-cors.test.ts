import t from 'tap'
import { build } from '../../helpers/build.js'
import { request } from '../../helpers/http.js'

t.test('security headers on API answers', async (t) => {
  const { gw } = await build(t)
  const res = await request(`${gw.url}/v1/ping`)
  t.equal(res.status, 200)
  // A JSON answer is never rendered: its policy allows nothing (no scripts, objects, frames).
  t.equal(res.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'")
  t.equal(res.headers.get('cross-origin-resource-policy'), 'same-origin')
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
  t.equal(res.headers.get('x-frame-options'), 'DENY')
  t.equal(res.headers.get('referrer-policy'), 'no-referrer')
  t.match(res.headers.get('strict-transport-security'), /^max-age=31536000$/)
  t.equal(res.headers.get('x-powered-by'), null)
})

t.test('error answers carry them too', async (t) => {
  const { gw } = await build(t)
  const res = await request(`${gw.url}/v1/nothing`)
  t.equal(res.status, 404)
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
})

t.test('the rate limiter\'s 429 and a refused body carry them too (set before any route hook)', async (t) => {
  const { gw } = await build(t, { config: { rateLimitMax: 1 } })
  t.equal((await request(`${gw.url}/v1/ping`)).status, 200)
  const limited = await request(`${gw.url}/v1/ping`)
  t.equal(limited.status, 429)
  t.equal(limited.headers.get('x-content-type-options'), 'nosniff')
  t.equal(limited.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'")
  const { gw: other } = await build(t)
  const refused = await request(`${other.url}/v1/orders/check`, { body: { trackcode: 'not a trackcode' } })
  t.equal(refused.status, 400)
  t.equal(refused.headers.get('x-frame-options'), 'DENY')
})

t.test('the demo page keeps its own, stricter policy', async (t) => {
  const { gw } = await build(t)
  const res = await request(`${gw.url}/`)
  t.equal(res.status, 200)
  const csp = res.headers.get('content-security-policy') ?? ''
  t.match(csp, /base-uri 'none'/, 'the page\'s own policy (src/routes/web.ts), not the default one')
  t.notMatch(csp, /unsafe-inline/)
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
})

t.test('only /docs allows the inline styles Swagger UI needs', async (t) => {
  const { gw } = await build(t)
  const page = (await request(`${gw.url}/web/app.js`)).headers.get('content-security-policy') ?? ''
  t.match(page, /style-src 'self'(;|$)/)
  t.match(page, /script-src 'self'(;|$)/, 'no inline or remote scripts')
  t.match(page, /object-src 'none'/)
  t.notMatch(page, /upgrade-insecure-requests/, 'works over plain HTTP on a developer machine')
  const api = (await request(`${gw.url}/v1/ping`)).headers.get('content-security-policy') ?? ''
  t.notMatch(api, /unsafe-inline/)
  const docs = await request(`${gw.url}/docs/static/index.html`)
  t.equal(docs.status, 200)
  t.match(docs.headers.get('content-security-policy'), /style-src 'self' 'unsafe-inline'/)
  t.match(docs.headers.get('content-security-policy'), /script-src 'self'(;|$)/, 'scripts stay strict')
})

t.test('CORS: by default same origin only', async (t) => {
  const { gw } = await build(t)
  const res = await request(`${gw.url}/v1/ping`, { headers: { origin: 'https://elsewhere.example' } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('access-control-allow-origin'), null)
  const preflight = await request(`${gw.url}/v1/mixer/orders`, {
    method: 'OPTIONS',
    headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' }
  })
  t.equal(preflight.status, 404)
  t.equal(preflight.json.code, 'NOT_FOUND')
  t.equal(preflight.headers.get('access-control-allow-origin'), null)
})

t.test('CORS: the allow-list', async (t) => {
  const { gw } = await build(t, { config: { corsOrigins: ['https://shop.example', 'http://localhost:8080'] } })
  const allowed = await request(`${gw.url}/v1/ping`, { headers: { origin: 'https://shop.example' } })
  t.equal(allowed.headers.get('access-control-allow-origin'), 'https://shop.example')
  t.match(allowed.headers.get('vary'), /Origin/i)
  t.match(allowed.headers.get('access-control-expose-headers'), /Retry-After/)
  t.match(allowed.headers.get('access-control-expose-headers'), /Idempotent-Replayed/)
  t.equal(allowed.headers.get('access-control-allow-credentials'), null)

  const other = await request(`${gw.url}/v1/ping`, { headers: { origin: 'https://evil.example' } })
  t.equal(other.status, 200, 'the request itself is served; the browser withholds the answer')
  t.equal(other.headers.get('access-control-allow-origin'), null)

  const preflight = await request(`${gw.url}/v1/mixer/orders`, {
    method: 'OPTIONS',
    headers: { origin: 'http://localhost:8080', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,idempotency-key' }
  })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers.get('access-control-allow-origin'), 'http://localhost:8080')
  t.match(preflight.headers.get('access-control-allow-methods'), /POST/)
  t.match(preflight.headers.get('access-control-allow-headers'), /Idempotency-Key/)
  t.equal(preflight.headers.get('access-control-max-age'), '600')

  const refused = await request(`${gw.url}/v1/mixer/orders`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' }
  })
  t.equal(refused.status, 404)
  t.equal(refused.headers.get('access-control-allow-origin'), null)
})

t.test('CORS: "*" allows any origin, without credentials', async (t) => {
  const { gw } = await build(t, { config: { corsOrigins: ['*'] } })
  const res = await request(`${gw.url}/v1/ping`, { headers: { origin: 'https://anyone.example' } })
  t.equal(res.headers.get('access-control-allow-origin'), '*')
  t.equal(res.headers.get('access-control-allow-credentials'), null)
})
