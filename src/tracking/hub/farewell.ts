/**
 * The farewell: how the hub ends a stream it wants the browser to reconnect at once —
 * at its maximum lifetime (`rotation.ts`), on `TrackingHub.close` (shutdown), and
 * for a subscription arriving after shutdown (`admission.ts`). A short jittered
 * `retry:`, then the end; farewells also close the connection, so the reconnection can
 * land on another instance. Never a 503: EventSource would stop for good.
 */
import { retryFrame } from '../frames.js'

/** Farewell `retry:` (shutdown, rotation): reconnect after 1 s plus up to {@link FAREWELL_JITTER_MS}. */
export const FAREWELL_RETRY_MS = 1000
/** Spread of the farewell `retry:`, so the browsers of one instance do not all reconnect in the same instant. */
export const FAREWELL_JITTER_MS = 1000

/** A short `retry:`, jittered per stream (`random` in [0, 1)). */
export function farewellFrame (random: () => number): string {
  return retryFrame(FAREWELL_RETRY_MS + Math.round(random() * FAREWELL_JITTER_MS))
}
