/**
 * Appointments: the changes of an order that can be predicted, each given one check
 * just after the upstream refresh that follows it.
 *
 * - a planned send (`send_at` of an output not yet sent), known once the deposit is
 *   funded;
 * - the end of retention (`delete_at`), when the order turns `Gone`;
 * - a confirmation (deposit or output) whose lag the allocator has learned to be tight
 *   (see `lags.ts`).
 *
 * The check is placed by the refresh phase (`refresh-phase.ts`): while the phase is
 * uncertain, the first look is at the median feasible tick and, if the change is not
 * there yet, the next look at the median of what is left (each miss halves the
 * uncertainty). A change still missing `overdueAfterMs` after its time is no longer
 * predicted: it is handed to the watch (upstream is late; `watch.ts`).
 */
import type { TrackedOrder } from '../schemas.js'
import type { ConfirmationLags } from './lags.js'
import type { OrderProgress } from './progress.js'
import type { RefreshPhase } from './refresh-phase.js'

/** The kinds of change the allocator tells apart (appointments and watch alike). */
export type ChangeKind = 'payment' | 'deposit-confirmation' | 'send' | 'output-confirmation' | 'retention'

/** A predicted change. */
export interface PredictedChange {
  kind: ChangeKind
  /** When it happens upstream, epoch ms. */
  at: number
  /** The output concerned, if any. */
  output?: number
}

/** Settings of the appointment rules. */
export interface AppointmentSettings {
  /** A predicted change missing this long after its time goes to the watch, ms. */
  overdueAfterMs: number
  /** Added after the refresh tick before checking, ms (upstream's own latency). */
  slackMs: number
}

/** Every change of `order` that can be predicted now (overdue ones included), earliest first. */
export function predictedChanges (order: TrackedOrder, p: OrderProgress, lags: ConfirmationLags, periodMs: number): PredictedChange[] {
  const out: PredictedChange[] = []
  if (order.status === 'Done' || order.status === 'Gone') return out
  for (const o of order.outputs) {
    if (o.state !== 2 && typeof o.send_at === 'number') out.push({ kind: 'send', at: o.send_at * 1000, output: o.index })
    if (o.state === 2 && o.confirm !== 1) {
      const lag = lags.appointmentLag('output', 2 * periodMs)
      const sent = p.sentSeen.get(o.index)
      if (lag !== undefined && sent !== undefined) out.push({ kind: 'output-confirmation', at: sent[1] + lag, output: o.index })
    }
  }
  if (order.status === 'Confirming' && p.paymentSeen !== null && isFullyReceived(order)) {
    const lag = lags.appointmentLag('deposit', 2 * periodMs)
    if (lag !== undefined) out.push({ kind: 'deposit-confirmation', at: p.paymentSeen[1] + lag })
  }
  const deleteAt = order.deposit.delete_at
  if (typeof deleteAt === 'number') out.push({ kind: 'retention', at: deleteAt * 1000 })
  return out.sort((a, b) => a.at - b.at)
}

/** True when the whole deposit was received (a top-up is not expected, only a confirmation). */
export function isFullyReceived (order: TrackedOrder): boolean {
  const f = order.deposit.funding
  if (f === undefined) return false
  if (f.is_fully_funded === true) return true
  const need = Number(f.remaining_need)
  return Number.isFinite(need) && need <= 0
}

/** A change not overdue at `now`. */
export function isPending (c: PredictedChange, now: number, s: AppointmentSettings): boolean {
  return now <= c.at + s.overdueAfterMs
}

/**
 * When to check for the earliest pending change of `changes`, given the last check at
 * `lastCheckAt`: the phase's probe after the change (a later feasible tick once a look
 * found nothing), plus the slack; `null` when none is pending.
 */
export function appointmentFor (changes: readonly PredictedChange[], lastCheckAt: number, now: number, phase: RefreshPhase, s: AppointmentSettings): { at: number, change: PredictedChange } | null {
  for (const c of changes) {
    if (!isPending(c, now, s)) continue
    // Ticks after the change that a later look could still find it at.
    const from = Math.max(c.at, lastCheckAt)
    const probe = lastCheckAt > c.at ? phase.probeAfter(from) : phase.probeAfter(c.at)
    return { at: Math.ceil(probe + s.slackMs), change: c }
  }
  return null
}
