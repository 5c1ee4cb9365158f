/**
 * Prometheus metrics, kept in a per-app `Registry` (`app.metrics`) so several apps in
 * one process (tests) never clash. Served by `GET /metrics` (src/routes/health.ts).
 *
 * - `trackgate_http_request_duration_seconds{method,route,status_code}`: every answered
 *   request, labelled by route *pattern* (`/orders/:trackcode`), never by raw URL, so
 *   no trackcode reaches a label; unmatched URLs share `route="unmatched"`. Event streams
 *   are left out (their "duration" is a connection lifetime).
 * - `trackgate_upstream_requests_total{method,route,outcome}` and
 *   `trackgate_upstream_request_duration_seconds{method,route}`: every upstream attempt
 *   (outcome: HTTP status, `network`, `timeout` or `bad_response`);
 *   `route="/orders/check"` is the tracker's check latency.
 * - `trackgate_upstream_reachable`: 1 when upstream answers its ping, 0 when not (the
 *   check `/readyz` reports, `app.upstreamReachable`, reused for a few seconds).
 * - `trackgate_quota_*`: the daily quota, read from `app.state.quota` at scrape time;
 *   `trackgate_quota_remaining` 0 or `trackgate_quota_paused` 1 is what `/readyz`
 *   reports as `checks.quota.ok: false`.
 * - `trackgate_tracking_*`: pollers, subscribers, events sent and checks, streams
 *   refused (per IP), shed (global cap), cut for stalling and rotated, read at scrape
 *   time from a {@link TrackingStatsProvider}: the one given, else `app.tracking` when
 *   the tracking plugin is registered (otherwise they are not exported).
 * - `trackgate_allocator_*`: the poll allocator's state (`app.allocator`, see
 *   `src/tracking/allocator/explain.ts`): orders by plan, budget, reservations, the
 *   watch's pace, the refresh phase's uncertainty, checks by reason.
 * - the standard `process_*` / `nodejs_*` metrics of prom-client.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, onResponseHookHandler } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { AllocatorState } from '../tracking/allocator/explain.js'
import { RequestDurations, type DurationSeries } from './metrics/request-durations.js'
import { hooksOf } from './route-options.js'

/** Counters of the live tracking, as the metrics plugin reads them. */
export interface TrackingStats {
  /** Pollers running (one per tracked trackcode). */
  pollers: number
  /** Open event streams. */
  subscribers: number
  /** Events written to streams since start (all subscribers). */
  eventsSent: number
  /** Upstream checks made by the pollers since start. */
  checks: number
  /** Streams refused since start because their client IP held too many (429). */
  streamsRefused?: number
  /** Streams shed since start at the gateway's stream cap (200 + `retry:`). */
  streamsShed?: number
  /** Streams cut since start because their reader stalled. */
  streamsStalled?: number
  /** Streams ended since start at their maximum lifetime. */
  streamsRotated?: number
}

/** Reads the tracking counters at scrape time; `undefined` when tracking is not running. */
export type TrackingStatsProvider = () => TrackingStats | undefined | Promise<TrackingStats | undefined>

export interface MetricsPluginOptions {
  /** Default: {@link trackingStatsFromApp}. */
  trackingStats?: TrackingStatsProvider
  /** Export prom-client's process and Node.js metrics (default true). */
  processMetrics?: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry. */
    metrics: Registry
  }
}

const number = (v: unknown): number | undefined => typeof v === 'number' && Number.isFinite(v) ? v : undefined

/** The {@link TrackingStats} a provider may leave out. */
const OPTIONAL_STATS = ['streamsRefused', 'streamsShed', 'streamsStalled', 'streamsRotated'] as const

/**
 * The default provider: reads `app.tracking.stats()` when the tracking plugin has
 * decorated the app with one (unknown fields are left out).
 */
export function trackingStatsFromApp (app: FastifyInstance): TrackingStatsProvider {
  return async () => {
    const tracking = (app as unknown as { tracking?: { stats?: () => unknown } }).tracking
    if (typeof tracking?.stats !== 'function') return undefined
    const s = await tracking.stats() as Record<string, unknown> | undefined
    if (s === undefined || s === null) return undefined
    const out: TrackingStats = {
      pollers: number(s.pollers) ?? 0,
      subscribers: number(s.subscribers) ?? 0,
      eventsSent: number(s.eventsSent) ?? 0,
      checks: number(s.checks) ?? 0
    }
    // Optional fields only when reported.
    for (const key of OPTIONAL_STATS) {
      const value = number(s[key])
      if (value !== undefined) out[key] = value
    }
    return out
  }
}

/** The allocator's gauges and its checks by reason, read at scrape time from `state`. */
function allocatorMetrics (registry: Registry, state: () => AllocatorState): void {
  const gauges: Array<[string, string, (s: AllocatorState) => number]> = [
    ['trackgate_allocator_orders', 'Orders the poll allocator tracks.', (s) => s.orders],
    ['trackgate_allocator_appointments', 'Tracked orders with a check planned (appointment, retry, first look).', (s) => s.appointments],
    ['trackgate_allocator_watched', 'Tracked orders the watch ranks (a change that cannot be predicted is possible).', (s) => s.watched],
    ['trackgate_allocator_budget_limit', 'Checks the pollers\' partition allows per window.', (s) => s.budget.limit],
    ['trackgate_allocator_budget_used', 'Checks counted against the pollers\' partition in the window.', (s) => s.budget.used],
    ['trackgate_allocator_first_looks', 'First looks at new orders in the pollers\' window.', (s) => s.budget.first_looks],
    ['trackgate_allocator_first_look_reserve', 'Checks reserved for first looks over a window (arrivals seen, with a margin); appointments and the watch never take them.', (s) => s.budget.first_look_reserve],
    ['trackgate_allocator_thinning', 'How far appointments are thinned when they would take more than the budget gives them (0 none, 1 retention late and no safety checks, 2 also sends merged with their confirmations).', (s) => s.thinning],
    ['trackgate_allocator_reserved_hard', 'Appointments needed over the next window (planned, or what they took over the trailing one).', (s) => s.budget.reserved_hard],
    ['trackgate_allocator_reserved_soft', 'Expected appointments of unfunded orders, plus the share kept for arrivals.', (s) => s.budget.reserved_soft],
    ['trackgate_allocator_watch_rate_per_hour', 'The watch\'s pace, checks per hour.', (s) => s.budget.watch_per_hour],
    ['trackgate_allocator_refresh_uncertainty', 'Part of upstream\'s refresh period where its tick may still be (1: not learned).', (s) => s.refresh.uncertainty]
  ]
  for (const [name, help, read] of gauges) {
    // eslint-disable-next-line no-new
    new Gauge({ name, help, registers: [registry], collect () { this.set(read(state())) } })
  }
  // eslint-disable-next-line no-new
  new Counter({
    name: 'trackgate_allocator_checks_total',
    help: 'Checks the poll allocator started, by reason (first-look, appointment, watch, safety, retry, nudge).',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const [reason, n] of Object.entries(state().checks)) this.inc({ reason }, n)
    }
  })
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** Event streams are left out of request durations: theirs is a connection's lifetime. */
function isEventStream (reply: FastifyReply): boolean {
  const type = reply.getHeader('content-type')
  return typeof type === 'string' && type.startsWith('text/event-stream')
}

async function metrics (app: FastifyInstance, opts: MetricsPluginOptions): Promise<void> {
  const registry = new Registry()
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry })
  const trackingStats = opts.trackingStats ?? trackingStatsFromApp(app)

  const httpDuration = new RequestDurations({
    name: 'trackgate_http_request_duration_seconds',
    help: 'Time to answer HTTP requests (event streams excluded), by route pattern and status.',
    buckets: DURATION_BUCKETS,
    registry
  })
  const upstreamCalls = new Counter({
    name: 'trackgate_upstream_requests_total',
    help: 'Attempts to call SecretCryptos, by upstream route and outcome (HTTP status, network, timeout, bad_response).',
    labelNames: ['method', 'route', 'outcome'] as const,
    registers: [registry]
  })
  const upstreamDuration = new Histogram({
    name: 'trackgate_upstream_request_duration_seconds',
    help: 'Latency of SecretCryptos calls by upstream route; route="/orders/check" is the tracker\'s check latency.',
    labelNames: ['method', 'route'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry]
  })

  // eslint-disable-next-line no-new
  new Gauge({
    name: 'trackgate_upstream_reachable',
    help: '1 when SecretCryptos answers its ping (no quota spent), 0 when it cannot be reached; /readyz checks.upstream.',
    registers: [registry],
    async collect () {
      this.set((await app.upstreamReachable()).ok ? 1 : 0)
    }
  })
  const quotaGauge = (name: string, help: string, read: (s: Awaited<ReturnType<typeof app.state.quota.state>>) => number): Gauge => new Gauge({
    name,
    help,
    registers: [registry],
    async collect () {
      this.set(read(await app.state.quota.state()))
    }
  })
  quotaGauge('trackgate_quota_limit', 'Upstream requests allowed per rolling 24 h.', (s) => s.limit)
  quotaGauge('trackgate_quota_used', 'Upstream requests counted in the current rolling 24 h.', (s) => s.used)
  quotaGauge('trackgate_quota_remaining', 'Upstream requests left in the window, all partitions together.', (s) => s.remaining)
  quotaGauge('trackgate_quota_remaining_general', 'Upstream requests left in the window of the rest partition (REST calls other than creations).', (s) => s.remainingGeneral)
  const partitionGauge = (name: string, help: string, field: 'limit' | 'used'): void => {
    // eslint-disable-next-line no-new
    new Gauge({
      name,
      help,
      labelNames: ['partition'] as const,
      registers: [registry],
      async collect () {
        const { partitions } = await app.state.quota.state()
        for (const [partition, p] of Object.entries(partitions)) this.set({ partition }, p[field])
      }
    })
  }
  partitionGauge('trackgate_quota_partition_limit', 'Upstream requests each quota partition allows per rolling 24 h (poll: the pollers; create: order creations; rest: every other call).', 'limit')
  partitionGauge('trackgate_quota_partition_used', 'Upstream requests counted in each quota partition in the current rolling 24 h.', 'used')
  quotaGauge('trackgate_quota_paused', '1 while upstream TOO_MANY_REQUESTS pauses every call.', (s) => s.pausedUntil > 0 ? 1 : 0)

  // One read of the tracking counters per scrape, shared by the metrics below.
  let pendingStats: Promise<TrackingStats | undefined> | undefined
  const readStats = async (): Promise<TrackingStats | undefined> => {
    pendingStats ??= Promise.resolve(trackingStats()).finally(() => { setImmediate(() => { pendingStats = undefined }) })
    return await pendingStats
  }
  const trackingGauge = (name: string, help: string, field: keyof TrackingStats): void => {
    // eslint-disable-next-line no-new
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect () {
        const s = await readStats()
        if (s === undefined) this.reset()
        else this.set(s[field] ?? 0)
      }
    })
  }
  const trackingCounter = (name: string, help: string, field: keyof TrackingStats): void => {
    // eslint-disable-next-line no-new
    new Counter({
      name,
      help,
      registers: [registry],
      async collect () {
        const s = await readStats()
        this.reset()
        if (s !== undefined) this.inc(s[field] ?? 0)
      }
    })
  }
  // Once every plugin is loaded: exported only when there is tracking to report on.
  app.addHook('onReady', async () => {
    if (opts.trackingStats === undefined && !app.hasDecorator('tracking')) return
    trackingGauge('trackgate_tracking_pollers', 'Pollers running (one per tracked trackcode).', 'pollers')
    trackingGauge('trackgate_tracking_subscribers', 'Open event streams.', 'subscribers')
    trackingCounter('trackgate_tracking_events_sent_total', 'Events written to event streams.', 'eventsSent')
    trackingCounter('trackgate_tracking_checks_total', 'Upstream order checks made by the pollers.', 'checks')
    trackingCounter('trackgate_tracking_streams_refused_total', 'Event streams refused with 429 because their client IP held SSE_MAX_CONNECTIONS_PER_IP.', 'streamsRefused')
    trackingCounter('trackgate_tracking_streams_shed_total', 'Event streams shed at SSE_MAX_CONNECTIONS (answered with a retry: hint and OVERLOADED).', 'streamsShed')
    trackingCounter('trackgate_tracking_streams_stalled_total', 'Event streams cut because their reader stopped reading.', 'streamsStalled')
    trackingCounter('trackgate_tracking_streams_rotated_total', 'Event streams ended at SSE_MAX_LIFETIME_MS with a retry: hint.', 'streamsRotated')
    if (app.hasDecorator('allocator')) allocatorMetrics(registry, () => (app as unknown as { allocator: { state: () => AllocatorState } }).allocator.state())
  })

  // Same for the upstream calls (told before the answer is relayed, so on the path of
  // every forwarded request); bounded: the client's paths × outcomes.
  const upstreamSeries = new Map<string, { calls: ReturnType<typeof upstreamCalls.labels>, duration: ReturnType<typeof upstreamDuration.labels> }>()
  app.upstreamObservers.add((event) => {
    const key = `${event.method} ${event.path} ${event.outcome}`
    let series = upstreamSeries.get(key)
    if (series === undefined) {
      series = {
        calls: upstreamCalls.labels({ method: event.method, route: event.path, outcome: String(event.outcome) }),
        duration: upstreamDuration.labels({ method: event.method, route: event.path })
      }
      upstreamSeries.set(key, series)
    }
    series.calls.inc()
    series.duration.observe(event.durationMs / 1000)
  })

  // Each route's hook holds its own series (found once per method and status), so an
  // answer costs neither Fastify's `routeOptions` object nor a label key built and hashed.
  const observerOf = (route: string): onResponseHookHandler => {
    const byMethod = new Map<string, Map<number, DurationSeries>>()
    return function observeDuration (request, reply, done) {
      if (!isEventStream(reply)) {
        const method = KNOWN_METHODS.has(request.method) ? request.method : 'OTHER'
        let byStatus = byMethod.get(method)
        if (byStatus === undefined) byMethod.set(method, byStatus = new Map())
        let series = byStatus.get(reply.statusCode)
        if (series === undefined) byStatus.set(reply.statusCode, series = httpDuration.series({ method, route, status_code: String(reply.statusCode) }))
        series.observe(reply.elapsedTime / 1000)
      }
      done()
    }
  }
  app.addHook('onRoute', (route) => {
    route.onResponse = [...hooksOf(route.onResponse), observerOf(route.url ?? route.path)]
  })
  // URLs that match no route have no route hook: they share `route="unmatched"`.
  const unmatched = observerOf('unmatched')
  app.addHook('onResponse', function observeUnmatched (request, reply, done) {
    if (request.is404) unmatched.call(this, request, reply, done)
    else done()
  })

  app.decorate('metrics', registry)
}

export default fp(metrics, { name: 'metrics', dependencies: ['upstream'] })
