/**
 * The tracking hub: subscribers by trackcode, one poller per trackcode, fan-out. This
 * file composes the parts in `hub/`, one concept each:
 *
 * - `topics.ts`: a topic per trackcode, its bus subscription, its poller and grace timer;
 * - `freshness.ts`: the first snapshot and the polling fallback — stored or checked;
 * - `fanout.ts`: the same frame string to every subscriber, and the end of a finished order;
 * - `admission.ts`: stream limits (per client IP, global) and the answers of the streams
 *   refused, shed or turned away;
 * - `rotation.ts` and `farewell.ts`: streams ended at their maximum lifetime (one sweep
 *   timer for all), and the
 *   short `retry:` farewell that ends them (and every stream on {@link TrackingHub.close});
 * - `heartbeat.ts`: one timer keeps every stream alive;
 * - `counters.ts`: what `stats()` reports.
 *
 * A stream that stays stalled is cut (`stall-guard.ts`, or the `onStall` given).
 */
import type { FastifyBaseLogger } from 'fastify'
import type { BusMessage, TrackingBus } from '../state/bus/index.js'
import type { OrderRegistry } from '../state/orders/index.js'
import type { Payer } from '../upstream/client.js'
import type { SnapshotStore, StoredSnapshot } from '../state/snapshots/index.js'
import type { Clock } from './clock.js'
import { Admission, type OpenStream } from './hub/admission.js'
import { HubCounters, type TrackingStats } from './hub/counters.js'
import { fanOut, greet } from './hub/fanout.js'
import { farewellFrame } from './hub/farewell.js'
import { Freshness, notFound, type PolledSnapshot } from './hub/freshness.js'
import { Heartbeat } from './hub/heartbeat.js'
import { Rotation } from './hub/rotation.js'
import { Topics, learn, type LatestVersion, type Topic } from './hub/topics.js'
import type { Allocator } from './allocator.js'
import type { Refresher } from './refresher.js'
import type { SseStream } from './sse-stream.js'
import { stallGuard } from './stall-guard.js'
import type { TrackedOrder } from './schemas.js'

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
  /** Decides when each tracked order is checked (and has it checked). */
  allocator: Allocator
  store: SnapshotStore
  /** Known orders (created through the gateway, registered): their first check is a `poll`. Default: none. */
  orders?: OrderRegistry
  bus: TrackingBus
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

/** Who is subscribing, for the per-IP stream limit and the first check of an unknown order. */
export interface SubscriberInfo {
  /** The client's IP (`request.ip`, which honours `TRUST_PROXY`); none: no per-IP limit. */
  ip?: string
  /** Pays the first check of an order the gateway does not know (see {@link TrackingHub.poll}). */
  payer?: Payer
}

/** See the module comment. */
export class TrackingHub {
  readonly #opts: HubOptions
  readonly #shutdown = new AbortController()
  readonly #random: () => number
  readonly #counters = new HubCounters()
  readonly #topics: Topics
  readonly #freshness: Freshness
  readonly #admission: Admission
  readonly #rotation: Rotation
  readonly #heartbeat: Heartbeat
  readonly #onStall: (stream: SseStream, trackcode: string) => void

  constructor (opts: HubOptions) {
    const { settings, clock } = opts
    this.#opts = opts
    this.#random = opts.random ?? Math.random
    this.#topics = new Topics({ bus: opts.bus, clock, graceMs: settings.pollerGraceMs, deliver: (topic, message) => { this.#deliver(topic, message) } })
    this.#freshness = new Freshness({ store: opts.store, allocator: opts.allocator, clock, finalCacheMs: settings.finalCacheMs })
    this.#admission = new Admission({ maxPerIp: settings.sseMaxConnectionsPerIp, maxTotal: settings.sseMaxConnections, clock, random: this.#random, counters: this.#counters })
    this.#rotation = new Rotation(settings.sseMaxLifetimeMs, this.#random, (now) => { this.#rotateDue(now) })
    this.#heartbeat = new Heartbeat(settings.sseHeartbeatMs, () => {
      for (const stream of this.#topics.streams()) stream.heartbeat()
    })
    if (opts.onStall !== undefined) {
      this.#onStall = opts.onStall
    } else {
      const guard = stallGuard({
        ...(settings.stallTimeoutMs === undefined ? {} : { timeoutMs: settings.stallTimeoutMs }),
        ...(settings.maxBufferedBytes === undefined ? {} : { maxBufferedBytes: settings.maxBufferedBytes }),
        onDisconnect: () => { this.#counters.streamsStalled++ }
      })
      this.#onStall = (stream) => { guard(stream) }
    }
  }

  get #closed (): boolean {
    return this.#shutdown.signal.aborted
  }

  stats (): TrackingStats {
    return this.#counters.stats(this.#opts.refresher.stats(), this.#topics.size, this.#opts.allocator.size)
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
    if (this.#closed) {
      this.#admission.turnAway(open)
      return
    }
    const ip = client.ip
    if (!this.#admission.admit(ip, open)) return
    let attached = false
    const topic = this.#topics.acquire(trackcode)
    topic.pending++
    try {
      let initial: StoredSnapshot | undefined
      try {
        initial = await this.#initialSnapshot(trackcode, topic, client.payer)
      } catch (err) {
        // A check aborted by the shutdown is no error of the client's.
        if (!this.#closed) throw err
      }
      if (this.#closed || initial === undefined) {
        this.#admission.turnAway(open)
        return
      }
      attached = this.#attach(topic, initial, lastEventId, open, ip)
    } finally {
      // An attached stream is uncounted when it leaves (see #leave).
      if (!attached) this.#admission.release(ip)
      topic.pending--
      this.#release(topic)
    }
  }

  /**
   * Checks `trackcode` as soon as the quota allows instead of when the allocator planned
   * it (e.g. the demo just paid the order). Only an order the allocator tracks; false
   * when nothing was started (see `Allocator.nudge`).
   */
  async nudge (trackcode: string): Promise<boolean> {
    if (this.#closed) return false
    return await this.#opts.allocator.nudge(trackcode)
  }

  /**
   * The polling fallback: the snapshot of `trackcode` and when to ask again. A check
   * of an order the gateway does not know — no stored snapshot, no topic here, not in
   * the known orders — is charged to `payer` before it is made (429 once its allowance
   * is spent, with no check); a known order's check is a `poll`, charged to no one. An
   * order upstream said does not exist is a 404 without any check or charge.
   */
  async poll (trackcode: string, payer?: Payer): Promise<PolledSnapshot> {
    const topic = this.#topics.get(trackcode)
    const stored = await this.#freshness.lookup(trackcode)
    if (stored.snapshot !== undefined && stored.freshForMs !== undefined) return { snapshot: stored.snapshot, pollAfterMs: stored.freshForMs }
    const snapshot = await this.#check(trackcode, stored.snapshot, await this.#payerOfCheck(trackcode, stored.snapshot, topic, payer))
    return { snapshot, pollAfterMs: await this.#freshness.freshAfterCheck(snapshot) }
  }

  /**
   * {@link poll}'s answer without waiting, when the store holds a snapshot of
   * `trackcode` in process that may be served as it is; `undefined`: call {@link poll}
   * (which may check, and charge `payer`).
   */
  pollHeld (trackcode: string): PolledSnapshot | undefined {
    return this.#freshness.held(trackcode)
  }

  /**
   * Ends every stream with a farewell — `farewell` if given, else a short jittered
   * `retry:` so browsers reconnect (to another instance) within a second or two —
   * and closes its connection; stops every poller and timer, aborts in-flight checks.
   * Later subscriptions get the same farewell.
   */
  close (farewell?: string): void {
    if (this.#closed) return
    this.#shutdown.abort()
    for (const topic of [...this.#topics.values()]) {
      for (const stream of [...topic.subscribers.keys()]) {
        this.#leave(topic, stream)
        stream.hangUp(farewell ?? farewellFrame(this.#random))
        this.#counters.streamsFarewelled++
      }
      this.#topics.drop(topic)
    }
    this.#heartbeat.stop()
    this.#rotation.stop()
  }

  /** A subscriber's stream started lagging: hands it to the stall policy. */
  stalled (trackcode: string, stream: SseStream): void {
    this.#onStall(stream, trackcode)
  }

  /** A stream closed (client left, or ended by us). */
  detach (trackcode: string, stream: SseStream): void {
    const topic = this.#topics.get(trackcode)
    if (topic === undefined || !this.#leave(topic, stream)) return
    this.#release(topic)
  }

  async #initialSnapshot (trackcode: string, topic: Topic, payer: Payer | undefined): Promise<StoredSnapshot> {
    const stored = await this.#freshness.lookup(trackcode)
    if (stored.snapshot !== undefined && stored.freshForMs !== undefined) return stored.snapshot
    try {
      return await this.#check(trackcode, stored.snapshot, await this.#payerOfCheck(trackcode, stored.snapshot, topic, payer))
    } catch (err) {
      // Stale beats nothing on a stream: the poller about to start retries, and its
      // `tracking` event tells the subscriber that tracking is degraded.
      if (stored.snapshot !== undefined && !this.#closed) return stored.snapshot
      throw err
    }
  }

  /**
   * Who pays a check of `trackcode` now: `payer` when the order is unknown (no stored
   * snapshot, no topic with subscribers or a running poller, not tracked by the
   * allocator, not a known order), else no one (a `poll`).
   */
  async #payerOfCheck (trackcode: string, stored: StoredSnapshot | undefined, topic: Topic | undefined, payer: Payer | undefined): Promise<Payer | undefined> {
    if (payer === undefined || stored !== undefined) return undefined
    if (topic !== undefined && (topic.subscribers.size > 0 || topic.poller?.running === true)) return undefined
    if (this.#opts.allocator.tracks(trackcode)) return undefined
    if (await this.#opts.orders?.get(trackcode) !== undefined) return undefined
    return payer
  }

  async #check (trackcode: string, known: StoredSnapshot | undefined, payer?: Payer): Promise<StoredSnapshot> {
    // A `poll` check of an order the allocator does not track yet: a first look, out of
    // the reserve the allocator keeps for them (a paid one is the caller's, out of `rest`).
    if (payer === undefined) this.#opts.allocator.chargeFirstLook(trackcode)
    const outcome = await this.#opts.refresher.refresh(trackcode, {
      signal: this.#shutdown.signal,
      ...(known === undefined ? {} : { known }),
      ...(payer === undefined ? {} : { payer })
    })
    if (outcome.kind === 'snapshot') return outcome.snapshot
    if (outcome.kind === 'not_found') throw notFound(trackcode)
    throw outcome.error
  }

  /** Writes the first frames; true when the stream joined the topic's subscribers. */
  #attach (topic: Topic, initial: StoredSnapshot, lastEventId: string | undefined, open: OpenStream, ip: string | undefined): boolean {
    const latest = learn(topic, initial)
    const stream = open()
    if (stream === null || stream.closed) return false
    this.#counters.streamsOpened++
    const greeted = greet(stream, topic, latest, lastEventId, this.#opts.settings.sseRetryMs)
    this.#counters.eventsSent += greeted.events
    if (greeted.ended) return false
    topic.subscribers.set(stream, { ip, rotateAt: this.#rotation.due() })
    this.#counters.subscribers++
    this.#heartbeat.start()
    this.#rotation.start()
    this.#topics.keep(topic)
    if (topic.poller === null || !topic.poller.running) {
      const base = initial.order.version >= latest.version ? initial : this.#fromLatest(latest, initial)
      topic.poller = this.#opts.allocator.follow(topic.trackcode, base, () => { this.#release(topic) })
    }
    return true
  }

  /** Ends the streams whose maximum lifetime is over at `now`. */
  #rotateDue (now: number): void {
    const due: Array<[Topic, SseStream]> = []
    for (const topic of this.#topics.values()) {
      for (const [stream, subscriber] of topic.subscribers) if (subscriber.rotateAt <= now) due.push([topic, stream])
    }
    for (const [topic, stream] of due) this.#rotate(topic, stream)
  }

  /** Ends `stream` at its maximum lifetime. */
  #rotate (topic: Topic, stream: SseStream): void {
    if (!this.#leave(topic, stream)) return
    stream.hangUp(farewellFrame(this.#random))
    this.#counters.streamsRotated++
    this.#release(topic)
  }

  /** Takes `stream` out of `topic` and uncounts it; false when it was not there. */
  #leave (topic: Topic, stream: SseStream): boolean {
    const subscriber = topic.subscribers.get(stream)
    if (subscriber === undefined) return false
    topic.subscribers.delete(stream)
    this.#admission.release(subscriber.ip)
    // The heartbeat and the rotation sweep stop with the last stream.
    if (--this.#counters.subscribers === 0) {
      this.#heartbeat.stop()
      this.#rotation.stop()
    }
    return true
  }

  /** Drops `topic` if it is idle (see `Topics.release`); at once when closed. */
  #release (topic: Topic): void {
    this.#topics.release(topic, this.#closed)
  }

  #deliver (topic: Topic, message: BusMessage): void {
    const written = fanOut(topic, message, (stream) => { this.#leave(topic, stream) })
    this.#counters.eventsSent += written.events
    if (written.ended) this.#release(topic)
  }

  /** A stored form of a version learned from the bus (rare: it overtook the first snapshot). */
  #fromLatest (latest: LatestVersion, initial: StoredSnapshot): StoredSnapshot {
    return { order: JSON.parse(latest.json) as TrackedOrder, json: latest.json, checkedAt: Math.max(initial.checkedAt, this.#opts.clock.now()) }
  }
}
