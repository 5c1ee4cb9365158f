/**
 * How news about a trackcode reaches the hubs that have subscribers for it.
 *
 * The one poller of a trackcode publishes; every hub with local subscribers of that
 * trackcode listens. In one process this is a map of listeners; across several
 * gateways it can be Redis pub/sub with the same interface (messages carry the
 * already-serialized frames, so each is serialized once, wherever it was produced).
 */
import type { OrderStatus } from '../../tracking/schemas.js'
import type { TrackingState } from '../../tracking/frames.js'

/** A new version of an order. */
export interface SnapshotMessage {
  kind: 'snapshot'
  trackcode: string
  version: number
  status: OrderStatus
  /** The serialized order (`data:` of the event). */
  json: string
  /** The whole `message` event. */
  frame: string
  /** Present when the order is finished: the `stop` event to send after `frame`. */
  stopFrame?: string
}

/** Tracking of an order degraded or recovered. */
export interface TrackingMessage {
  kind: 'tracking'
  trackcode: string
  state: TrackingState
  /** The whole `tracking` event. */
  frame: string
}

/** What travels on the bus. */
export type BusMessage = SnapshotMessage | TrackingMessage

/** Receives the messages of one trackcode. */
export type BusListener = (message: BusMessage) => void

/** Publish/subscribe per trackcode. */
export interface TrackingBus {
  publish (message: BusMessage): Promise<void>
  /** Starts delivering `trackcode`'s messages to `listener`; the returned function stops it. */
  subscribe (trackcode: string, listener: BusListener): () => void
}
