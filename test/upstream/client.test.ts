/**
 * The upstream client against hand-made `node:http` servers: deadlines, resets,
 * non-JSON answers, retries (only when upstream provably never saw the attempt), the
 * Bearer header, the quota and the payer's allowance.
 */
import t, { type Test } from 'tap'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { GatewayError } from '../../src/errors.js'
import { UpstreamCallError, UpstreamClient, type UpstreamCall } from '../../src/upstream/client.js'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import { MemoryAllowances } from '../../src/state/allowances/memory.js'
import { sendJson, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'

const KEY = 'client-test-key-5f1d2c'

function clientFor (upstream: FakeUpstream, opts: { timeoutMs?: number, quota?: MemoryQuota, maxBodyBytes?: number } = {}): UpstreamClient {
  return new UpstreamClient({
    baseUrl: upstream.baseUrl,
    apiKey: KEY,
    timeoutMs: opts.timeoutMs ?? 2000,
    connections: 4,
    quota: opts.quota ?? new MemoryQuota({ limit: 1000, reserve: 10 }),
    retryBaseMs: 5,
    ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes })
  })
}

const GET_PING: UpstreamCall = { method: 'GET', path: '/ping', auth: false, purpose: 'rest', retry: true }
const CREATE: UpstreamCall = { method: 'POST', path: '/mixer/orders', body: { amount: '1' }, auth: true, purpose: 'create', retry: false }
const CHECK: UpstreamCall = { method: 'POST', path: '/orders/check', body: { trackcode: '6A5FB3BA8A150EC9' }, auth: true, purpose: 'rest', retry: true }

async function rejection (t: Test, p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof GatewayError, 'rejects with a GatewayError')
  return err as GatewayError
}

async function setup (t: Test, opts: Parameters<typeof clientFor>[1] = {}): Promise<{ upstream: FakeUpstream, client: UpstreamClient }> {
  const upstream = await startFakeUpstream()
  const client = clientFor(upstream, opts)
  t.teardown(async () => {
    await client.close()
    await upstream.close()
  })
  return { upstream, client }
}

t.test('forwards path, query and body; returns the raw bytes next to the parsed body', async (t) => {
  const { upstream, client } = await setup(t)
  const raw = '{ "ok" : true,  "ts":"1723800000", "price": 1.50, "extra": {"nested": [1, "2"]} }'
  upstream.handle((_req, res) => sendJson(res, 200, raw))
  const result = await client.request({ method: 'GET', path: '/prices', query: { symbols: 'BTC,ETH', skip: undefined }, auth: true, purpose: 'rest', retry: true })
  t.equal(result.statusCode, 200)
  t.equal(result.raw.toString('utf8'), raw, 'bytes exactly as sent')
  t.same(result.body, JSON.parse(raw))
  t.equal(upstream.requests[0]?.url, '/v1/prices?symbols=BTC%2CETH', 'base path kept, undefined query values dropped')

  await client.request(CREATE)
  t.equal(upstream.requests[1]?.method, 'POST')
  t.equal(upstream.requests[1]?.url, '/v1/mixer/orders')
  t.equal(upstream.requests[1]?.headers['content-type'], 'application/json')
  t.same(JSON.parse(upstream.requests[1]?.body ?? ''), { amount: '1' })
})

t.test('sends the Bearer key only on authenticated calls', async (t) => {
  const { upstream, client } = await setup(t)
  await client.request(GET_PING)
  await client.request(CHECK)
  t.equal(upstream.requests[0]?.headers.authorization, undefined, 'no key when auth is false')
  t.equal(upstream.requests[1]?.headers.authorization, `Bearer ${KEY}`, 'Bearer key when auth is true')
})

t.test('upstream answering nothing within the deadline → 504 UPSTREAM_TIMEOUT, not retried', async (t) => {
  const { upstream, client } = await setup(t, { timeoutMs: 300 })
  upstream.handle(() => { /* never answers */ })
  const err = await rejection(t, client.request(GET_PING))
  t.equal(err.statusCode, 504)
  t.equal(err.code, 'UPSTREAM_TIMEOUT')
  t.equal(upstream.requests.length, 1, 'a timeout is not retried even when retry is allowed')
})

t.test('the caller\'s own signal ends the call: 502 "cancelled", before or while it is in flight', async (t) => {
  const { upstream, client } = await setup(t, { timeoutMs: 30_000 })
  let seen!: () => void
  const arrived = new Promise<void>((resolve) => { seen = resolve })
  upstream.handle(() => { seen() /* never answers */ })
  const aborter = new AbortController()
  const call = client.request({ ...GET_PING, signal: aborter.signal })
  await arrived
  aborter.abort()
  const err = await rejection(t, call)
  t.equal(err.statusCode, 502)
  t.equal(err.code, 'UPSTREAM_UNAVAILABLE')
  t.match(err.message, /cancelled/)
  t.equal((err as UpstreamCallError).requestSent, true, 'it was written: upstream may have seen it')

  const early = await rejection(t, client.request({ ...GET_PING, signal: AbortSignal.abort() }))
  t.match(early.message, /cancelled/)
  t.equal((early as UpstreamCallError).requestSent, false, 'aborted before it was written')
  t.equal(upstream.requests.length, 1, 'the call aborted beforehand never reached upstream')
})

t.test('an answer written in several chunks comes back whole, byte for byte', async (t) => {
  const { upstream, client } = await setup(t)
  const parts = ['{"ok":true,', '"outputs":[{"amount":"0.1"}', '],"status":"Done"}']
  upstream.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    // Each part in its own chunk of the chunked encoding, a turn of the loop apart.
    const next = (i: number): void => {
      if (i === parts.length) {
        res.end()
        return
      }
      res.write(parts[i], () => { setImmediate(next, i + 1) })
    }
    next(0)
  })
  const result = await client.request(CHECK)
  t.equal(result.raw.toString('utf8'), parts.join(''))
  t.same(result.body, JSON.parse(parts.join('')))
})

t.test('a body that stalls past the deadline → 504', async (t) => {
  const { upstream, client } = await setup(t, { timeoutMs: 300 })
  upstream.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
    res.write('{"ok":')
  })
  const err = await rejection(t, client.request(CREATE))
  t.equal(err.statusCode, 504)
  t.equal(err.code, 'UPSTREAM_TIMEOUT')
})

t.test('connection reset → 502 UPSTREAM_UNAVAILABLE; never retried (the request was sent)', async (t) => {
  const { upstream, client } = await setup(t)
  upstream.handle((_req, res) => { res.socket?.destroy() })
  const create = await rejection(t, client.request(CREATE))
  t.equal(create.statusCode, 502)
  t.equal(create.code, 'UPSTREAM_UNAVAILABLE')
  t.equal(upstream.requests.length, 1, 'a create is never repeated')

  // Changed with issue 10: a reset after the request was written may have cost upstream's
  // quota, so even a retry-safe check is not repeated.
  const check = await rejection(t, client.request(CHECK))
  t.equal(check.code, 'UPSTREAM_UNAVAILABLE')
  t.equal(upstream.requests.length, 1 + 1, 'a check reset after it was sent is not repeated either')
})

t.test('nobody listening → 502 UPSTREAM_UNAVAILABLE, retried on the same quota slot', async (t) => {
  // Take a free port and release it: nothing listens there any more.
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const quota = new MemoryQuota({ limit: 10, reserve: 1 })
  const attempts: string[] = []
  const client = new UpstreamClient({ baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: KEY, timeoutMs: 2000, connections: 1, quota, retryBaseMs: 5, observer: (e) => { attempts.push(String(e.outcome)) } })
  t.teardown(() => client.close())
  const err = await rejection(t, client.request(GET_PING))
  t.equal(err.statusCode, 502)
  t.equal(err.code, 'UPSTREAM_UNAVAILABLE')
  attempts.length = 0
  const check = await rejection(t, client.request(CHECK))
  t.equal(check.code, 'UPSTREAM_UNAVAILABLE')
  t.same(attempts, ['network', 'network', 'network'], 'connection refused: upstream saw nothing, so the check is retried')
  t.equal((await quota.state()).used, 1, 'on the first attempt\'s quota slot')
  attempts.length = 0
  await rejection(t, client.request(CREATE))
  t.same(attempts, ['network'], 'a call that is not retry-safe is tried once')
})

t.test('HTML (or any non-JSON) answer → 502 UPSTREAM_BAD_RESPONSE, not retried', async (t) => {
  const { upstream, client } = await setup(t)
  upstream.handle((_req, res) => {
    res.writeHead(502, { 'content-type': 'text/html' })
    res.end('<html><body><h1>502 Bad Gateway</h1></body></html>')
  })
  const err = await rejection(t, client.request(GET_PING))
  t.equal(err.statusCode, 502)
  t.equal(err.code, 'UPSTREAM_BAD_RESPONSE')
  t.equal(upstream.requests.length, 1)

  upstream.handle((_req, res) => sendJson(res, 200, '[1,2,3]'))
  const array = await rejection(t, client.request(GET_PING))
  t.equal(array.code, 'UPSTREAM_BAD_RESPONSE', 'JSON that is not an object is refused too')
})

t.test('an oversized answer → 502 UPSTREAM_BAD_RESPONSE', async (t) => {
  const { upstream, client } = await setup(t, { maxBodyBytes: 64 })
  upstream.handle((_req, res) => sendJson(res, 200, JSON.stringify({ ok: true, pad: 'x'.repeat(200) })))
  const err = await rejection(t, client.request(GET_PING))
  t.equal(err.code, 'UPSTREAM_BAD_RESPONSE')
})

t.test('5xx: returned as is, never retried (upstream may have counted it)', async (t) => {
  // Changed with issue 10: a 5xx was retried for retry-safe calls; each attempt may cost
  // upstream's quota, so no longer.
  const { upstream, client } = await setup(t)
  upstream.handle((_req, res) => sendJson(res, 503, '{"ok":false,"code":"SERVICE_UNAVAILABLE","message":"busy"}'))
  const check = await client.request(CHECK)
  t.equal(check.statusCode, 503, 'the 503 is returned, not thrown')
  t.same(check.body, { ok: false, code: 'SERVICE_UNAVAILABLE', message: 'busy' })
  t.equal(upstream.requests.length, 1, 'a check is not repeated')
  const create = await client.request(CREATE)
  t.equal(create.statusCode, 503)
  t.equal(upstream.requests.length, 2)
})

t.test('4xx answers are returned as they are, never retried', async (t) => {
  const { upstream, client } = await setup(t)
  upstream.handle((_req, res) => sendJson(res, 404, '{"ok":false,"code":"NOT_FOUND","message":"Order not found or already deleted"}'))
  const result = await client.request(CHECK)
  t.equal(result.statusCode, 404)
  t.equal(upstream.requests.length, 1)
})

t.test('quota refused → 429 TOO_MANY_REQUESTS with Retry-After, and no call made', async (t) => {
  // Partitions: create 1, rest 2, no poll.
  const quota = new MemoryQuota({ limit: 3, reserve: 1, pollShare: 0 })
  const { upstream, client } = await setup(t, { quota })
  await client.request(CHECK)
  await client.request(CHECK)
  const err = await rejection(t, client.request(CHECK))
  t.equal(err.statusCode, 429)
  t.equal(err.code, 'TOO_MANY_REQUESTS')
  t.match(err.headers['retry-after'], /^\d+$/, 'Retry-After in whole seconds')
  t.ok(Number(err.headers['retry-after']) > 0)
  t.equal(upstream.requests.length, 2, 'the refused call never reached upstream')

  const create = await client.request(CREATE)
  t.equal(create.statusCode, 200, 'a create may still use the reserve')
  t.equal(upstream.requests.length, 3)

  await client.request(GET_PING)
  t.equal(upstream.requests.length, 4, 'unauthenticated calls use no quota')
  t.equal((await quota.state()).used, 3)
})

t.test('upstream TOO_MANY_REQUESTS pauses the quota for its Retry-After', async (t) => {
  const quota = new MemoryQuota({ limit: 100, reserve: 1 })
  const { upstream, client } = await setup(t, { quota })
  upstream.handle((_req, res) => sendJson(res, 429, '{"ok":false,"code":"TOO_MANY_REQUESTS","message":"Daily limit reached"}', { 'retry-after': '120' }))
  const result = await client.request(CHECK)
  t.equal(result.statusCode, 429, 'upstream\'s answer is returned')
  t.equal(result.retryAfter, '120')
  const err = await rejection(t, client.request(CHECK))
  t.equal(err.code, 'TOO_MANY_REQUESTS')
  t.ok(Number(err.headers['retry-after']) > 100 && Number(err.headers['retry-after']) <= 120, 'told to come back when upstream said')
  t.equal(upstream.requests.length, 1, 'no call during the pause')
})

t.test('a payer is charged before the quota slot; refused → 429 with Retry-After, no slot, no call', async (t) => {
  const upstream = await startFakeUpstream()
  const quota = new MemoryQuota({ limit: 100, reserve: 1 })
  const allowances = new MemoryAllowances()
  const client = new UpstreamClient({ baseUrl: upstream.baseUrl, apiKey: KEY, timeoutMs: 2000, connections: 2, quota, allowances, retryBaseMs: 5 })
  t.teardown(async () => {
    await client.close()
    await upstream.close()
  })
  const payer = { id: 'ip:203.0.113.9', limit: 2 }
  await client.request({ ...CHECK, payer })
  await client.request({ ...CHECK, payer })
  const err = await rejection(t, client.request({ ...CHECK, payer }))
  t.equal(err.statusCode, 429)
  t.equal(err.code, 'TOO_MANY_REQUESTS')
  t.match(err.message, /Daily allowance of upstream calls used up for this client/)
  t.ok(Number(err.headers['retry-after']) > 23 * 3600, 'Retry-After: when the first call leaves the 24 h window')
  t.equal(upstream.requests.length, 2, 'the refused call never reached upstream')
  t.equal((await quota.state()).used, 2, 'and took no quota slot')
  await client.request({ ...CHECK, payer: { id: 'token:shop', limit: 2 } })
  t.equal(upstream.requests.length, 3, 'another payer has its own allowance')
  await client.request(CHECK)
  t.equal(await allowances.used('ip:203.0.113.9'), 2, 'a call without a payer charges no one')
  await client.request({ ...GET_PING, payer })
  t.equal(upstream.requests.length, 5, 'an unauthenticated call costs no allowance')
})
