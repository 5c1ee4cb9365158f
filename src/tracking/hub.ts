/**
 * The tracking hub: subscribers by trackcode, one poller per trackcode, fan-out.
 *
 * - A *topic* exists per trackcode with subscribers (or a subscription in progress).
 *   It listens on the bus, remembers the latest version and tracking state, and owns
 *   the trackcode's one poller, started by the first subscriber and stopped
 *   `pollerGraceMs` after the last one left (a reconnecting browser finds it running).
 * - A subscriber first gets a snapshot: the stored one when it is final, when a poller
 *   keeps it fresh, or when it is younger than the order's polling interval;
 *   otherwise one check (shared with every concurrent first subscriber). Upstream
 *   `NOT_FOUND` on that check is a 404, remembered for `notFoundCacheMs`.
 * - Each version is serialized once and the same frame string is written to every
 *   subscriber; a slow one only holds back its own latest frame (see `SseStream`).
 *   One heartbeat timer serves every stream.
 * - `Done`/`Gone`: subscribers get the final snapshot and `stop`, their streams end,
 *   the poller stops, the topic goes; later subscribers are served from the store.
 *
 * Stream limits (counted from admission, see `stream-limits.ts`):
 * - one stream too many from a client IP is refused *before* anything is checked, with
 *   a 429 envelope and `Retry-After`. A browser's EventSource does not retry a non-200
 *   answer: that is intended for a client that holds too many streams already (the
 *   bundled client probes the order and retries with its backoff);
 * - at the global cap, a new subscriber is *shed* without switching its EventSource off:
 *   200 `text/event-stream`, a long jittered `retry:`, a `tracking` event
 *   `{state:"degraded", reason:"OVERLOADED"}`, and the end — the browser comes back later
 *   by itself (a 503 would stop it for good);
 * - a stream that stays stalled is cut (`stall-guard.ts`, or the `onStall` given);
 * - every stream is ended after its maximum lifetime (minus up to 20 % jitter, so
 *   streams opened together do not rotate together) with a short `retry:`: the browser
 *   reconnects at once with `Last-Event-ID` and gets no duplicate;
 * - on {@link TrackingHub.close} (shutdown) every stream gets the same farewell, and a
 *   subscription arriving afterwards gets 200 + `retry:` + end (never a 503). Farewells
 *   also close the connection, so the reconnection can land on another instance.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { GatewayError } from '../errors.js'
import type { BusMessage, SnapshotMessage, TrackingBus, TrackingMessage } from '../state/bus/index.js'
import type { Clock, TimerHandle } from './clock.js'
import { retryFrame, snapshotFrame, stopFrame, trackingFrame } from './frames.js'
import type { LeaseStore } from '../state/leases/index.js'
import { Poller } from './poller.js'
import type { Refresher, RefresherStats } from './refresher.js'
import type { PollScheduler } from './scheduler.js'
import type { SnapshotStore, StoredSnapshot } from '../state/snapshots/index.js'
import type { SseStream } from './sse-stream.js'
import { stallGuard } from './stall-guard.js'
import { isFinalStatus, type TrackedOrder } from './status.js'
import { StreamLimits } from './stream-limits.js'

/** Farewell `retry:` (shutdown, rotation): reconnect after 1 s plus up to {@link FAREWELL_JITTER_MS}. */
export const FAREWELL_RETRY_MS = 1000
/** Spread of the farewell `retry:`, so the browsers of one instance do not all reconnect in the same instant. */
export const FAREWELL_JITTER_MS = 1000
/** `retry:` of a stream shed at the global cap: 10 s plus up to {@link OVERLOAD_JITTER_MS}. */
export const OVERLOAD_RETRY_MS = 10_000
/** Spread of the overload `retry:`. */
export const OVERLOAD_JITTER_MS = 10_000
/** Part of the maximum lifetime taken off at random, so that streams opened together rotate apart. */
export const LIFETIME_JITTER = 0.2
/**
 * `Retry-After` of a stream refused for its client IP, seconds: a slot frees only when
 * one of that IP's streams ends, which nothing predicts; 30 s is the bundled client's
 * backoff cap.
 */
export const PER_IP_RETRY_AFTER_S = 30

/** Settings of the hub (from the configuration). */
export interface HubSettings {
  pollerGraceMs: number
  sseHeartbeatMs: number
  sseRetryMs: number
  /** How long a final snapshot is served without asking upstream. */
  finalCacheMs: number
  /** Streams (counted from admission) one client IP may hold. Default: no limit. */
  sseMaxConnectionsPerIp?: number
  /** Streams this gateway may hold; past it new ones are shed. Default: no limit. */
  sseMaxConnections?: number
  /** Longest life of a stream before it is rotated, ms. Default: no limit. */
  sseMaxLifetimeMs?: number
  /** How long a stream may stay stalled before the default policy cuts it, ms (see `stall-guard.ts`). */
  stallTimeoutMs?: number
  /** Bytes a stream may keep waiting in the process before the default policy cuts it. */
  maxBufferedBytes?: number
}

/** Options of {@link TrackingHub}. */
export interface HubOptions {
  settings: HubSettings
  refresher: Refresher
  scheduler: PollScheduler
  store: SnapshotStore
  bus: TrackingBus
  lease: LeaseStore
  clock: Clock
  log: FastifyBaseLogger
  /**
   * Told when a subscriber's stream starts lagging; replaces the default policy
   * (cut streams that stay stalled, see `stall-guard.ts`).
   */
  onStall?: (stream: SseStream, trackcode: string) => void
  /** Source of jitter. Default `Math.random`. */
  random?: () => number
}

/** Who is subscribing, for the per-IP stream limit. */
export interface SubscriberInfo {
  /** The client's IP (`request.ip`, which honours `TRUST_PROXY`); none: no per-IP limit. */
  ip?: string
}

/** Read-only counters, for metrics. */
export interface TrackingStats extends RefresherStats {
  /** Trackcodes with a running poller. */
  pollers: number
  /** Open event streams. */
  subscribers: number
  /** Trackcodes with subscribers, a running poller or a subscription in progress. */
  topics: number
  /** Events written to subscribers (snapshots, stops, tracking states; not heartbeats). */
  eventsSent: number
  /** Streams opened since start. */
  streamsOpened: number
  /** Streams refused since start because their client IP held too many (429). */
  streamsRefused: number
  /** Streams shed since start at the global cap (200 + `retry:` + `OVERLOADED`). */
  streamsShed: number
  /** Streams cut since start because they stayed stalled (default policy). */
  streamsStalled: number
  /** Streams ended since start at their maximum lifetime. */
  streamsRotated: number
  /** Streams ended since start with a shutdown farewell, or turned away while shutting down. */
  streamsFarewelled: number
  /** The factor by which pollers' intervals are stretched to fit the quota (1: not at all). */
  pollStretch: number
}

/** A snapshot answer for the polling fallback. */
export interface PolledSnapshot {
  snapshot: StoredSnapshot
  /** How long the client should wait before polling again, ms. */
  pollAfterMs: number
}

/** Latest version a topic knows, ready to write. */
interface LatestVersion {
  version: number
  /** The serialized order. */
  json: string
  frame: string
  /** Set when the order is finished. */
  stopFrame?: string
}

/** What the hub keeps about one open stream. */
interface Subscriber {
  ip: string | undefined
  /** Ends the stream at its maximum lifetime. */
  rotation: NodeJS.Timeout | null
}

interface Topic {
  trackcode: string
  subscribers: Map<SseStream, Subscriber>
  /** Subscriptions awaiting their first snapshot. */
  pending: number
  latest: LatestVersion | null
  /** Latest `tracking` state seen (sent to newcomers while it says degraded). */
  tracking: TrackingMessage | null
  poller: Poller | null
  grace: TimerHandle | null
  unsubscribe: () => void
}

/** Opens the client's stream once the first snapshot is known; `null` when the client already left. */
export type OpenStream = () => SseStream | null

function notFound (trackcode: string): GatewayError {
  return new GatewayError(404, 'NOT_FOUND', `Order ${trackcode} not found`)
}

function latestOf (order: TrackedOrder, json: string): LatestVersion {
  const latest: LatestVersion = { version: order.version, json, frame: snapshotFrame(order.version, json) }
  if (isFinalStatus(order.status)) latest.stopFrame = stopFrame(order)
  return latest
}

/** See the module comment. */
export class TrackingHub {
  readonly #opts: HubOptions
  readonly #topics = new Map<string, Topic>()
  readonly #owner = randomUUID()
  readonly #shutdown = new AbortController()
  readonly #limits: StreamLimits
  readonly #random: () => number
  readonly #onStall: (stream: SseStream, trackcode: string) => void
  #heartbeat: NodeJS.Timeout | null = null
  #subscribers = 0
  #pollers = 0
  #eventsSent = 0
  #streamsOpened = 0
  #streamsRefused = 0
  #streamsShed = 0
  #streamsStalled = 0
  #streamsRotated = 0
  #streamsFarewelled = 0

  constructor (opts: HubOptions) {
    this.#opts = opts
    this.#limits = new StreamLimits(opts.settings.sseMaxConnectionsPerIp, opts.settings.sseMaxConnections)
    this.#random = opts.random ?? Math.random
    if (opts.onStall !== undefined) {
      this.#onStall = opts.onStall
    } else {
      const guard = stallGuard({
        ...(opts.settings.stallTimeoutMs === undefined ? {} : { timeoutMs: opts.settings.stallTimeoutMs }),
        ...(opts.settings.maxBufferedBytes === undefined ? {} : { maxBufferedBytes: opts.settings.maxBufferedBytes }),
        onDisconnect: () => { this.#streamsStalled++ }
      })
      this.#onStall = (stream) => { guard(stream) }
    }
  }

  /** True once {@link close} was called. */
  get closed (): boolean {
    return this.#shutdown.signal.aborted
  }

  /** Number of running pollers. */
  activePollers (): number {
    return this.#pollers
  }

  stats (): TrackingStats {
    return {
      ...this.#opts.refresher.stats(),
      pollers: this.activePollers(),
      subscribers: this.#subscribers,
      topics: this.#topics.size,
      eventsSent: this.#eventsSent,
      streamsOpened: this.#streamsOpened,
      streamsRefused: this.#streamsRefused,
      streamsShed: this.#streamsShed,
      streamsStalled: this.#streamsStalled,
      streamsRotated: this.#streamsRotated,
      streamsFarewelled: this.#streamsFarewelled,
      pollStretch: this.#pollers === 0 ? 1 : this.#opts.scheduler.lastStretch
    }
  }

  /**
   * Subscribes a client to `trackcode`: applies the stream limits (429 for one stream
   * too many from `client.ip`; a shed stream at the global cap), finds the first
   * snapshot (throwing a {@link GatewayError} — 404, 429, 502, 504 — before anything is
   * streamed), then calls `open` and writes the `retry:` hint, the snapshot (unless
   * `lastEventId` says the client has it) and, for a finished order, `stop`. Once the
   * hub is closed, the client gets a farewell stream instead (200, `retry:`, end).
   */
  async subscribe (trackcode: string, lastEventId: string | undefined, open: OpenStream, client: SubscriberInfo = {}): Promise<void> {
    if (this.closed) {
      this.#turnAway(open)
      return
    }
    const ip = client.ip
    const admission = this.#limits.admit(ip)
    if (admission === 'per_ip') {
      this.#streamsRefused++
      throw new GatewayError(429, 'TOO_MANY_REQUESTS', `Too many open event streams from this address (at most ${this.#limits.maxPerIp}); close one, or retry in ${PER_IP_RETRY_AFTER_S} s`, {
        headers: { 'retry-after': String(PER_IP_RETRY_AFTER_S) }
      })
    }
    if (admission === 'overloaded') {
      this.#shed(open)
      return
    }
    let attached = false
    const topic = this.#topicFor(trackcode)
    topic.pending++
    try {
      let initial: StoredSnapshot | undefined
      try {
        initial = await this.#initialSnapshot(trackcode, topic)
      } catch (err) {
        // A check aborted by the shutdown is no error of the client's.
        if (!this.closed) throw err
      }
      if (this.closed || initial === undefined) {
        this.#turnAway(open)
        return
      }
      attached = this.#attach(topic, initial, lastEventId, open, ip)
    } finally {
      // An attached stream is uncounted when it leaves (see #removeSubscriber).
      if (!attached) this.#limits.release(ip)
      topic.pending--
      this.#release(topic)
    }
  }

  /**
   * Checks `trackcode` as soon as the quota allows instead of at its poller's planned
   * time (e.g. the demo just paid the order). Only an order with a running poller on
   * this gateway; false when nothing was started (see `Poller.nudge`).
   */
  async nudge (trackcode: string): Promise<boolean> {
    const poller = this.#topics.get(trackcode)?.poller
    if (poller === null || poller === undefined || !poller.running) return false
    return await poller.nudge()
  }

  /** The polling fallback: the snapshot of `trackcode` and when to ask again. */
  async poll (trackcode: string): Promise<PolledSnapshot> {
    if (await this.#opts.store.isNotFound(trackcode)) throw notFound(trackcode)
    const now = this.#opts.clock.now()
    const stored = await this.#opts.store.get(trackcode)
    const poller = this.#topics.get(trackcode)?.poller
    if (stored !== undefined) {
      if (isFinalStatus(stored.order.status)) return { snapshot: stored, pollAfterMs: this.#opts.settings.finalCacheMs }
      if (poller?.running === true) return { snapshot: stored, pollAfterMs: Math.max(0, poller.nextCheckAt - now) }
      const fresh = await this.#freshFor(stored)
      if (now - stored.checkedAt < fresh) return { snapshot: stored, pollAfterMs: stored.checkedAt + fresh - now }
    }
    const snapshot = await this.#check(trackcode, stored)
    if (isFinalStatus(snapshot.order.status)) return { snapshot, pollAfterMs: this.#opts.settings.finalCacheMs }
    return { snapshot, pollAfterMs: await this.#freshFor(snapshot) }
  }

  /**
   * Ends every stream with a farewell — `farewell` if given, else a short jittered
   * `retry:` so browsers reconnect (to another instance) within a second or two —
   * and closes its connection; stops every poller and timer, aborts in-flight checks.
   * Later subscriptions get the same farewell.
   */
  close (farewell?: string): void {
    if (this.closed) return
    this.#shutdown.abort()
    for (const topic of [...this.#topics.values()]) {
      for (const stream of [...topic.subscribers.keys()]) {
        this.#removeSubscriber(topic, stream)
        stream.hangUp(farewell ?? this.#farewellFrame())
        this.#streamsFarewelled++
      }
      this.#drop(topic)
    }
    this.#stopHeartbeat()
  }

  /** How long a non-final snapshot counts as fresh: its polling interval, fairly shared. */
  async #freshFor (snapshot: StoredSnapshot): Promise<number> {
    return await this.#opts.scheduler.afterSuccess(snapshot.order, snapshot.checkedAt) ?? this.#opts.settings.finalCacheMs
  }

  async #initialSnapshot (trackcode: string, topic: Topic): Promise<StoredSnapshot> {
    const { store, clock } = this.#opts
    if (await store.isNotFound(trackcode)) throw notFound(trackcode)
    const stored = await store.get(trackcode)
    if (stored !== undefined) {
      if (isFinalStatus(stored.order.status) || topic.poller?.running === true) return stored
      if (clock.now() - stored.checkedAt < await this.#freshFor(stored)) return stored
    }
    try {
      return await this.#check(trackcode, stored)
    } catch (err) {
      // Stale beats nothing on a stream: the poller about to start retries, and its
      // `tracking` event tells the subscriber that tracking is degraded.
      if (stored !== undefined && !this.closed) return stored
      throw err
    }
  }

  async #check (trackcode: string, known: StoredSnapshot | undefined): Promise<StoredSnapshot> {
    const outcome = await this.#opts.refresher.refresh(trackcode, {
      signal: this.#shutdown.signal,
      ...(known === undefined ? {} : { known })
    })
    if (outcome.kind === 'snapshot') return outcome.snapshot
    if (outcome.kind === 'not_found') throw notFound(trackcode)
    throw outcome.error
  }

  /** A short `retry:`, jittered per stream. */
  #farewellFrame (): string {
    return retryFrame(FAREWELL_RETRY_MS + Math.round(this.#random() * FAREWELL_JITTER_MS))
  }

  /** Answers a subscription while shutting down: 200, a farewell `retry:`, end (never a 503: EventSource would stop for good). */
  #turnAway (open: OpenStream): void {
    const stream = open()
    if (stream === null || stream.closed) return
    stream.open(this.#farewellFrame())
    stream.hangUp()
    this.#streamsFarewelled++
  }

  /** Answers a subscription past the global cap: 200, a long jittered `retry:`, `OVERLOADED`, end. */
  #shed (open: OpenStream): void {
    this.#streamsShed++
    const stream = open()
    if (stream === null || stream.closed) return
    const retryMs = OVERLOAD_RETRY_MS + Math.round(this.#random() * OVERLOAD_JITTER_MS)
    stream.open(retryFrame(retryMs))
    stream.finish(trackingFrame({
      state: 'degraded',
      reason: 'OVERLOADED',
      message: `This gateway is following as many orders as it can; reconnecting in ${Math.round(retryMs / 1000)} s`,
      next_check_at: this.#opts.clock.now() + retryMs
    }))
    this.#eventsSent++
  }

  /** Writes the first frames; true when the stream joined the topic's subscribers. */
  #attach (topic: Topic, initial: StoredSnapshot, lastEventId: string | undefined, open: OpenStream, ip: string | undefined): boolean {
    if (topic.latest === null || initial.order.version > topic.latest.version) topic.latest = latestOf(initial.order, initial.json)
    const latest = topic.latest
    const stream = open()
    if (stream === null || stream.closed) return false
    this.#streamsOpened++
    const sendSnapshot = lastEventId !== String(latest.version)
    stream.open(retryFrame(this.#opts.settings.sseRetryMs) + (sendSnapshot ? latest.frame : ''))
    if (sendSnapshot) this.#eventsSent++
    if (latest.stopFrame !== undefined) {
      stream.finish(latest.stopFrame)
      this.#eventsSent++
      return false
    }
    if (topic.tracking?.state.state === 'degraded') {
      stream.send(topic.tracking.frame, 'tracking')
      this.#eventsSent++
    }
    topic.subscribers.set(stream, { ip, rotation: this.#rotationTimer(topic, stream) })
    this.#subscribers++
    this.#startHeartbeat()
    if (topic.grace !== null) {
      this.#opts.clock.clearTimeout(topic.grace)
      topic.grace = null
    }
    if (topic.poller === null || !topic.poller.running) {
      const base = initial.order.version >= latest.version ? initial : this.#fromLatest(latest, initial)
      topic.poller = this.#newPoller(topic, base)
      this.#pollers++
      topic.poller.start()
    }
    return true
  }

  /** Ends `stream` after its maximum lifetime (less a random part of it), in real time. */
  #rotationTimer (topic: Topic, stream: SseStream): NodeJS.Timeout | null {
    const max = this.#opts.settings.sseMaxLifetimeMs
    if (max === undefined || !Number.isFinite(max)) return null
    const timer = setTimeout(() => {
      if (!this.#removeSubscriber(topic, stream)) return
      stream.hangUp(this.#farewellFrame())
      this.#streamsRotated++
      this.#release(topic)
    }, Math.max(0, Math.round(max * (1 - LIFETIME_JITTER * this.#random()))))
    timer.unref()
    return timer
  }

  /** Takes `stream` out of `topic` and uncounts it; false when it was not there. */
  #removeSubscriber (topic: Topic, stream: SseStream): boolean {
    const subscriber = topic.subscribers.get(stream)
    if (subscriber === undefined) return false
    topic.subscribers.delete(stream)
    if (subscriber.rotation !== null) clearTimeout(subscriber.rotation)
    this.#subscribers--
    this.#limits.release(subscriber.ip)
    return true
  }

  /** A stored form of a version learned from the bus (rare: it overtook the first snapshot). */
  #fromLatest (latest: LatestVersion, initial: StoredSnapshot): StoredSnapshot {
    return { order: JSON.parse(latest.json) as TrackedOrder, json: latest.json, checkedAt: Math.max(initial.checkedAt, this.#opts.clock.now()) }
  }

  #newPoller (topic: Topic, initial: StoredSnapshot): Poller {
    const o = this.#opts
    return new Poller({
      trackcode: topic.trackcode,
      refresher: o.refresher,
      scheduler: o.scheduler,
      bus: o.bus,
      lease: o.lease,
      owner: this.#owner,
      clock: o.clock,
      signal: this.#shutdown.signal,
      log: o.log,
      onFinished: () => { this.#release(topic) },
      onStop: () => { this.#pollers-- }
    }, initial)
  }

  #topicFor (trackcode: string): Topic {
    let topic = this.#topics.get(trackcode)
    if (topic !== undefined) return topic
    const created: Topic = {
      trackcode,
      subscribers: new Map(),
      pending: 0,
      latest: null,
      tracking: null,
      poller: null,
      grace: null,
      unsubscribe: () => {}
    }
    created.unsubscribe = this.#opts.bus.subscribe(trackcode, (message) => { this.#deliver(created, message) })
    this.#topics.set(trackcode, created)
    topic = created
    return topic
  }

  #deliver (topic: Topic, message: BusMessage): void {
    if (message.kind === 'tracking') {
      topic.tracking = message
      for (const stream of topic.subscribers.keys()) stream.send(message.frame, 'tracking')
      this.#eventsSent += topic.subscribers.size
      return
    }
    this.#deliverSnapshot(topic, message)
  }

  #deliverSnapshot (topic: Topic, message: SnapshotMessage): void {
    if (topic.latest !== null && message.version <= topic.latest.version) return
    topic.latest = { version: message.version, json: message.json, frame: message.frame, ...(message.stopFrame === undefined ? {} : { stopFrame: message.stopFrame }) }
    if (message.stopFrame === undefined) {
      for (const stream of topic.subscribers.keys()) stream.send(message.frame, 'snapshot')
      this.#eventsSent += topic.subscribers.size
      return
    }
    const streams = [...topic.subscribers.keys()]
    for (const stream of streams) {
      this.#removeSubscriber(topic, stream)
      stream.finish(message.frame, message.stopFrame)
    }
    this.#eventsSent += 2 * streams.length
    topic.poller?.stop()
    this.#release(topic)
  }

  /** A subscriber's stream started lagging: hands it to the stall policy. */
  stalled (trackcode: string, stream: SseStream): void {
    this.#onStall(stream, trackcode)
  }

  /** A stream closed (client left, or ended by us). */
  detach (trackcode: string, stream: SseStream): void {
    const topic = this.#topics.get(trackcode)
    if (topic === undefined || !this.#removeSubscriber(topic, stream)) return
    this.#release(topic)
  }

  /** Drops an idle topic, after the grace period when its poller runs. */
  #release (topic: Topic): void {
    if (this.#topics.get(topic.trackcode) !== topic) return
    if (topic.subscribers.size > 0 || topic.pending > 0) return
    if (this.#subscribers === 0) this.#stopHeartbeat()
    const pollerRuns = topic.poller?.running === true
    if (!pollerRuns || this.closed) {
      this.#drop(topic)
      return
    }
    if (topic.grace !== null) return
    topic.grace = this.#opts.clock.setTimeout(() => {
      topic.grace = null
      if (topic.subscribers.size === 0 && topic.pending === 0) this.#drop(topic)
    }, this.#opts.settings.pollerGraceMs)
  }

  #drop (topic: Topic): void {
    if (topic.grace !== null) this.#opts.clock.clearTimeout(topic.grace)
    topic.grace = null
    topic.poller?.stop()
    topic.poller = null
    topic.unsubscribe()
    if (this.#topics.get(topic.trackcode) === topic) this.#topics.delete(topic.trackcode)
  }

  #startHeartbeat (): void {
    if (this.#heartbeat !== null) return
    // Real time, whatever the tracking clock: it is for proxies that close idle connections.
    this.#heartbeat = setInterval(() => {
      for (const topic of this.#topics.values()) for (const stream of topic.subscribers.keys()) stream.heartbeat()
    }, this.#opts.settings.sseHeartbeatMs)
    this.#heartbeat.unref()
  }

  #stopHeartbeat (): void {
    if (this.#heartbeat === null) return
    clearInterval(this.#heartbeat)
    this.#heartbeat = null
  }
}
