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
 */
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { GatewayError } from '../errors.js'
import type { BusMessage, SnapshotMessage, TrackingBus, TrackingMessage } from './bus.js'
import type { Clock, TimerHandle } from './clock.js'
import { retryFrame, snapshotFrame, stopFrame } from './frames.js'
import type { LeaseStore } from './lease.js'
import { Poller } from './poller.js'
import type { Refresher, RefresherStats } from './refresher.js'
import type { PollScheduler } from './scheduler.js'
import type { SnapshotStore, StoredSnapshot } from './snapshot-store.js'
import type { SseStream } from './sse-stream.js'
import { isFinalStatus, type TrackedOrder } from './status.js'

/** Settings of the hub (from the configuration). */
export interface HubSettings {
  pollerGraceMs: number
  sseHeartbeatMs: number
  sseRetryMs: number
  /** How long a final snapshot is served without asking upstream. */
  finalCacheMs: number
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
  /** Told when a subscriber's stream starts lagging; may e.g. `stream.destroy()` it. */
  onStall?: (stream: SseStream, trackcode: string) => void
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

interface Topic {
  trackcode: string
  subscribers: Set<SseStream>
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
  #heartbeat: NodeJS.Timeout | null = null
  #subscribers = 0
  #pollers = 0
  #eventsSent = 0
  #streamsOpened = 0

  constructor (opts: HubOptions) {
    this.#opts = opts
  }

  /** True once {@link close} was called. */
  get closed (): boolean {
    return this.#shutdown.signal.aborted
  }

  /** Number of running pollers (what the scheduler shares the quota between). */
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
      streamsOpened: this.#streamsOpened
    }
  }

  /**
   * Subscribes a client to `trackcode`: finds the first snapshot (throwing a
   * {@link GatewayError} — 404, 429, 502, 504 — before anything is streamed), then
   * calls `open` and writes the `retry:` hint, the snapshot (unless `lastEventId`
   * says the client has it) and, for a finished order, `stop`.
   */
  async subscribe (trackcode: string, lastEventId: string | undefined, open: OpenStream): Promise<void> {
    if (this.closed) throw new GatewayError(503, 'SERVICE_UNAVAILABLE', 'The gateway is shutting down')
    const topic = this.#topicFor(trackcode)
    topic.pending++
    try {
      const initial = await this.#initialSnapshot(trackcode, topic)
      if (this.closed) throw new GatewayError(503, 'SERVICE_UNAVAILABLE', 'The gateway is shutting down')
      this.#attach(topic, initial, lastEventId, open)
    } finally {
      topic.pending--
      this.#release(topic)
    }
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
   * Ends every stream (after `farewell`, e.g. a short `retry:` so browsers reconnect
   * to another instance at once), stops every poller and timer, aborts in-flight checks.
   */
  close (farewell = ''): void {
    if (this.closed) return
    this.#shutdown.abort()
    for (const topic of [...this.#topics.values()]) {
      const streams = [...topic.subscribers]
      topic.subscribers.clear()
      for (const stream of streams) stream.finish(farewell)
      this.#drop(topic)
    }
    this.#subscribers = 0
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

  #attach (topic: Topic, initial: StoredSnapshot, lastEventId: string | undefined, open: OpenStream): void {
    if (topic.latest === null || initial.order.version > topic.latest.version) topic.latest = latestOf(initial.order, initial.json)
    const latest = topic.latest
    const stream = open()
    if (stream === null || stream.closed) return
    this.#streamsOpened++
    const sendSnapshot = lastEventId !== String(latest.version)
    stream.open(retryFrame(this.#opts.settings.sseRetryMs) + (sendSnapshot ? latest.frame : ''))
    if (sendSnapshot) this.#eventsSent++
    if (latest.stopFrame !== undefined) {
      stream.finish(latest.stopFrame)
      this.#eventsSent++
      return
    }
    if (topic.tracking?.state.state === 'degraded') {
      stream.send(topic.tracking.frame, 'tracking')
      this.#eventsSent++
    }
    topic.subscribers.add(stream)
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
      subscribers: new Set(),
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
      for (const stream of topic.subscribers) stream.send(message.frame, 'tracking')
      this.#eventsSent += topic.subscribers.size
      return
    }
    this.#deliverSnapshot(topic, message)
  }

  #deliverSnapshot (topic: Topic, message: SnapshotMessage): void {
    if (topic.latest !== null && message.version <= topic.latest.version) return
    topic.latest = { version: message.version, json: message.json, frame: message.frame, ...(message.stopFrame === undefined ? {} : { stopFrame: message.stopFrame }) }
    if (message.stopFrame === undefined) {
      for (const stream of topic.subscribers) stream.send(message.frame, 'snapshot')
      this.#eventsSent += topic.subscribers.size
      return
    }
    const streams = [...topic.subscribers]
    topic.subscribers.clear()
    this.#subscribers -= streams.length
    for (const stream of streams) stream.finish(message.frame, message.stopFrame)
    this.#eventsSent += 2 * streams.length
    topic.poller?.stop()
    this.#release(topic)
  }

  /** A subscriber's stream started lagging: hands it to the `onStall` policy, if any. */
  stalled (trackcode: string, stream: SseStream): void {
    this.#opts.onStall?.(stream, trackcode)
  }

  /** A stream closed (client left, or ended by us). */
  detach (trackcode: string, stream: SseStream): void {
    const topic = this.#topics.get(trackcode)
    if (topic === undefined || !topic.subscribers.delete(stream)) return
    this.#subscribers--
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
      for (const topic of this.#topics.values()) for (const stream of topic.subscribers) stream.heartbeat()
    }, this.#opts.settings.sseHeartbeatMs)
    this.#heartbeat.unref()
  }

  #stopHeartbeat (): void {
    if (this.#heartbeat === null) return
    clearInterval(this.#heartbeat)
    this.#heartbeat = null
  }
}
