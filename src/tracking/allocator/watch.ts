/**
 * The watch: changes that cannot be predicted — a payment, a top-up, a confirmation of
 * unknown lag, a predicted change that is late — and the index that ranks the orders
 * waiting for one.
 *
 * Each order gets a hazard (changes per ms expected now):
 *
 * - unpaid: `1 ÷ (age + paymentScaleMs)` — a customer shown a deposit address pays
 *   within minutes or, ever less likely, later;
 * - part-paid: the same for the top-up, from the first payment seen;
 * - a payment being confirmed, an output sent and not yet confirmed: the hazard of the
 *   learned lag distribution (`lags.ts`), else `1 ÷ confirmScaleMs`;
 * - a predicted change that is overdue: `1 ÷ overdueScaleMs`.
 *
 * Its index is the delay it has accumulated undetected since its last check: the
 * expected time a change has been waiting to be seen, `hazard × D² ÷ 2` where `D` is the
 * time since the last check once upstream has refreshed after it (0 before: nothing
 * new can be visible; the allocator counts it in refresh periods). The index is weighed by the moments users feel most: an address
 * just shown (the order is young and unpaid), and subscribers watching. Each refresh
 * period the watch's credit goes to the orders of highest index above a floor (a
 * Whittle-style priority across orders, not per-order intervals). An order nothing can
 * change has no hazard: it gets a safety check every `safetyMs` at the lowest priority.
 */
import type { TrackedOrder } from '../schemas.js'
import { isFullyReceived, isPending, type AppointmentSettings, type ChangeKind, type PredictedChange } from './appointments.js'
import type { ConfirmationLags } from './lags.js'
import type { OrderProgress } from './progress.js'

/** Settings of the hazard model. */
export interface WatchSettings {
  /** Payment hazard `1 ÷ (age + paymentScaleMs)`. */
  paymentScaleMs: number
  /** Confirmation hazard while no lag is learned. */
  confirmScaleMs: number
  /** Hazard of a predicted change that is late. */
  overdueScaleMs: number
  /** An order younger than this and unpaid has just been shown its deposit address. */
  justShownMs: number
  /** Safety check of an order nothing can change. */
  safetyMs: number
  /** Index below which an order is not worth a check (ms of expected delay). */
  floorMs: number
}

/** Why an order is watched: the change of highest hazard. */
export interface Hazard {
  /** Changes per ms expected now (0: nothing can change). */
  rate: number
  /** The kind of the most likely change (`null` when rate is 0). */
  kind: ChangeKind | null
}

/** The hazard of `order` at `now`; see the module comment. */
export function hazardOf (order: TrackedOrder, p: OrderProgress, changes: readonly PredictedChange[], now: number, lags: ConfirmationLags, periodMs: number, s: WatchSettings & AppointmentSettings): Hazard {
  let rate = 0
  let kind: ChangeKind | null = null
  let best = 0
  const add = (r: number, k: ChangeKind): void => {
    rate += r
    if (r > best) {
      best = r
      kind = k
    }
  }
  switch (order.status) {
    case 'Done':
    case 'Gone':
      return { rate: 0, kind: null }
    case 'WaitingForPayment':
      add(1 / (Math.max(0, now - p.since) + s.paymentScaleMs), 'payment')
      break
    case 'Confirming': {
      const seen = p.paymentSeen?.[1] ?? p.since
      if (!isFullyReceived(order)) add(1 / (Math.max(0, now - seen) + s.paymentScaleMs), 'payment')
      if (!changes.some((c) => c.kind === 'deposit-confirmation' && isPending(c, now, s))) {
        add(lags.hazard('deposit', Math.max(0, now - seen), periodMs, s.confirmScaleMs), 'deposit-confirmation')
      }
      break
    }
    case 'WaitingForDelivery':
      for (const o of order.outputs) {
        if (o.state !== 2 || o.confirm === 1) continue
        if (changes.some((c) => c.kind === 'output-confirmation' && c.output === o.index && isPending(c, now, s))) continue
        const sent = p.sentSeen.get(o.index)?.[1] ?? now
        add(lags.hazard('output', Math.max(0, now - sent), periodMs, s.confirmScaleMs), 'output-confirmation')
      }
      break
  }
  for (const c of changes) if (!isPending(c, now, s)) add(1 / s.overdueScaleMs, c.kind)
  return { rate, kind }
}

/** The priority weight of an order: just shown its deposit address, watched by someone. */
export function weightOf (order: TrackedOrder | undefined, p: OrderProgress, subscribers: number, now: number, s: WatchSettings): number {
  let w = subscribers > 0 ? 2 : 1
  const unpaid = order === undefined || order.status === 'WaitingForPayment'
  if (unpaid && now - p.since < s.justShownMs) w *= 2
  return w
}

/**
 * The watch index of an order whose changes may have waited `d` ms undetected (0 until
 * upstream refreshed after its last check): `weight × hazard × d² ÷ 2`. An order with no
 * hazard past its safety interval gets its age in safety intervals (ranked among safety
 * checks only).
 */
export function watchIndex (hazard: Hazard, weight: number, d: number, s: WatchSettings): number {
  if (d <= 0) return 0
  if (hazard.rate > 0) return weight * hazard.rate * d * d / 2
  return d >= s.safetyMs ? d / s.safetyMs : 0
}

/** A candidate of one round of the watch. */
export interface Candidate {
  trackcode: string
  index: number
  /** A safety check (no hazard): served only with credit the real ones left. */
  safety: boolean
}

/**
 * The orders one round's `credit` (whole checks) goes to: highest index first, above
 * the floor, then safety checks with what is left; stable order for equal indexes.
 */
export function chooseWatched (candidates: readonly Candidate[], credit: number, floorMs: number): Candidate[] {
  const real = candidates.filter((c) => !c.safety && c.index >= floorMs).sort((a, b) => b.index - a.index)
  const safety = candidates.filter((c) => c.safety && c.index > 0).sort((a, b) => b.index - a.index)
  return [...real, ...safety].slice(0, Math.max(0, Math.floor(credit)))
}
