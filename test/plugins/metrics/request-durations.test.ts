/**
 * The request-duration histogram prints and exports exactly what prom-client's own
 * `Histogram` does for the same observations (bounds, equal-to-bound values, `+Inf`,
 * several series, text and JSON), and resets like it.
 */
import t from 'tap'
import { Histogram, Registry } from 'prom-client'
import { RequestDurations } from '../../../src/plugins/metrics/request-durations.js'

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const NAME = 'trackgate_http_request_duration_seconds'
const HELP = 'Time to answer HTTP requests.'

function pair (): { ours: RequestDurations, theirs: Histogram<'method' | 'route' | 'status_code'>, ourRegistry: Registry, theirRegistry: Registry } {
  const ourRegistry = new Registry()
  const theirRegistry = new Registry()
  const ours = new RequestDurations({ name: NAME, help: HELP, buckets: BUCKETS, registry: ourRegistry })
  const theirs = new Histogram({ name: NAME, help: HELP, labelNames: ['method', 'route', 'status_code'] as const, buckets: BUCKETS, registers: [theirRegistry] })
  return { ours, theirs, ourRegistry, theirRegistry }
}

t.test('the same text and JSON as prom-client for the same observations', async (t) => {
  const { ours, theirs, ourRegistry, theirRegistry } = pair()
  const observations: Array<[string, string, string, number]> = [
    ['GET', '/orders/:trackcode', '200', 0.0004],
    ['GET', '/orders/:trackcode', '200', 0.005], // equal to a bound: that bound's bucket
    ['GET', '/orders/:trackcode', '304', 0.07],
    ['POST', '/v1/orders/check', '200', 31], // above every bound: +Inf only
    ['GET', 'unmatched', '404', 0.3]
  ]
  for (let i = 0; i < 200; i++) observations.push(['GET', '/v1/prices', i % 7 === 0 ? '429' : '200', (i * 37 % 1000) / 997])
  for (const [method, route, status, seconds] of observations) {
    ours.series({ method, route, status_code: status }).observe(seconds)
    theirs.observe({ method, route, status_code: status }, seconds)
  }
  t.equal(await ourRegistry.metrics(), await theirRegistry.metrics())
  // As a consumer sees it (prom-client leaves `exemplar: undefined` on sums and counts).
  t.same(JSON.parse(JSON.stringify(await ourRegistry.getMetricsAsJSON())), JSON.parse(JSON.stringify(await theirRegistry.getMetricsAsJSON())))
})

t.test('one series per label set, whoever asks for it', async (t) => {
  const { ours } = pair()
  const a = ours.series({ method: 'GET', route: '/healthz', status_code: '200' })
  t.equal(ours.series({ method: 'GET', route: '/healthz', status_code: '200' }), a)
  t.not(ours.series({ method: 'HEAD', route: '/healthz', status_code: '200' }), a)
})

t.test('reset zeroes the series the hooks hold, which keep counting', async (t) => {
  const { ours, ourRegistry } = pair()
  const series = ours.series({ method: 'GET', route: '/healthz', status_code: '200' })
  series.observe(0.001)
  ourRegistry.resetMetrics()
  t.match(await ourRegistry.metrics(), /_count\{method="GET",route="\/healthz",status_code="200"\} 0\n/)
  series.observe(0.001)
  t.match(await ourRegistry.metrics(), /_count\{method="GET",route="\/healthz",status_code="200"\} 1\n/)
})
