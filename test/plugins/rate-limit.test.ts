import t from 'tap'
import { build } from '../helpers/build.js'
import { mixerOrder, exchangeOrder, TOKEN_AUTH } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'

t.test('general limit per IP: 429 in the envelope with Retry-After, no upstream call', async (t) => {
  const { gw, calls } = await build(t, { config: { rateLimitMax: 3, rateLimitWindowMs: 60_000 } })
  for (let i = 0; i < 3; i++) {
    const res = await request(`${gw.url}/v1/ping`)
    t.equal(res.status, 200)
    t.equal(res.headers.get('x-ratelimit-remaining'), String(2 - i))
  }
  const limited = await request(`${gw.url}/v1/ping`)
  t.equal(limited.status, 429)
  t.same(limited.json, { ok: false, code: 'TOO_MANY_REQUESTS', message: limited.json.message })
  t.match(limited.json.message, /retry in \d+ s/)
  const retryAfter = Number(limited.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter} within the window`)
  t.equal(calls('GET /v1/ping'), 3)

  const unknown = await request(`${gw.url}/v1/nothing-here`)
  t.equal(unknown.status, 404, 'unmatched URLs are not routes: no limit, plain 404 envelope')
})

t.test('probes and event streams are outside the general limit', async (t) => {
  const { gw } = await build(t, { config: { rateLimitMax: 1 } })
  await request(`${gw.url}/v1/ping`)
  t.equal((await request(`${gw.url}/v1/ping`)).status, 429, 'the limit is spent')
  for (let i = 0; i < 3; i++) {
    t.equal((await request(`${gw.url}/healthz`)).status, 200)
    t.equal((await request(`${gw.url}/readyz`)).status, 200)
    t.equal((await request(`${gw.url}/metrics`)).status, 200)
    const stream = await request(`${gw.url}/orders/not-a-trackcode/subscribe`)
    t.equal(stream.status, 400, 'the subscribe route answers (400 for the malformed trackcode), not 429')
  }
})

t.test('creations and deletions share a tighter budget on top of the general one', async (t) => {
  const { gw, calls } = await build(t, { config: { rateLimitMax: 100, rateLimitCreateMax: 2, rateLimitCreateWindowMs: 60_000 } })
  t.equal((await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })).status, 200)
  t.equal((await request(`${gw.url}/v1/exchange/orders`, { body: exchangeOrder() })).status, 200)
  // A deletion needs the owner: the gateway token (same address, same write budget).
  const third = await request(`${gw.url}/v1/orders/delete`, { body: { trackcode: '6A5FB3BA8A150EC9' }, headers: TOKEN_AUTH })
  t.equal(third.status, 429)
  t.equal(third.json.code, 'TOO_MANY_REQUESTS')
  t.match(third.json.message, /order creations and deletions/)
  t.ok(Number(third.headers.get('retry-after')) >= 1)
  t.equal(calls('POST /v1/orders/delete'), 0)
  const invalid = await request(`${gw.url}/v1/mixer/orders`, { body: { nonsense: true } })
  t.equal(invalid.status, 400, 'invalid bodies are refused by validation first (they cost upstream nothing)')
  t.equal((await request(`${gw.url}/v1/ping`)).status, 200, 'other routes only see the general limit')
})

t.test('Idempotency-Key replays do not use the order-writing budget', async (t) => {
  const { gw, calls } = await build(t, { config: { rateLimitMax: 100, rateLimitCreateMax: 1, rateLimitCreateWindowMs: 60_000 } })
  const headers = { 'idempotency-key': 'replay-test-key-0001' }
  const first = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers })
  t.equal(first.status, 200)
  for (let i = 0; i < 3; i++) {
    const again = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers })
    t.equal(again.status, 200, `replay ${i + 1} is served`)
    t.equal(again.headers.get('idempotent-replayed'), 'true')
    t.equal(again.text, first.text)
  }
  const other = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': 'replay-test-key-0002' } })
  t.equal(other.status, 429, 'a new key is a new creation: the budget of 1 is spent')
  t.equal(calls('POST /v1/mixer/orders'), 1)
  const retried = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': 'replay-test-key-0002' } })
  t.equal(retried.status, 429, 'the refused key was released, not stored as running: still 429, not 409')
})

t.test('TRUST_PROXY: the forwarded client address is the key, and only then', async (t) => {
  await t.test('behind a trusted proxy, clients are counted apart', async (t) => {
    const { gw } = await build(t, { config: { rateLimitMax: 1, trustProxy: ['127.0.0.1'] } })
    const a = { 'x-forwarded-for': '203.0.113.5' }
    const b = { 'x-forwarded-for': '203.0.113.6' }
    t.equal((await request(`${gw.url}/v1/ping`, { headers: a })).status, 200)
    t.equal((await request(`${gw.url}/v1/ping`, { headers: a })).status, 429)
    t.equal((await request(`${gw.url}/v1/ping`, { headers: b })).status, 200, 'another client has its own budget')
  })
  await t.test('without TRUST_PROXY the header is ignored (no spoofing around the limit)', async (t) => {
    const { gw } = await build(t, { config: { rateLimitMax: 1 } })
    t.equal((await request(`${gw.url}/v1/ping`, { headers: { 'x-forwarded-for': '203.0.113.5' } })).status, 200)
    t.equal((await request(`${gw.url}/v1/ping`, { headers: { 'x-forwarded-for': '203.0.113.6' } })).status, 429)
  })
  await t.test('a proxy that is not in the list is not trusted', async (t) => {
    const { gw } = await build(t, { config: { rateLimitMax: 1, trustProxy: ['10.0.0.0/8'] } })
    t.equal((await request(`${gw.url}/v1/ping`, { headers: { 'x-forwarded-for': '203.0.113.5' } })).status, 200)
    t.equal((await request(`${gw.url}/v1/ping`, { headers: { 'x-forwarded-for': '203.0.113.6' } })).status, 429)
  })
})

t.test('0 disables a limit', async (t) => {
  const { gw } = await build(t, { config: { rateLimitMax: 0, rateLimitCreateMax: 0 } })
  for (let i = 0; i < 5; i++) {
    const res = await request(`${gw.url}/v1/ping`)
    t.equal(res.status, 200)
    t.equal(res.headers.get('x-ratelimit-limit'), null)
  }
})
