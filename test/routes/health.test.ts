import t from 'tap'
import { createServer } from 'node:net'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import { build } from '../helpers/build.js'
import { request } from '../helpers/http.js'

/** A loopback port nothing listens on. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

t.test('/healthz: alive', async (t) => {
  const { gw } = await build(t)
  const res = await request(`${gw.url}/healthz`)
  t.equal(res.status, 200)
  t.same(res.json, { ok: true, status: 'alive' })
})

t.test('/readyz: ready, and probes cost upstream one ping per interval and no quota', async (t) => {
  const { gw, calls } = await build(t)
  for (let i = 0; i < 5; i++) {
    const res = await request(`${gw.url}/readyz`)
    t.equal(res.status, 200)
    t.equal(res.json.ok, true)
    t.equal(res.json.status, 'ready')
    t.equal(res.json.checks.shutting_down, false)
    t.equal(res.json.checks.upstream.ok, true)
    t.equal(res.json.checks.quota.ok, true)
    t.equal(res.headers.get('cache-control'), 'no-store')
  }
  t.equal(calls('GET /v1/ping'), 1, 'the ping is cached')
  t.equal((await gw.app.state.quota.state()).used, 0, 'no quota spent')
})

/** The value of one unlabelled sample in a /metrics scrape. */
async function metric (url: string, name: string): Promise<number | undefined> {
  const text = (await request(`${url}/metrics`)).text
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

t.test('/readyz: upstream unreachable is reported, in the body and the metrics, and stays 200', async (t) => {
  const { gw } = await build(t, { upstream: `http://127.0.0.1:${await closedPort()}/v1` })
  const res = await request(`${gw.url}/readyz`)
  t.equal(res.status, 200, 'still ready: every instance loses upstream at once')
  t.equal(res.json.ok, true)
  t.equal(res.json.checks.upstream.ok, false)
  t.equal(res.json.checks.upstream.reason, 'UPSTREAM_UNAVAILABLE')
  t.equal(res.json.checks.quota.ok, true)
  t.equal(await metric(gw.url, 'trackgate_upstream_reachable'), 0)
  t.equal((await request(`${gw.url}/healthz`)).status, 200, 'still alive')
})

t.test('/metrics: trackgate_upstream_reachable is 1 while upstream answers', async (t) => {
  const { gw } = await build(t)
  t.equal(await metric(gw.url, 'trackgate_upstream_reachable'), 1)
})

t.test('/readyz: the quota used up or paused is reported, in the body and the metrics, and stays 200', async (t) => {
  await t.test('used up', async (t) => {
    // Partitions: create 1, rest 1, no poll.
    const quota = new MemoryQuota({ limit: 2, reserve: 1, pollShare: 0 })
    const { gw } = await build(t, { app: { state: { quota } } })
    t.equal((await request(`${gw.url}/readyz`)).status, 200)
    await quota.tryAcquire('rest')
    const general = await request(`${gw.url}/readyz`)
    t.equal(general.status, 200, 'the reserve still allows order creation')
    t.equal(general.json.checks.quota.ok, true)
    t.equal(general.json.checks.quota.remaining_general, 0)
    await quota.tryAcquire('create')
    const res = await request(`${gw.url}/readyz`)
    t.equal(res.status, 200)
    t.equal(res.json.ok, true)
    t.same({ ...res.json.checks.quota }, { ok: false, reason: 'exhausted', limit: 2, used: 2, remaining: 0, remaining_general: 0, paused_until: null })
    t.equal(await metric(gw.url, 'trackgate_quota_remaining'), 0)
  })
  await t.test('paused after upstream TOO_MANY_REQUESTS', async (t) => {
    const quota = new MemoryQuota({ limit: 100, reserve: 1 })
    const { gw } = await build(t, { app: { state: { quota } } })
    const until = Date.now() + 60_000
    await quota.pause(until)
    const res = await request(`${gw.url}/readyz`)
    t.equal(res.status, 200)
    t.equal(res.json.checks.quota.ok, false)
    t.match(res.json.checks.quota.reason, /paused/)
    t.equal(res.json.checks.quota.paused_until, Math.ceil(until / 1000))
    t.equal(await metric(gw.url, 'trackgate_quota_paused'), 1)
  })
})

t.test('/readyz: 503 from the moment a shutdown starts', async (t) => {
  const { gw } = await build(t)
  t.equal((await gw.app.inject('/readyz')).statusCode, 200)
  const closing = gw.app.lifecycle.shutdown({ timeoutMs: 5000 })
  const res = await gw.app.inject('/readyz')
  t.equal(res.statusCode, 503)
  t.match(res.json().message, /shutting down/)
  t.equal(res.json().checks.shutting_down, true)
  t.equal((await gw.app.inject('/healthz')).statusCode, 200, 'liveness is unaffected')
  await closing
})
