/**
 * The topics: one per trackcode with subscribers (or a subscription in progress). A
 * topic listens on the bus, remembers the latest version and tracking state, and owns
 * the trackcode's follow handle on the allocator, taken by the first subscriber and
 * given back `pollerGraceMs` after the last one left (a reconnecting browser finds the
 * order still tracked).
 */
import type { BusMessage, TrackingBus, TrackingMessage } from '../../state/bus/index.js'
import type { StoredSnapshot } from '../../state/snapshots/index.js'
import type { Clock, TimerHandle } from '../clock.js'
import { snapshotFrame, stopFrame } from '../frames.js'
import type { Follow } from '../allocator.js'
import type { SseStream } from '../sse-stream.js'
import { isFinalStatus } from '../status.js'

/** Latest version a topic knows, ready to write. */
export interface LatestVersion {
  version: number
  /** The serialized order. */
  json: string
  frame: string
  /** Set when the order is finished. */
  stopFrame?: string
}

/** What the hub keeps about one open stream. */
export interface Subscriber {
  ip: string | undefined
  /** When the stream is ended at its maximum lifetime (`Rotation.now()` time; see `rotation.ts`). */
  rotateAt: number
}

/** One trackcode's subscribers, latest version, tracking state and poller. */
export interface Topic {
  trackcode: string
  subscribers: Map<SseStream, Subscriber>
  /** Subscriptions awaiting their first snapshot. */
  pending: number
  latest: LatestVersion | null
  /** Latest `tracking` state seen (sent to newcomers while it says degraded). */
  tracking: TrackingMessage | null
  /** The allocator's handle while this topic's order is followed. */
  poller: Follow | null
  grace: TimerHandle | null
  unsubscribe: () => void
}

/** Makes `snapshot` the topic's latest version unless it knows a newer one; returns the latest. */
export function learn (topic: Topic, snapshot: StoredSnapshot): LatestVersion {
  if (topic.latest === null || snapshot.order.version > topic.latest.version) {
    const { order, json } = snapshot
    const latest: LatestVersion = { version: order.version, json, frame: snapshotFrame(order.version, json) }
    if (isFinalStatus(order.status)) latest.stopFrame = stopFrame(order)
    topic.latest = latest
  }
  return topic.latest
}

/** Options of {@link Topics}. */
export interface TopicsOptions {
  bus: TrackingBus
  /** Clock of the grace timers. */
  clock: Clock
  /** How long a topic whose poller runs outlives its last subscriber, ms. */
  graceMs: number
  /** Told every bus message of a topic. */
  deliver: (topic: Topic, message: BusMessage) => void
}

/** The topics by trackcode, their bus subscriptions and grace timers. */
export class Topics {
  readonly #opts: TopicsOptions
  readonly #byCode = new Map<string, Topic>()

  constructor (opts: TopicsOptions) {
    this.#opts = opts
  }

  get size (): number {
    return this.#byCode.size
  }

  get (trackcode: string): Topic | undefined {
    return this.#byCode.get(trackcode)
  }

  values (): IterableIterator<Topic> {
    return this.#byCode.values()
  }

  /** The open streams of every topic. */
  * streams (): Generator<SseStream> {
    for (const topic of this.#byCode.values()) yield * topic.subscribers.keys()
  }

  /** The topic of `trackcode`, created (and subscribed to the bus) if there is none. */
  acquire (trackcode: string): Topic {
    const known = this.#byCode.get(trackcode)
    if (known !== undefined) return known
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
    created.unsubscribe = this.#opts.bus.subscribe(trackcode, (message) => { this.#opts.deliver(created, message) })
    this.#byCode.set(trackcode, created)
    return created
  }

  /** A subscriber joined: the topic no longer waits to be dropped. */
  keep (topic: Topic): void {
    if (topic.grace === null) return
    this.#opts.clock.clearTimeout(topic.grace)
    topic.grace = null
  }

  /**
   * Drops `topic` if it is idle (no subscriber, no subscription in progress): after the
   * grace period when its poller runs, else (or `now`) at once.
   */
  release (topic: Topic, now: boolean): void {
    if (this.#byCode.get(topic.trackcode) !== topic) return
    if (topic.subscribers.size > 0 || topic.pending > 0) return
    const pollerRuns = topic.poller?.running === true
    if (!pollerRuns || now) {
      this.drop(topic)
      return
    }
    if (topic.grace !== null) return
    topic.grace = this.#opts.clock.setTimeout(() => {
      topic.grace = null
      if (topic.subscribers.size === 0 && topic.pending === 0) this.drop(topic)
    }, this.#opts.graceMs)
  }

  /** Stops the topic's poller and grace timer, leaves the bus, forgets the topic. */
  drop (topic: Topic): void {
    if (topic.grace !== null) this.#opts.clock.clearTimeout(topic.grace)
    topic.grace = null
    topic.poller?.stop()
    topic.poller = null
    topic.unsubscribe()
    if (this.#byCode.get(topic.trackcode) === topic) this.#byCode.delete(topic.trackcode)
  }
}
