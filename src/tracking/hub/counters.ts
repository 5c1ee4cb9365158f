/**
 * The hub's counters: what is open now (streams, orders tracked) and what happened since
 * start (events written, streams opened, refused, shed, cut, rotated, farewelled),
 * read by `/metrics` through {@link TrackingStats}.
 */
import type { RefresherStats } from '../refresher.js'

/** Read-only counters, for metrics. */
export interface TrackingStats extends RefresherStats {
  /** Orders the allocator tracks (followed by subscribers, or known). */
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
}

/** The hub's own counts, bumped by the parts that do the counted thing. */
export class HubCounters {
  /** Open event streams. */
  subscribers = 0
  eventsSent = 0
  streamsOpened = 0
  streamsRefused = 0
  streamsShed = 0
  streamsStalled = 0
  streamsRotated = 0
  streamsFarewelled = 0

  /** The counters with the refresher's, the number of topics and of orders tracked. */
  stats (refresher: RefresherStats, topics: number, tracked: number): TrackingStats {
    return {
      ...refresher,
      pollers: tracked,
      subscribers: this.subscribers,
      topics,
      eventsSent: this.eventsSent,
      streamsOpened: this.streamsOpened,
      streamsRefused: this.streamsRefused,
      streamsShed: this.streamsShed,
      streamsStalled: this.streamsStalled,
      streamsRotated: this.streamsRotated,
      streamsFarewelled: this.streamsFarewelled
    }
  }
}
