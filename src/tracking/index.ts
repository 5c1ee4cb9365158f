/**
 * Live order tracking: the hub behind `GET /orders/:trackcode/subscribe` (Server-Sent
 * Events) and its polling fallback `GET /orders/:trackcode` (`src/routes/orders/`),
 * fed by the poll allocator (`allocator.ts`), which decides for every tracked order when
 * it is checked, within the pollers' partition of the quota, and has its poller check it.
 *
 * Decorates `app.tracking` (the {@link TrackingHub}, used by those routes and by
 * `stats()` for metrics) — hence `fastify-plugin`. The stores behind it (snapshots, fan-out bus, poller leases, the
 * quota) are the state layer's, `app.state` (the quota's `state()`
 * reports the window fair shares are computed over; 24 h when it does not).
 */
import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { DAY_MS, type QuotaBudget } from '../state/quota/index.js'
import { Allocator, type AllocatorSettings } from './allocator.js'
import type { PollPartition } from './allocator/budget.js'
import { systemClock, type Clock } from './clock.js'
import { TrackingHub, type HubOptions } from './hub.js'
import { Leadership } from './leadership.js'
import { Poller } from './poller.js'
import { Refresher, type CheckFn } from './refresher.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The tracking hub: subscribers, pollers, and `stats()`. */
    tracking: TrackingHub
    /** The poll allocator: which tracked order is checked when (`GET /admin/allocator`, metrics). */
    allocator: Allocator
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
  /** Overrides of the allocator's tunables (tests, benchmarks). */
  allocator?: Partial<AllocatorSettings>
  /** In a cluster: the leader lease's TTL, about the hand-over time when a leader dies, ms. Default {@link LEADER_TTL_MS}. */
  leaderTtlMs?: number
}

/** The leader lease's default TTL: a dead leader is replaced within about this long. */
export const LEADER_TTL_MS = 3000

/**
 * The pollers' partition of the quota (`QUOTA_POLL_SHARE`), as the allocator reads it:
 * no other use of the quota can take from it.
 */
export function pollPartition (quota: QuotaBudget): PollPartition {
  return {
    async state () {
      const s = await quota.state()
      const poll = s.partitions.poll
      return { limit: poll.limit, used: poll.used, windowMs: s.windowMs ?? DAY_MS, pausedUntil: s.pausedUntil }
    }
  }
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

  const timings = { pollIntervalMs: config.pollIntervalMs, pollWaitingPaymentMs: config.pollWaitingPaymentMs, pollMaxIntervalMs: config.pollMaxIntervalMs }
  const shutdown = new AbortController()
  const owner = randomUUID()
  const refresher = new Refresher({
    check,
    store,
    bus,
    clock,
    pausedUntil: async () => (await quota.state()).pausedUntil,
    retryMs: { refused: config.pollIntervalMs, rateLimited: config.pollMaxIntervalMs },
    onChecked: (trackcode, order, sentAt) => { allocator.observe(trackcode, order, sentAt) },
    notFoundCacheMs: config.notFoundCacheMs,
    // Non-final snapshots are kept as long as final ones: they carry the version a
    // reconnecting browser's Last-Event-ID refers to.
    snapshotTtlMs: config.finalCacheMs,
    log
  })
  // In a cluster one allocator decides (the leader's); a single instance always leads.
  const leadership = app.hasDecorator('redis')
    ? new Leadership({ store: app.state.leader, owner, ttlMs: opts.leaderTtlMs ?? LEADER_TTL_MS, log, onChange: (leading) => { allocator.onLeadership(leading) } })
    : undefined
  // The refresher (above) shows the allocator every check made.
  const allocator: Allocator = new Allocator({
    owner,
    ...(leadership === undefined ? {} : { leadership, interest: app.state.interest }),
    partition: pollPartition(quota),
    clock,
    timings,
    known: app.state.orders,
    stored: async (trackcode) => await store.get(trackcode),
    log,
    ...(opts.allocator === undefined ? {} : { settings: opts.allocator }),
    executor: (trackcode, initial) => new Poller({
      trackcode,
      refresher,
      bus,
      lease,
      owner,
      clock,
      timings,
      signal: shutdown.signal,
      log,
      nextCheckAt: () => allocator.nextCheckAt(trackcode),
      ...(opts.random === undefined ? {} : { random: opts.random })
    }, initial)
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
    allocator,
    store,
    orders,
    bus,
    clock,
    log,
    ...(opts.onStall === undefined ? {} : { onStall: opts.onStall }),
    ...(opts.random === undefined ? {} : { random: opts.random })
  })

  app.decorate('tracking', hub)
  app.decorate('allocator', allocator)
  const stop = (): void => {
    hub.close()
    allocator.close()
    void leadership?.close()
    shutdown.abort()
  }
  // Known orders resume tracking (e.g. after a restart) once the app is up.
  app.addHook('onReady', async () => {
    allocator.start()
    leadership?.start()
  })
  // End the streams (with a short `retry:` farewell, closing their connections) and
  // stop the pollers as soon as a graceful shutdown starts, so browsers reconnect
  // elsewhere while requests drain; in any case on close. Subscriptions arriving
  // afterwards get the same farewell (200 + retry:, never 503).
  if (app.hasDecorator('lifecycle')) app.lifecycle.onShutdown(stop)
  app.addHook('preClose', async () => {
    stop()
    await leadership?.close()
  })
}

export default fp(tracking, { name: 'tracking', dependencies: ['upstream', 'state'] })
