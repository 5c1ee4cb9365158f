/**
 * The Server-Sent Events wire format of the tracking stream, built once per event and
 * written as the same string to every subscriber.
 *
 * | frame       | wire                                                        |
 * |-------------|-------------------------------------------------------------|
 * | retry hint  | `retry: 3000`                                               |
 * | snapshot    | `id: <version>` + `data: <TrackedOrder JSON>` (a `message`) |
 * | stop        | `event: stop` + `data: <StopEvent JSON>`                    |
 * | tracking    | `event: tracking` + `data: <TrackingEvent JSON>`            |
 * | heartbeat   | `: keep-alive` (a comment)                                  |
 *
 * A stream turned away at the global cap is `retry:` (long, jittered) + a `tracking`
 * event with the reason `OVERLOADED`, then the end; a farewell (shutdown, rotation)
 * is a short `retry:` then the end.
 *
 * The payloads' schemas are in `schemas.ts` (named components of the OpenAPI document);
 * every time in them is Unix epoch seconds ({@link epochSeconds}).
 *
 * JSON never contains a raw line break, so every `data:` fits on one line.
 */
import type { DEGRADED_REASONS, StopEvent, TrackedOrder, TrackingEvent } from './schemas.js'

/** Why checks of an order fail, so that tracking is degraded (`null` once it is live again). */
export type DegradedReason = typeof DEGRADED_REASONS[number]

/** Payload of a `tracking` event (its schema: `TrackingEvent` in `schemas.ts`). */
export type TrackingState = TrackingEvent

/**
 * A time on the clock (epoch ms) as the payloads carry times: Unix epoch seconds,
 * rounded up, so that a client waiting until then is never early.
 */
export function epochSeconds (ms: number): number {
  return Math.ceil(ms / 1000)
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
  const payload: StopEvent = { trackcode: order.trackcode, status: order.status === 'Done' ? 'Done' : 'Gone', version: order.version }
  return `event: stop\ndata: ${JSON.stringify(payload)}\n\n`
}

/** A `tracking` event (never `error`: that name collides with EventSource's own error handler). */
export function trackingFrame (state: TrackingState): string {
  return `event: tracking\ndata: ${JSON.stringify(state)}\n\n`
}
