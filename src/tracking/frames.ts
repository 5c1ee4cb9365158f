/**
 * The Server-Sent Events wire format of the tracking stream, built once per event and
 * written as the same string to every subscriber.
 *
 * | frame       | wire                                                        |
 * |-------------|-------------------------------------------------------------|
 * | retry hint  | `retry: 3000`                                               |
 * | snapshot    | `id: <version>` + `data: <TrackedOrder JSON>` (a `message`) |
 * | stop        | `event: stop` + `data: {"trackcode","status","version"}`    |
 * | tracking    | `event: tracking` + `data: {"state","reason","message","next_check_at"}` |
 * | heartbeat   | `: keep-alive` (a comment)                                  |
 *
 * A stream turned away at the global cap is `retry:` (long, jittered) + a `tracking`
 * event with the reason `OVERLOADED`, then the end; a farewell (shutdown, rotation)
 * is a short `retry:` then the end.
 *
 * JSON never contains a raw line break, so every `data:` fits on one line.
 */
import type { OrderStatus, TrackedOrder } from './schemas.js'

/** Why checks of an order fail, so that tracking is degraded (`null` once it is live again). */
export type DegradedReason = 'UPSTREAM_UNAVAILABLE' | 'UPSTREAM_TIMEOUT' | 'UPSTREAM_ERROR' | 'QUOTA_EXHAUSTED' | 'RATE_LIMITED'

/** Why a stream was turned away: the gateway holds as many streams as it may (`SSE_MAX_CONNECTIONS`). */
export type ShedReason = 'OVERLOADED'

/** The `reason` of a degraded `tracking` event. */
export type TrackingReason = DegradedReason | ShedReason

/** Payload of a `tracking` event. */
export interface TrackingState {
  state: 'degraded' | 'live'
  reason: TrackingReason | null
  /** Human-readable explanation. */
  message: string
  /** Epoch ms of the next planned upstream check (`OVERLOADED`: when the client reconnects). */
  next_check_at: number
}

/** Payload of a `stop` event. */
export interface StopPayload {
  trackcode: string
  status: Extract<OrderStatus, 'Done' | 'Gone'>
  version: number
}

/** The comment line sent on idle streams. */
export const HEARTBEAT_FRAME = ': keep-alive\n\n'

/** `retry:` hint telling EventSource how long to wait before reconnecting. */
export function retryFrame (ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`
}

/** A snapshot as a `message` event; `json` is the serialized {@link TrackedOrder}. */
export function snapshotFrame (version: number, json: string): string {
  return `id: ${version}\ndata: ${json}\n\n`
}

/** The `stop` event for a finished order. */
export function stopFrame (order: TrackedOrder): string {
  const payload: StopPayload = { trackcode: order.trackcode, status: order.status === 'Done' ? 'Done' : 'Gone', version: order.version }
  return `event: stop\ndata: ${JSON.stringify(payload)}\n\n`
}

/** A `tracking` event (never `error`: that name collides with EventSource's own error handler). */
export function trackingFrame (state: TrackingState): string {
  return `event: tracking\ndata: ${JSON.stringify(state)}\n\n`
}
