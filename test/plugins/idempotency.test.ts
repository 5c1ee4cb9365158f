import t from 'tap'
import { randomUUID } from 'node:crypto'
import { build } from '../helpers/build.js'
import { mixerOrder, exchangeOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'
import { waitFor } from '../helpers/wait-for.js'

const MIXER = 'POST /v1/mixer/orders'
const EXCHANGE = 'POST /v1/exchange/orders'

t.test('same key and body: the first answer is replayed byte for byte, upstream called once', async (t) => {
  const { sim, gw, calls } = await build(t)
  const key = randomUUID()
  const first = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
  t.equal(first.status, 200)
  t.equal(first.json.ok, true)
  t.type(first.json.signature_text, 'string')
  t.equal(first.headers.get('idempotent-replayed'), null)

  // Same body, other key order: the same request.
  const reordered = Object.fromEntries(Object.entries(mixerOrder()).reverse())
  const again = await request(`${gw.url}/v1/mixer/orders`, { body: reordered, headers: { 'idempotency-key': key } })
  t.equal(again.status, 200)
  t.equal(again.text, first.text, 'identical bytes: same trackcode, deposit address and signature_text')
  t.equal(again.headers.get('idempotent-replayed'), 'true')
  t.match(again.headers.get('content-type'), /^application\/json/)
  t.equal(calls(MIXER), 1)
  t.equal(sim.control.listOrders().length, 1)

  const other = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': randomUUID() } })
  t.equal(other.status, 200)
  t.not(other.json.trackcode, first.json.trackcode, 'a new key is a new order')
  t.equal(calls(MIXER), 2)
})

t.test('same key, other body or other route → 422, no upstream call', async (t) => {
  const { sim, gw } = await build(t)
  const key = randomUUID()
  t.equal((await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })).status, 200)
  sim.control.resetStats()
  const changed = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder({ amount: '9.00000000' }), headers: { 'idempotency-key': key } })
  t.equal(changed.status, 422)
  t.same(changed.json, { ok: false, code: 'UNPROCESSABLE', message: changed.json.message })
  t.match(changed.json.message, /Idempotency-Key was already used/)
  const elsewhere = await request(`${gw.url}/v1/exchange/orders`, { body: exchangeOrder(), headers: { 'idempotency-key': key } })
  t.equal(elsewhere.status, 422)
  t.equal(sim.control.stats().total, 0, 'upstream never called')
})

t.test('a malformed key → 400 naming the header, no upstream call', async (t) => {
  const { gw, calls } = await build(t)
  for (const key of ['short', 'x'.repeat(256), 'has space in the middle!!']) {
    const res = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
    t.equal(res.status, 400, key)
    t.equal(res.json.code, 'BAD_REQUEST')
    t.match(res.json.message, /^idempotency-key must be 16 to 255 visible ASCII characters/i)
  }
  t.equal(calls(MIXER), 0)
})

t.test('the header schema: optional, any casing, other headers untouched', async (t) => {
  const { gw, calls } = await build(t)
  const plain = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'x-request-id': 'abc', accept: 'application/json', 'X-Custom-Thing': 'yes' } })
  t.equal(plain.status, 200, 'no key, other headers: created')
  const key = randomUUID()
  const first = await request(`${gw.url}/v1/exchange/orders`, { body: exchangeOrder(), headers: { 'IDEMPOTENCY-KEY': key, 'x-other': '1' } })
  t.equal(first.status, 200)
  const again = await request(`${gw.url}/v1/exchange/orders`, { body: exchangeOrder(), headers: { 'Idempotency-Key': key } })
  t.equal(again.headers.get('idempotent-replayed'), 'true', 'header names are case-insensitive')
  t.equal(calls(EXCHANGE), 1)
})

t.test('rejected input is not stored: the same key works once the body is fixed', async (t) => {
  const { gw, calls } = await build(t)
  const key = randomUUID()
  // Valid for the schema, refused by the rules (percents add up to 99.00).
  const bad = mixerOrder({ addresses: [{ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: '84', delay: '0' }, { address: '1P279UBChDFPAky8S4DcKGaaxKEMYBK9MM', percent: '15', delay: '0' }] })
  const refused = await request(`${gw.url}/v1/mixer/orders`, { body: bad, headers: { 'idempotency-key': key } })
  t.equal(refused.status, 400)
  const schemaRefused = await request(`${gw.url}/v1/mixer/orders`, { body: { amount: 1 }, headers: { 'idempotency-key': key } })
  t.equal(schemaRefused.status, 400)
  t.equal(calls(MIXER), 0)
  const ok = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
  t.equal(ok.status, 200, 'not 422: nothing was stored for the refused bodies')
  t.equal(calls(MIXER), 1)
})

t.test('an upstream 4xx is stored and replayed like a success', async (t) => {
  const { gw, calls } = await build(t)
  const key = randomUUID()
  // The exchange's USD limits are judged by upstream only.
  const body = exchangeOrder({ amount: '0.00100000' })
  const first = await request(`${gw.url}/v1/exchange/orders`, { body, headers: { 'idempotency-key': key } })
  t.equal(first.status, 400)
  t.equal(first.json.code, 'AMOUNT_TOO_LOW')
  t.equal(calls(EXCHANGE), 1)
  const again = await request(`${gw.url}/v1/exchange/orders`, { body, headers: { 'idempotency-key': key } })
  t.equal(again.status, 400)
  t.equal(again.text, first.text)
  t.equal(again.headers.get('idempotent-replayed'), 'true')
  t.equal(calls(EXCHANGE), 1)
})

t.test('an upstream 5xx is not stored: the retry calls upstream again', async (t) => {
  const { sim, gw, calls } = await build(t)
  const key = randomUUID()
  sim.control.fail({ mode: 'status500', route: MIXER, count: 1 })
  const failed = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
  t.equal(failed.status, 500)
  const retried = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
  t.equal(retried.status, 200)
  t.equal(retried.headers.get('idempotent-replayed'), null)
  t.equal(calls(MIXER), 2)
})

t.test('while the first request runs → 409; after its 504 the key stays claimed while upstream is awaited', async (t) => {
  // The timeout and what follows it: see test/upstream/create-order.test.ts.
  const { sim, gw, calls } = await build(t, { config: { upstreamTimeoutMs: 1500 } })
  const key = randomUUID()
  sim.control.fail({ mode: 'hang', route: MIXER, count: 1 })
  const first = request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
  await waitFor(() => calls(MIXER) === 1, 'the create to reach upstream', 10_000)

  const concurrent = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
  t.equal(concurrent.status, 409)
  t.equal(concurrent.json.code, 'CONFLICT')
  t.equal(concurrent.headers.get('retry-after'), '1')
  t.equal(calls(MIXER), 1, 'the concurrent request did not reach upstream')

  const timedOut = await first
  t.equal(timedOut.status, 504)
  t.equal(timedOut.json.code, 'UPSTREAM_TIMEOUT')
  t.match(timedOut.json.message, /whether the order was created is not known yet/i)
  t.match(timedOut.json.message, /Retry with the same Idempotency-Key/)

  const settling = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
  t.equal(settling.status, 409, 'not released: upstream may still create the order')
  t.match(settling.json.message, /still waiting for upstream's answer/)
  t.match(settling.headers.get('retry-after'), /^\d+$/)
  t.equal(calls(MIXER), 1)
})

t.test('a 504 without a key tells the client to use one', async (t) => {
  const { sim, gw } = await build(t, { config: { upstreamTimeoutMs: 1000 } })
  sim.control.fail({ mode: 'hang', route: MIXER, count: 1 })
  const res = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })
  t.equal(res.status, 504)
  t.equal(res.json.code, 'UPSTREAM_TIMEOUT')
  t.match(res.json.message, /Idempotency-Key header/)
})

t.test('a client that hangs up mid-create gets its order by retrying with the key', async (t) => {
  const { sim, gw, calls } = await build(t)
  const key = randomUUID()
  // The real answer, trickled slowly: the order exists upstream before the client leaves.
  sim.control.fail({ mode: 'slow', route: MIXER, count: 1, delayMs: 100 })
  const aborter = new AbortController()
  const gone = fetch(`${gw.url}/v1/mixer/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(mixerOrder()),
    signal: aborter.signal
  }).catch((err: unknown) => err)
  await waitFor(() => calls(MIXER) === 1, 'the create to reach upstream', 10_000)
  aborter.abort()
  t.ok(await gone instanceof Error, 'the first client saw no answer')

  let replay = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
  await waitFor(async () => {
    if (replay.status !== 409) return true
    replay = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
    return false
  }, 'the first create to finish', 15_000)
  t.equal(replay.status, 200)
  t.equal(replay.headers.get('idempotent-replayed'), 'true')
  const orders = sim.control.listOrders()
  t.equal(orders.length, 1)
  t.equal(replay.json.trackcode, orders[0]?.trackcode, 'the order created for the first client')
  t.equal(replay.json.deposit.address, orders[0]?.depositAddress)
  t.equal(calls(MIXER), 1)
})

t.test('routes without the opt-in ignore the header', async (t) => {
  const { gw, calls } = await build(t)
  const key = randomUUID()
  for (let i = 0; i < 2; i++) {
    const res = await request(`${gw.url}/v1/ping`, { headers: { 'idempotency-key': key } })
    t.equal(res.status, 200)
    t.equal(res.headers.get('idempotent-replayed'), null)
  }
  t.equal(calls('GET /v1/ping'), 2)
})
