/**
 * A create that times out is never lost (issue 4, point 3), over real HTTP against the
 * simulator: the client gets 504 at UPSTREAM_TIMEOUT_MS, the call goes on until
 * CREATE_SETTLE_TIMEOUT_MS, its late answer is replayed under the Idempotency-Key, and
 * the key is released only when upstream provably never got the request.
 */
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { createServer, type AddressInfo } from 'node:net'
import { type IdempotencyStore } from '../../src/state/idempotency/index.js'
import { MemoryIdempotencyStore } from '../../src/state/idempotency/memory.js'
import { requestFingerprint } from '../../src/idempotency/fingerprint.js'
import { idempotencyStoreKey } from '../../src/idempotency/header.js'
import { shortTrackcode } from '../../src/lib/log-privacy.js'
import { build } from '../helpers/build.js'
import { mixerOrder, exchangeOrder } from '../helpers/fixtures.js'
import { request, type HttpReply } from '../helpers/http.js'
import { waitFor } from '../helpers/wait-for.js'

const ROUTES = [
  { path: '/v1/mixer/orders', upstream: 'POST /v1/mixer/orders', body: mixerOrder() },
  { path: '/v1/exchange/orders', upstream: 'POST /v1/exchange/orders', body: exchangeOrder() }
]

/** Retries `send` while it answers 409 (the first attempt still being settled). */
async function untilSettled (send: () => Promise<HttpReply>, timeoutMs = 30_000): Promise<HttpReply> {
  let last = await send()
  await waitFor(async () => {
    if (last.status !== 409) return true
    last = await send()
    return false
  }, 'the first attempt to be settled', timeoutMs)
  return last
}

for (const route of ROUTES) {
  t.test(`${route.path}: answered after the client's deadline → 504, then 409 while settling, then that very order replayed`, async (t) => {
    const { sim, gw, calls } = await build(t, { config: { upstreamTimeoutMs: 1000, createSettleTimeoutMs: 30_000 } })
    const key = randomUUID()
    const send = async (): Promise<HttpReply> => await request(`${gw.url}${route.path}`, { body: route.body, headers: { 'idempotency-key': key } })
    // The real answer, in 8 chunks 800 ms apart: complete about 5.6 s after the order was created.
    sim.control.fail({ mode: 'slow', route: route.upstream, count: 1, delayMs: 800 })

    const first = await send()
    t.equal(first.status, 504, 'the client is not kept waiting past UPSTREAM_TIMEOUT_MS')
    t.equal(first.json.ok, false)
    t.equal(first.json.code, 'UPSTREAM_TIMEOUT')
    t.match(first.json.message, /whether the order was created is not known yet/i)
    t.match(first.json.message, /Retry with the same Idempotency-Key/)
    t.equal(sim.control.listOrders().length, 1, 'upstream did create the order')

    const meanwhile = await send()
    t.equal(meanwhile.status, 409, 'the key is still claimed while upstream\'s answer is on its way')
    t.equal(meanwhile.json.code, 'CONFLICT')
    t.match(meanwhile.json.message, /timed out and the gateway is still waiting for upstream's answer/)
    t.match(meanwhile.headers.get('retry-after'), /^\d+$/)

    const settled = await untilSettled(send)
    t.equal(settled.status, 200)
    t.equal(settled.headers.get('idempotent-replayed'), 'true')
    const orders = sim.control.listOrders()
    t.equal(orders.length, 1, 'exactly one order upstream')
    t.equal(settled.json.trackcode, orders[0]?.trackcode, 'the order upstream created for the first request')
    t.equal(settled.json.deposit.address, orders[0]?.depositAddress)
    t.type(settled.json.signature_text, 'string')
    t.ok(settled.json.signature_text.length > 20, 'the guarantee letter is there')
    t.equal(calls(route.upstream), 1, 'the create was sent upstream once')

    const again = await send()
    t.equal(again.text, settled.text, 'replayed byte for byte from now on')
    t.equal(calls(route.upstream), 1)
  })
}

t.test('no answer even by the hard deadline: the key stays blocked, replaying a 504 that says so', async (t) => {
  const { sim, gw, calls } = await build(t, { config: { upstreamTimeoutMs: 400, createSettleTimeoutMs: 1500 } })
  const key = randomUUID()
  const send = async (): Promise<HttpReply> => await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
  sim.control.fail({ mode: 'hang', route: 'POST /v1/mixer/orders', count: 1 })

  const first = await send()
  t.equal(first.status, 504)
  t.match(first.json.message, /not known yet/)

  const final = await untilSettled(send)
  t.equal(final.status, 504)
  t.equal(final.headers.get('idempotent-replayed'), 'true')
  t.same(Object.keys(final.json), ['ok', 'code', 'message'], 'the envelope')
  t.equal(final.json.code, 'UPSTREAM_TIMEOUT')
  t.match(final.json.message, /did not answer within 1500 ms/)
  t.match(final.json.message, /cannot be found out/)
  t.match(final.json.message, /this Idempotency-Key will not create an order any more/)
  t.match(final.json.message, /new key/)
  t.equal(calls('POST /v1/mixer/orders'), 1, 'the same key never sends the create again')
  t.equal((await send()).text, final.text, 'for the key\'s whole TTL')

  const fresh = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': randomUUID() } })
  t.equal(fresh.status, 200, 'a new key places the order')
})

t.test('a reset after the create was sent: outcome unknown, the key blocked with that 502', async (t) => {
  const { sim, gw, calls } = await build(t)
  const key = randomUUID()
  const send = async (): Promise<HttpReply> => await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
  sim.control.fail({ mode: 'reset', route: 'POST /v1/mixer/orders', count: 1 })
  const first = await send()
  t.equal(first.status, 502)
  t.equal(first.json.code, 'UPSTREAM_UNAVAILABLE')
  t.match(first.json.message, /will not create an order any more/)
  const again = await send()
  t.equal(again.status, 502)
  t.equal(again.headers.get('idempotent-replayed'), 'true')
  t.equal(again.text, first.text, 'the client is told the same thing, byte for byte')
  t.equal(calls('POST /v1/mixer/orders'), 1)
})

t.test('a create that never left the gateway (connection refused) releases its key', async (t) => {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const { url } = await build(t, { upstream: `http://127.0.0.1:${port}/v1` })
  const key = randomUUID()
  for (let i = 0; i < 2; i++) {
    const res = await request(`${url}/v1/exchange/orders`, { body: exchangeOrder(), headers: { 'idempotency-key': key } })
    t.equal(res.status, 502, `attempt ${i + 1}`)
    t.equal(res.json.code, 'UPSTREAM_UNAVAILABLE')
    t.equal(res.headers.get('idempotent-replayed'), null, 'not a replay: the key was released and claimed again')
    t.notMatch(res.json.message, /not known|unknown/, 'the outcome is known: nothing was created')
  }
})

t.test('on close, a create still queued behind a busy connection is released, a sent one blocked', async (t) => {
  const store = new MemoryIdempotencyStore()
  // One connection, held by a create upstream never answers: the second create waits in the pool.
  const { sim, gw, calls } = await build(t, { config: { upstreamTimeoutMs: 500, createSettleTimeoutMs: 60_000, upstreamConnections: 1 }, app: { state: { idempotency: store } } })
  t.equal((await request(`${gw.url}/v1/meta/mixer`)).status, 200, 'the mixer meta, cached for the amount check')
  sim.control.fail({ mode: 'hang', route: 'POST /v1/mixer/orders', count: 1 })
  const sent = { key: randomUUID(), body: mixerOrder() }
  const queued = { key: randomUUID(), body: mixerOrder({ amount: '2.00000000' }) }
  const first = request(`${gw.url}/v1/mixer/orders`, { body: sent.body, headers: { 'idempotency-key': sent.key } })
  await waitFor(() => calls('POST /v1/mixer/orders') === 1, 'the first create to reach upstream', 10_000)
  const second = await request(`${gw.url}/v1/mixer/orders`, { body: queued.body, headers: { 'idempotency-key': queued.key } })
  t.equal((await first).status, 504)
  t.equal(second.status, 504)
  t.equal(calls('POST /v1/mixer/orders'), 1, 'the second create never reached upstream')

  await gw.app.close()
  // The test client is anonymous, from 127.0.0.1.
  const hash = (key: string): string => idempotencyStoreKey('ip:127.0.0.1', key)
  const fingerprint = (body: unknown): string => requestFingerprint('POST', '/v1/mixer/orders', body)
  const blocked = await store.begin(hash(sent.key), fingerprint(sent.body), 1000)
  t.equal(blocked.state, 'done', 'the key of the create upstream may have received stays blocked')
  if (blocked.state === 'done') {
    t.equal(blocked.response.statusCode, 502)
    t.match(blocked.response.body.toString('utf8'), /cancelled.*will not create an order any more/)
  }
  t.same(await store.begin(hash(queued.key), fingerprint(queued.body), 1000), { state: 'new' }, 'the key of the create that never left is free again')
})

t.test('graceful shutdown with a shared store: a create settling in the background is written down first', async (t) => {
  const memory = new MemoryIdempotencyStore()
  // Any store but the in-process one is shared: its answers outlive this instance.
  const shared: IdempotencyStore = {
    begin: async (key, fingerprint, lockMs) => await memory.begin(key, fingerprint, lockMs),
    complete: async (key, fingerprint, response, ttlMs) => { await memory.complete(key, fingerprint, response, ttlMs) },
    abandon: async (key) => { await memory.abandon(key) }
  }
  const { sim, gw } = await build(t, { config: { upstreamTimeoutMs: 600, createSettleTimeoutMs: 30_000 }, app: { state: { idempotency: shared } } })
  sim.control.fail({ mode: 'slow', route: 'POST /v1/exchange/orders', count: 1, delayMs: 300 })
  const key = randomUUID()
  const body = exchangeOrder()
  const first = await request(`${gw.url}/v1/exchange/orders`, { body, headers: { 'idempotency-key': key } })
  t.equal(first.status, 504)

  await gw.app.lifecycle.shutdown({ timeoutMs: 20_000 })
  const found = await memory.begin(idempotencyStoreKey('ip:127.0.0.1', key), requestFingerprint('POST', '/v1/exchange/orders', body), 1000)
  t.equal(found.state, 'done', 'the late answer reached the shared store before the instance went away')
  if (found.state === 'done') {
    t.equal(found.response.statusCode, 200)
    t.equal(JSON.parse(found.response.body.toString('utf8')).trackcode, sim.control.listOrders()[0]?.trackcode, 'the order upstream created')
  }
})

t.test('without a key: 504 "unknown", and the late order is logged (shortened) for an operator', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const { sim, gw } = await build(t, { config: { upstreamTimeoutMs: 600, createSettleTimeoutMs: 30_000, logLevel: 'info' }, app: { logger: { level: 'info', stream } } })
  sim.control.fail({ mode: 'slow', route: 'POST /v1/exchange/orders', count: 1, delayMs: 200 })
  const res = await request(`${gw.url}/v1/exchange/orders`, { body: exchangeOrder() })
  t.equal(res.status, 504)
  t.equal(res.json.code, 'UPSTREAM_TIMEOUT')
  t.match(res.json.message, /Whether the order was created is unknown/)
  t.match(res.json.message, /Idempotency-Key header/)

  const late = (): Record<string, unknown> | undefined => lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => typeof l.msg === 'string' && l.msg.startsWith('order created upstream after its client got 504'))
  await waitFor(() => late() !== undefined, 'the late answer to be logged', 20_000)
  const line = late() as Record<string, unknown>
  const [order] = sim.control.listOrders()
  t.ok(order, 'upstream created the order')
  t.equal(line.level, 40, 'warn')
  t.equal(line.trackcode, shortTrackcode(order?.trackcode ?? ''), 'its trackcode, shortened as everywhere in the logs')
  t.notMatch(lines.join(''), new RegExp(order?.trackcode ?? 'unused'), 'the full trackcode is never logged')
})
