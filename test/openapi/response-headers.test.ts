/**
 * The response headers the OpenAPI document declares are really sent: one real request
 * per header name, against a gateway in front of the simulator with the rate limit on.
 * A header declared without a request proving it here fails the last test.
 */
import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { buildSpec } from '../../src/openapi/build.js'
import { build } from '../helpers/build.js'
import { createOrder, mixerOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'

type Json = Record<string, unknown>

/** Every header name some response of the document declares. */
async function declaredHeaders (): Promise<Set<string>> {
  const doc = await buildSpec()
  const names = new Set<string>()
  for (const item of Object.values(doc.paths as Record<string, Json>)) {
    for (const op of Object.values(item) as Json[]) {
      for (const response of Object.values(op.responses as Record<string, Json>)) {
        for (const name of Object.keys((response.headers ?? {}) as Json)) names.add(name)
      }
    }
  }
  return names
}

/** The header names the tests below proved; compared with the declared ones at the end. */
const proved = new Set<string>()

function has (t: Test, headers: Headers, name: string, pattern: RegExp): void {
  const value = headers.get(name)
  t.match(value, pattern, `${name}: ${String(value)}`)
  if (value !== null && pattern.test(value)) proved.add(name)
}

t.test('rate-limited routes send the x-ratelimit-* headers; a 429 sends Retry-After', async (t) => {
  const s = await build(t, { fast: true, config: { rateLimitMax: 2 } })
  const first = await request(`${s.url}/v1/ping`)
  t.equal(first.status, 200)
  has(t, first.headers, 'x-ratelimit-limit', /^2$/)
  has(t, first.headers, 'x-ratelimit-remaining', /^1$/)
  has(t, first.headers, 'x-ratelimit-reset', /^\d+$/)
  await request(`${s.url}/v1/meta`)
  const refused = await request(`${s.url}/v1/meta`)
  t.equal(refused.status, 429, 'GET /v1/meta is rate limited too')
  t.equal(refused.json?.code, 'TOO_MANY_REQUESTS')
  has(t, refused.headers, 'retry-after', /^\d+$/)
  has(t, refused.headers, 'x-ratelimit-remaining', /^0$/)
})

t.test('cached answers send Cache-Control and Age', async (t) => {
  const s = await build(t, { fast: true })
  const res = await request(`${s.url}/v1/meta/mixer`)
  t.equal(res.status, 200)
  has(t, res.headers, 'cache-control', /^public, max-age=\d+$/)
  has(t, res.headers, 'age', /^\d+$/)
})

t.test('a replayed create sends Idempotent-Replayed; a create sends Trackgate-Order-Token', async (t) => {
  const s = await build(t, { fast: true })
  const key = randomUUID()
  const init = { headers: { 'idempotency-key': key }, body: mixerOrder() }
  const first = await request(`${s.url}/v1/mixer/orders`, init)
  t.equal(first.status, 200)
  t.equal(first.headers.get('idempotent-replayed'), null, 'not on the first answer')
  const replay = await request(`${s.url}/v1/mixer/orders`, init)
  t.equal(replay.text, first.text)
  has(t, replay.headers, 'idempotent-replayed', /^true$/)
  has(t, first.headers, 'trackgate-order-token', /^[A-Za-z0-9_-]{43}$/)
})

t.test('polling an order sends X-Poll-After, Cache-Control and ETag; If-None-Match gets a 304', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const code = await createOrder(s.sim)
  const res = await request(`${s.url}/orders/${code}`)
  t.equal(res.status, 200)
  has(t, res.headers, 'x-poll-after', /^\d+$/)
  has(t, res.headers, 'etag', /^"\d+"$/)
  t.match(res.headers.get('cache-control'), /^private, max-age=\d+$/)
  const again = await request(`${s.url}/orders/${code}`, { headers: { 'if-none-match': res.headers.get('etag') ?? '' } })
  t.equal(again.status, 304)
  t.equal(again.text, '')
  t.equal(again.headers.get('etag'), res.headers.get('etag'))
})

t.test('a refused credential gets WWW-Authenticate', async (t) => {
  const s = await build(t, { fast: true })
  const res = await request(`${s.url}/v1/orders/delete`, { headers: { authorization: 'Bearer tg_not-a-configured-token-000000000000000000000' }, body: { trackcode: 'AAAAAAAAAAAAAAAA' } })
  t.equal(res.status, 401)
  has(t, res.headers, 'www-authenticate', /^Bearer realm="trackgate"$/)
})

t.test('every declared header was seen on a real answer', async (t) => {
  const declared = await declaredHeaders()
  t.ok(declared.size > 0)
  for (const name of declared) t.ok(proved.has(name), `${name} is sent`)
})
