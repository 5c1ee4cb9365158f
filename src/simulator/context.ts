/**
 * State shared by the simulator's routes.
 */
import type { SimClock } from './clock.js'
import type { OrderStore, SimTiming } from './orders.js'
import type { GuaranteeSigner } from './signature.js'

/** Everything a route handler needs. */
export interface SimContext {
  clock: SimClock
  timing: SimTiming
  /** Order status quantum (ms); 0 = live. */
  refreshIntervalMs: number
  store: OrderStore
  signer: GuaranteeSigner
  /** Networks that never have a free deposit address (→ SERVICE_UNAVAILABLE). */
  exhaustedNetworks: ReadonlySet<string>
}

/**
 * The instant whose order data `/v1/orders/check` and `/v1/validate` report: `now`
 * rounded down to the refresh interval, emulating upstream's once-a-minute refresh.
 */
export function observedAt (ctx: SimContext, now: number): number {
  const q = ctx.refreshIntervalMs
  return q > 0 ? Math.floor(now / q) * q : now
}

/** Epoch seconds of an epoch-ms time. */
export function seconds (ms: number): number {
  return Math.floor(ms / 1000)
}
