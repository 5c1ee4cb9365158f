/**
 * Live order tracking: the hub behind `GET /orders/:trackcode/subscribe` (Server-Sent
 * Events) and its polling fallback `GET /orders/:trackcode` (`src/routes/orders/`),
 * fed by one quota-aware poller per tracked order.
 *
 * Decorates `app.tracking` (the {@link TrackingHub}, used by those routes and by
 * `stats()` for metrics) — hence `fastify-plugin`. The stores behind it (snapshots, fan-out bus, poller leases, the
 * quota) are the state layer's, `app.state` (the quota's `state()`
 * reports the window fair shares are computed over; 24 h when it does not).
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { systemClock, type Clock } from './clock.js'
import { TrackingHub, type HubOptions } from './hub.js'
import { Refresher, type CheckFn } from './refresher.js'
import { PollScheduler } from './scheduler.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The tracking hub: subscribers, pollers, and `stats()`. */
    tracking: TrackingHub
  }
}

/** Options of the tracking plugin; every one has an in-process default. */
export interface TrackingOptions {
  /** Time and timers of the pollers (e.g. an accelerated clock for a simulated day). */
  clock?: Clock
  /** Source of jitter. Default `Math.random`. */
  random?: () => number
  /**
   * Policy for subscribers whose stream lags (told once per stall). Default: cut
   * streams that stay stalled for `stallTimeoutMs` or buffer more than
   * `maxBufferedBytes` (see `stall-guard.ts`); lagging streams only ever keep the
   * latest frame either way.
   */
  onStall?: HubOptions['onStall']
  /** Default stall policy: how long a stream may stay stalled, ms. Default 30 s. */
  stallTimeoutMs?: number
  /** Default stall policy: bytes a stream may keep waiting in the process, looked at a second into a stall. Default 1 MiB. */
  maxBufferedBytes?: number
}

async function tracking (app: FastifyInstance, opts: TrackingOptions): Promise<void> {
  const config = app.config
  const clock = opts.clock ?? systemClock
  const { snapshots: store, bus, leases: lease, quota, orders } = app.state
  const log = app.log.child({ module: 'tracking' })

  // Pollers pass retry: false (see poller.ts); a subscriber's first check keeps the retries.
  // The first check of an order nobody tracks is paid by its caller, out of `rest`.
  const check: CheckFn = async (trackcode, signal, retry = true, payer) => await app.upstream.request({
    method: 'POST',
    path: '/orders/check',
    body: { trackcode, outputs: 'full', mask_addresses: true },
    auth: true,
    purpose: payer === undefined ? 'poll' : 'rest',
    ...(payer === undefined ? {} : { payer }),
    retry,
    ...(signal === undefined ? {} : { signal })
  })

  const scheduler = new PollScheduler({
    timings: { pollIntervalMs: config.pollIntervalMs, pollWaitingPaymentMs: config.pollWaitingPaymentMs, pollMaxIntervalMs: config.pollMaxIntervalMs },
    quota,
    now: () => clock.now(),
    ...(opts.random === undefined ? {} : { random: opts.random })
  })
  const refresher = new Refresher({
    check,
    store,
    bus,
    clock,
    scheduler,
    notFoundCacheMs: config.notFoundCacheMs,
    // Non-final snapshots are kept as long as final ones: they carry the version a
    // reconnecting browser's Last-Event-ID refers to.
    snapshotTtlMs: config.finalCacheMs,
    log
  })
  const hub = new TrackingHub({
    settings: {
      pollerGraceMs: config.pollerGraceMs,
      sseHeartbeatMs: config.sseHeartbeatMs,
      sseRetryMs: config.sseRetryMs,
      finalCacheMs: config.finalCacheMs,
      sseMaxConnectionsPerIp: config.sseMaxConnectionsPerIp,
      sseMaxConnections: config.sseMaxConnections,
      sseMaxLifetimeMs: config.sseMaxLifetimeMs,
      ...(opts.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: opts.stallTimeoutMs }),
      ...(opts.maxBufferedBytes === undefined ? {} : { maxBufferedBytes: opts.maxBufferedBytes })
    },
    refresher,
    scheduler,
    store,
    orders,
    bus,
    lease,
    clock,
    log,
    ...(opts.onStall === undefined ? {} : { onStall: opts.onStall }),
    ...(opts.random === undefined ? {} : { random: opts.random })
  })

  app.decorate('tracking', hub)
  // End the streams (with a short `retry:` farewell, closing their connections) and
  // stop the pollers as soon as a graceful shutdown starts, so browsers reconnect
  // elsewhere while requests drain; in any case on close. Subscriptions arriving
  // afterwards get the same farewell (200 + retry:, never 503).
  if (app.hasDecorator('lifecycle')) app.lifecycle.onShutdown(() => { hub.close() })
  app.addHook('preClose', async () => { hub.close() })
}

export default fp(tracking, { name: 'tracking', dependencies: ['upstream', 'state'] })
