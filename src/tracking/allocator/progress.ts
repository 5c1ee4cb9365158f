/**
 * What the allocator remembers of one order between checks, and what each check teaches:
 * when the payment was first seen and when each output was first seen sent (as
 * intervals: between the last check without it and the first with it), fed to the
 * confirmation lags; and, when a planned send shows up (or does not) at a check,
 * where upstream's refresh tick can be (fed to the refresh phase).
 */
import type { TrackedOrder } from '../schemas.js'
import type { ConfirmationLags } from './lags.js'
import type { RefreshPhase } from './refresh-phase.js'

/** A planned send time (`send_at`) is known to the second: the send is within this of it, ms. */
const SEND_AT_UNCERTAINTY_MS = 1000

/** An instant known to lie in `(from, to]`, epoch ms. */
export type Interval = [from: number, to: number]

/** Per-order memory; see the module comment. */
export interface OrderProgress {
  /** When the order was first seen (or created), epoch ms: the age of an unpaid order counts from here. */
  since: number
  /** When a payment was first seen (`Confirming`). */
  paymentSeen: Interval | null
  /** When the deposit was first seen confirmed and funded. */
  fundedSeen: Interval | null
  /** When each output (by index) was first seen sent. */
  sentSeen: Map<number, Interval>
  /** Epoch ms of the last check whose answer the allocator saw (0: none). */
  lastCheckAt: number
  /** The last snapshot seen. */
  last: TrackedOrder | undefined
}

/** A fresh memory for an order first known at `since`. */
export function newProgress (since: number, snapshot?: TrackedOrder, checkedAt = 0): OrderProgress {
  const p: OrderProgress = { since, paymentSeen: null, fundedSeen: null, sentSeen: new Map(), lastCheckAt: checkedAt, last: snapshot }
  if (snapshot !== undefined) {
    // What happened before the first look is dated to "some time before it".
    const before: Interval = [since - 1, checkedAt]
    if (snapshot.status !== 'WaitingForPayment') p.paymentSeen = before
    if (snapshot.deposit.funding?.can_start === true) p.fundedSeen = before
    for (const o of snapshot.outputs) if (o.state === 2) p.sentSeen.set(o.index, before)
  }
  return p
}

/** Learning material shared by every order. */
export interface Learners {
  phase: RefreshPhase
  lags: ConfirmationLags
}

/**
 * Folds the check made at `checkedAt` (answer `order`) into `p`, teaching `learners`.
 * A check older than the last one seen changes nothing.
 */
export function observeCheck (p: OrderProgress, order: TrackedOrder, checkedAt: number, learners: Learners): void {
  if (checkedAt < p.lastCheckAt) return
  const before = p.last
  const prevAt = p.lastCheckAt
  const seen: Interval = [prevAt, checkedAt]
  const maxWidth = 2 * learners.phase.periodMs
  if (p.paymentSeen === null && order.status !== 'WaitingForPayment') p.paymentSeen = seen
  if (p.fundedSeen === null && order.deposit.funding?.can_start === true) {
    // The outputs' countdowns start when the order is funded: a planned send less its
    // delay dates the funding to the second, however late it was seen.
    const fundedAt = fundedAtOf(order)
    p.fundedSeen = fundedAt !== undefined && fundedAt + SEND_AT_UNCERTAINTY_MS > prevAt
      ? [Math.max(prevAt, fundedAt - SEND_AT_UNCERTAINTY_MS), Math.min(checkedAt, fundedAt + SEND_AT_UNCERTAINTY_MS)]
      : seen
    if (p.paymentSeen !== null && p.paymentSeen !== seen) learners.lags.record('deposit', p.paymentSeen, p.fundedSeen, maxWidth)
  }
  for (const o of order.outputs) {
    const was = before?.outputs.find((b) => b.index === o.index)
    const plannedAt = typeof was?.send_at === 'number' ? was.send_at * 1000 : undefined
    if (o.state === 2 && !p.sentSeen.has(o.index)) {
      // A planned send happened at its planned time (known to the second): seen late
      // (a thinned appointment sees it with its confirmation), it is dated so.
      p.sentSeen.set(o.index, plannedAt !== undefined && plannedAt + SEND_AT_UNCERTAINTY_MS > prevAt && checkedAt - plannedAt > 2 * learners.phase.periodMs
        ? [Math.max(prevAt, plannedAt - SEND_AT_UNCERTAINTY_MS), Math.min(checkedAt, plannedAt + SEND_AT_UNCERTAINTY_MS)]
        : seen)
      // A planned send seen done: upstream refreshed between the send (or the last
      // check, if later) and now.
      if (plannedAt !== undefined && prevAt > 0) learners.phase.tickIn(Math.max(prevAt, plannedAt - SEND_AT_UNCERTAINTY_MS), checkedAt)
    } else if (o.state !== 2 && plannedAt !== undefined && plannedAt + SEND_AT_UNCERTAINTY_MS < checkedAt && was?.state !== 2) {
      // Planned, past, not done yet: no refresh since the send (which may be up to
      // a second after the planned time, known only to the second).
      learners.phase.noTickIn(Math.max(plannedAt + SEND_AT_UNCERTAINTY_MS, prevAt), checkedAt)
    }
    const sent = p.sentSeen.get(o.index)
    if (o.state === 2 && o.confirm === 1 && was !== undefined && was.state === 2 && was.confirm !== 1 && sent !== undefined && sent !== seen) {
      learners.lags.record('output', sent, seen, maxWidth)
    }
  }
  p.last = order
  p.lastCheckAt = checkedAt
}

/** When `order` was funded (its outputs' countdowns started), epoch ms, if its outputs tell. */
function fundedAtOf (order: TrackedOrder): number | undefined {
  let at: number | undefined
  for (const o of order.outputs) {
    const delay = (o as { delay_seconds?: unknown }).delay_seconds
    if (typeof o.send_at !== 'number' || typeof delay !== 'number') continue
    const t = (o.send_at - delay) * 1000
    at = at === undefined ? t : Math.min(at, t)
  }
  return at
}
