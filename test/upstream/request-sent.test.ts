/**
 * What the upstream client can tell about a failed call: whether the request may have
 * reached upstream (`requestSent`, `mayHaveReachedUpstream`), which decides whether an
 * order creation's Idempotency-Key may be released; per-call deadlines; and deadlines
 * kept for requests queued behind busy connections.
 */
import t, { type Test } from 'tap'
import { createServer, type AddressInfo } from 'node:net'
import { GatewayError } from '../../src/errors.js'
import { mayHaveReachedUpstream, UpstreamCallError, UpstreamClient, type UpstreamCall } from '../../src/upstream/client.js'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import { sendJson, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { waitFor } from '../helpers/wait-for.js'

const CREATE: UpstreamCall = { method: 'POST', path: '/mixer/orders', body: { amount: '1' }, auth: true, purpose: 'create', retry: false }

function clientFor (baseUrl: string, opts: { timeoutMs?: number, connections?: number, quota?: MemoryQuota } = {}): UpstreamClient {
  return new UpstreamClient({
    baseUrl,
    apiKey: 'sent-test-key',
    timeoutMs: opts.timeoutMs ?? 2000,
    connections: opts.connections ?? 4,
    quota: opts.quota ?? new MemoryQuota({ limit: 1000, reserve: 10 }),
    retryBaseMs: 5
  })
}

async function setup (t: Test, opts: Parameters<typeof clientFor>[1] = {}): Promise<{ upstream: FakeUpstream, client: UpstreamClient }> {
  const upstream = await startFakeUpstream()
  const client = clientFor(upstream.baseUrl, opts)
  t.teardown(async () => {
    await client.close(100)
    await upstream.close()
  })
  return { upstream, client }
}

async function failure (t: Test, call: Promise<unknown>): Promise<UpstreamCallError> {
  const err = await call.then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof UpstreamCallError, 'rejects with an UpstreamCallError')
  return err as UpstreamCallError
}

t.test('connection refused: 502, the request provably never left', async (t) => {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const client = clientFor(`http://127.0.0.1:${port}/v1`)
  t.teardown(() => client.close())
  const err = await failure(t, client.request(CREATE))
  t.equal(err.statusCode, 502)
  t.equal(err.code, 'UPSTREAM_UNAVAILABLE')
  t.equal(err.requestSent, false)
  t.equal(mayHaveReachedUpstream(err), false)
})

t.test('no answer by the deadline: 504, the request may have reached upstream', async (t) => {
  const { upstream, client } = await setup(t, { timeoutMs: 300 })
  upstream.handle(() => { /* never answers */ })
  const err = await failure(t, client.request(CREATE))
  t.equal(err.statusCode, 504)
  t.equal(err.code, 'UPSTREAM_TIMEOUT')
  t.equal(err.requestSent, true)
  t.equal(mayHaveReachedUpstream(err), true)
  t.equal(upstream.requests.length, 1)
})

t.test('reset after the request was read: 502, it may have reached upstream', async (t) => {
  const { upstream, client } = await setup(t)
  upstream.handle((_req, res) => { res.socket?.destroy() })
  const err = await failure(t, client.request(CREATE))
  t.equal(err.statusCode, 502)
  t.equal(err.requestSent, true)
  t.equal(mayHaveReachedUpstream(err), true)
})

t.test('a body that is not a JSON object: 502 BAD_RESPONSE, it reached upstream', async (t) => {
  const { upstream, client } = await setup(t)
  upstream.handle((_req, res) => sendJson(res, 200, '"created"'))
  const err = await failure(t, client.request(CREATE))
  t.equal(err.code, 'UPSTREAM_BAD_RESPONSE')
  t.equal(err.requestSent, true)
})

t.test('the local quota refusing: no attempt, nothing reached upstream', async (t) => {
  const { upstream, client } = await setup(t, { quota: new MemoryQuota({ limit: 2, reserve: 1 }) })
  await client.request(CREATE)
  const err = await client.request(CREATE).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof GatewayError)
  t.equal((err as GatewayError).statusCode, 429)
  t.equal(mayHaveReachedUpstream(err), false)
  t.equal(mayHaveReachedUpstream(new Error('anything else')), false)
  t.equal(upstream.requests.length, 1)
})

t.test('queued behind a busy connection: the deadline is kept and the request never leaves', async (t) => {
  const { upstream, client } = await setup(t, { connections: 1 })
  let release: (() => void) | undefined
  upstream.handle((_req, res) => { release = () => { sendJson(res, 200, '{"ok":true}') } })
  let firstDone = false
  const first = client.request({ ...CREATE, timeoutMs: 60_000 }).finally(() => { firstDone = true })
  await waitFor(() => upstream.requests.length === 1, 'the first request to reach upstream', 10_000)

  const err = await failure(t, client.request({ ...CREATE, timeoutMs: 300 }))
  t.equal(err.statusCode, 504, 'its own deadline, not the busy connection\'s')
  t.equal(err.requestSent, false, 'it was still queued')
  t.equal(firstDone, false, 'while the first request was still running')

  release?.()
  t.equal((await first).statusCode, 200)
  // The connection is free again: a later call goes through; the dropped one never does.
  upstream.handle((_req, res) => sendJson(res, 200, '{"ok":true}'))
  t.equal((await client.request(CREATE)).statusCode, 200)
  t.equal(upstream.requests.length, 2, 'the timed-out request was never sent')
})

t.test('a call\'s own deadline replaces the client\'s, backstops included', async (t) => {
  // undici's headers timeout is set from the client's 300 ms (+1 s) at the pool level.
  const { upstream, client } = await setup(t, { timeoutMs: 300 })
  upstream.handle((_req, res) => { setTimeout(() => { sendJson(res, 200, '{"ok":true,"late":true}') }, 2500) })
  const result = await client.request({ ...CREATE, timeoutMs: 10_000 })
  t.equal(result.statusCode, 200)
  t.same(result.body, { ok: true, late: true })

  const err = await failure(t, client.request({ ...CREATE, timeoutMs: 500 }))
  t.equal(err.code, 'UPSTREAM_TIMEOUT')
  t.match(err.message, /within 500 ms/)
})
