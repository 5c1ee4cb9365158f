import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import metrics, { trackingStatsFromApp, type MetricsPluginOptions, type TrackingStats } from '../../src/plugins/metrics.js'
import { defaultConfig } from '../../src/config.js'
import { memoryStores } from '../../src/state/index.js'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import type { UpstreamObserver } from '../../src/upstream/client.js'
import { build } from '../helpers/build.js'
import { mixerOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'
import { waitFor } from '../helpers/wait-for.js'

/** The value of one sample line of a Prometheus text exposition, or undefined. */
function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (.+)$/.exec(line)
    if (m === null || m[1] !== name) continue
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4])
  }
  return undefined
}

async function scrape (url: string): Promise<string> {
  const res = await request(`${url}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  if (!/^text\/plain/.test(res.headers.get('content-type') ?? '')) throw new Error('not the Prometheus text format')
  return res.text
}

t.test('upstream calls by route and outcome, with latency', async (t) => {
  // A create that times out for its client goes on until CREATE_SETTLE_TIMEOUT_MS: its
  // attempt is counted when it really ends.
  const { gw, sim } = await build(t, { config: { upstreamTimeoutMs: 1000, createSettleTimeoutMs: 1500 } })
  t.equal((await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })).status, 200)
  sim.control.fail({ mode: 'reset', route: 'POST /v1/mixer/orders', count: 1 })
  t.equal((await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })).status, 502)
  sim.control.fail({ mode: 'hang', route: 'POST /v1/mixer/orders', count: 1 })
  t.equal((await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })).status, 504)
  sim.control.fail({ mode: 'html', route: 'POST /v1/mixer/orders', count: 1 })
  t.equal((await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })).status, 502)

  let text = ''
  await waitFor(async () => {
    text = await scrape(gw.url)
    return sample(text, 'trackgate_upstream_requests_total', { method: 'POST', route: '/mixer/orders', outcome: 'timeout' }) !== undefined
  }, 'the timed-out create to end', 20_000)
  const calls = (outcome: string): number | undefined => sample(text, 'trackgate_upstream_requests_total', { method: 'POST', route: '/mixer/orders', outcome })
  t.equal(calls('200'), 1)
  t.equal(calls('network'), 1)
  t.equal(calls('timeout'), 1)
  t.equal(calls('bad_response'), 1)
  t.equal(sample(text, 'trackgate_upstream_request_duration_seconds_count', { method: 'POST', route: '/mixer/orders' }), 4)
  t.equal(sample(text, 'trackgate_upstream_request_duration_seconds_count', { method: 'GET', route: '/meta/mixer' }), 1, 'the cached meta was fetched once')
})

t.test('HTTP durations are labelled by route pattern, never by trackcode', async (t) => {
  const { gw } = await build(t)
  const created = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })
  const trackcode: string = created.json.trackcode
  t.equal((await request(`${gw.url}/orders/${trackcode}`)).status, 200)
  t.equal((await request(`${gw.url}/orders/${trackcode}`)).status, 200)
  t.equal((await request(`${gw.url}/orders/0000000000000000`)).status, 404)
  t.equal((await request(`${gw.url}/no/such/${trackcode}`)).status, 404)

  const text = await scrape(gw.url)
  t.notOk(text.includes(trackcode), 'no trackcode in any label')
  t.equal(sample(text, 'trackgate_http_request_duration_seconds_count', { method: 'GET', route: '/orders/:trackcode', status_code: '200' }), 2)
  t.equal(sample(text, 'trackgate_http_request_duration_seconds_count', { method: 'GET', route: '/orders/:trackcode', status_code: '404' }), 1)
  t.equal(sample(text, 'trackgate_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' }), 1)
  t.equal(sample(text, 'trackgate_http_request_duration_seconds_count', { method: 'POST', route: '/v1/mixer/orders', status_code: '200' }), 1)
})

t.test('quota gauges follow the quota', async (t) => {
  const quota = new MemoryQuota({ limit: 50, reserve: 5 })
  const { gw } = await build(t, { app: { state: { quota } } })
  await quota.tryAcquire('rest')
  await quota.tryAcquire('rest')
  const text = await scrape(gw.url)
  t.equal(sample(text, 'trackgate_quota_limit'), 50)
  t.equal(sample(text, 'trackgate_quota_used'), 2)
  t.equal(sample(text, 'trackgate_quota_remaining'), 48)
  t.equal(sample(text, 'trackgate_quota_remaining_general'), 3, 'what the rest partition (50 − 5 − 40, the default poll share 0.8) has left')
  t.equal(sample(text, 'trackgate_quota_partition_limit', { partition: 'poll' }), 40)
  t.equal(sample(text, 'trackgate_quota_partition_limit', { partition: 'create' }), 5)
  t.equal(sample(text, 'trackgate_quota_partition_limit', { partition: 'rest' }), 5)
  t.equal(sample(text, 'trackgate_quota_partition_used', { partition: 'rest' }), 2)
  t.equal(sample(text, 'trackgate_quota_partition_used', { partition: 'poll' }), 0)
  t.equal(sample(text, 'trackgate_quota_paused'), 0)
  await quota.pause(Date.now() + 60_000)
  t.equal(sample(await scrape(gw.url), 'trackgate_quota_paused'), 1)
})

t.test('tracking counters: pollers, subscribers, events sent, checks', async (t) => {
  const { gw } = await build(t, { config: { pollIntervalMs: 100, pollWaitingPaymentMs: 100, pollerGraceMs: 50 } })
  const created = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })
  const trackcode: string = created.json.trackcode
  const aborter = new AbortController()
  const stream = await fetch(`${gw.url}/orders/${trackcode}/subscribe`, { headers: { accept: 'text/event-stream' }, signal: aborter.signal })
  t.equal(stream.status, 200)
  t.match(stream.headers.get('content-type'), /^text\/event-stream/)
  // Read the stream so the server can write to it.
  const reader = stream.body?.getReader()
  const reading = (async () => {
    try {
      if (reader !== undefined) for (let r = await reader.read(); !r.done; r = await reader.read()) { /* discard */ }
    } catch {}
  })()

  let text = ''
  await waitFor(async () => {
    text = await scrape(gw.url)
    return sample(text, 'trackgate_tracking_subscribers') === 1 && (sample(text, 'trackgate_tracking_events_sent_total') ?? 0) >= 1
  }, 'the subscriber to show up', 15_000)
  t.equal(sample(text, 'trackgate_tracking_pollers'), 1)
  t.ok((sample(text, 'trackgate_tracking_checks_total') ?? 0) >= 1)
  t.ok((sample(text, 'trackgate_upstream_requests_total', { method: 'POST', route: '/orders/check', outcome: '200' }) ?? 0) >= 1, 'check latency is recorded')
  t.equal(sample(text, 'trackgate_http_request_duration_seconds_count', { method: 'GET', route: '/orders/:trackcode/subscribe', status_code: '200' }), undefined, 'streams are not request durations')

  aborter.abort()
  await reading
  await waitFor(async () => sample(await scrape(gw.url), 'trackgate_tracking_subscribers') === 0, 'the subscriber to leave', 15_000)
})

/** A bare app with just what the metrics plugin needs from `upstream`. */
async function bareApp (t: Test, opts: MetricsPluginOptions): Promise<{ app: FastifyInstance, observers: Set<UpstreamObserver> }> {
  const observers = new Set<UpstreamObserver>()
  const app = Fastify()
  await app.register(fp(async (a) => {
    a.decorate('upstreamObservers', observers)
    a.decorate('upstreamReachable', async () => ({ ok: true, checkedAt: Date.now() }))
    a.decorate('state', memoryStores({ ...defaultConfig(), dailyQuota: 10, quotaReserve: 1 }))
  }, { name: 'upstream' }))
  await app.register(metrics, opts)
  t.teardown(async () => await app.close())
  await app.ready()
  return { app, observers }
}

t.test('the tracking provider is optional and pluggable; registries are per app', async (t) => {
  const stats: TrackingStats = { pollers: 2, subscribers: 5, eventsSent: 7, checks: 3 }
  const withStats = await bareApp(t, { trackingStats: async () => stats, processMetrics: false })
  const without = await bareApp(t, { processMetrics: false })
  withStats.observers.forEach((o) => { o({ method: 'POST', path: '/orders/check', outcome: 200, durationMs: 12 }) })

  const a = await withStats.app.metrics.metrics()
  t.equal(sample(a, 'trackgate_tracking_pollers'), 2)
  t.equal(sample(a, 'trackgate_tracking_subscribers'), 5)
  t.equal(sample(a, 'trackgate_tracking_events_sent_total'), 7)
  t.equal(sample(a, 'trackgate_tracking_checks_total'), 3)
  t.equal(sample(a, 'trackgate_upstream_requests_total', { route: '/orders/check', outcome: '200' }), 1)
  stats.eventsSent = 9
  t.equal(sample(await withStats.app.metrics.metrics(), 'trackgate_tracking_events_sent_total'), 9, 'read at scrape time')

  const b = await without.app.metrics.metrics()
  t.equal(sample(b, 'trackgate_tracking_pollers'), undefined, 'no tracking, no tracking samples')
  t.equal(sample(b, 'trackgate_upstream_requests_total', { route: '/orders/check', outcome: '200' }), undefined, 'the other app\'s registry is separate')
  t.equal(sample(b, 'trackgate_quota_limit'), 10)
  t.equal(sample(b, 'process_cpu_user_seconds_total'), undefined, 'process metrics can be left out')
})

t.test('the default provider reads app.tracking.stats() when there is one', async (t) => {
  const fake = { tracking: { stats: () => ({ pollers: 4, subscribers: 1, eventsSent: 2, checks: 8, extra: 'x' }) } }
  t.same(await trackingStatsFromApp(fake as never)(), { pollers: 4, subscribers: 1, eventsSent: 2, checks: 8 })
  t.equal(await trackingStatsFromApp({} as never)(), undefined)
})
