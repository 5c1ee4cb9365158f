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
  /** How late its check may be (thinning), ms; 0: just after it. */
  lateMs: number
}

/** How far appointments are thinned (see the module comment); 0: not at all. */
export type Thinning = 0 | 1 | 2

/** The most thinning there is. */
export const MAX_THINNING: Thinning = 2

/** Settings of the appointment rules. */
export interface AppointmentSettings {
  /** A predicted change missing this long after its time goes to the watch, ms. */
  overdueAfterMs: number
  /** Added after the refresh tick before checking, ms (upstream's own latency). */
  slackMs: number
  /** From thinning level 1, how late the end of retention may be seen, ms. */
  retentionLateMs: number
}

/**
 * Every change of `order` that can be predicted now (overdue ones included), earliest
 * first, not thinned. An output not sent yet also has its confirmation projected at its
 * send + the learned lag (so that what is reserved counts it).
 */
export function predictedChanges (order: TrackedOrder, p: OrderProgress, lags: ConfirmationLags, periodMs: number): PredictedChange[] {
  const out: PredictedChange[] = []
  if (order.status === 'Done' || order.status === 'Gone') return out
  const outputLag = lags.appointmentLag('output', 2 * periodMs)
  let lastDone = -Infinity
  for (const o of order.outputs) {
    if (o.state !== 2 && typeof o.send_at === 'number') {
      const at = o.send_at * 1000
      // Thinned: the send is seen by the check for its confirmation.
      out.push({ kind: 'send', at, output: o.index, lateMs: 0 })
      if (outputLag !== undefined) out.push({ kind: 'output-confirmation', at: at + outputLag, output: o.index, lateMs: 0 })
      lastDone = Math.max(lastDone, at + (outputLag ?? Infinity))
    }
    if (o.state === 2 && o.confirm !== 1) {
      const sent = p.sentSeen.get(o.index)
      if (outputLag !== undefined && sent !== undefined) out.push({ kind: 'output-confirmation', at: sent[1] + outputLag, output: o.index, lateMs: 0 })
      lastDone = Math.max(lastDone, sent !== undefined && outputLag !== undefined ? sent[1] + outputLag : Infinity)
    }
  }
  if (order.status === 'Confirming' && p.paymentSeen !== null && isFullyReceived(order)) {
    const lag = lags.appointmentLag('deposit', 2 * periodMs)
    if (lag !== undefined) out.push({ kind: 'deposit-confirmation', at: p.paymentSeen[1] + lag, lateMs: 0 })
  }
  const deleteAt = order.deposit.delete_at
  // A funded order whose every output is planned ends (Done) before its retention does:
  // no check for the retention.
  const endsFirst = order.status === 'WaitingForDelivery' && order.outputs.length > 0 && lastDone < Infinity
  if (typeof deleteAt === 'number' && !(endsFirst && lastDone + 4 * periodMs < deleteAt * 1000)) {
    out.push({ kind: 'retention', at: deleteAt * 1000, lateMs: 0 })
  }
  return out.sort((a, b) => a.at - b.at)
}

/**
 * `changes` thinned to `level` (see the module comment): a send merged with its
 * output's projected confirmation may be seen that much late; the end of retention
 * `retentionLateMs` late.
 */
export function thin (changes: readonly PredictedChange[], level: Thinning, s: Pick<AppointmentSettings, 'retentionLateMs'>): PredictedChange[] {
  if (level === 0) return [...changes]
  return changes.map((c) => {
    if (c.kind === 'retention') return { ...c, lateMs: s.retentionLateMs }
    if (c.kind === 'send' && level >= 2) {
      const confirmation = changes.find((d) => d.kind === 'output-confirmation' && d.output === c.output)
      if (confirmation !== undefined && confirmation.at > c.at) return { ...c, lateMs: confirmation.at - c.at }
    }
    return c
  })
}

/** True when the whole deposit was received (a top-up is not expected, only a confirmation). */
export function isFullyReceived (order: TrackedOrder): boolean {
  const f = order.deposit.funding
  if (f === undefined) return false
  if (f.is_fully_funded === true) return true
  const need = Number(f.remaining_need)
  return Number.isFinite(need) && need <= 0
}

/** A change not overdue at `now` (thinned changes are due at their time + `lateMs`). */
export function isPending (c: PredictedChange, now: number, s: Pick<AppointmentSettings, 'overdueAfterMs'>): boolean {
  return now <= c.at + c.lateMs + s.overdueAfterMs
}

/** What the next check of an order is for. */
export interface Appointment {
  at: number
  /** The change whose deadline sets it. */
  change: PredictedChange
  /** Every pending change it sees (those due by then). */
  covers: PredictedChange[]
}

/**
 * When to check for the pending changes of `changes`, given the last check at
 * `lastCheckAt`: the phase's probe after the earliest deadline (a change's time plus
 * its `lateMs`; a later feasible tick once a look found nothing), plus the slack — it
 * sees every change due by then. `null` when none is pending.
 */
export function appointmentFor (changes: readonly PredictedChange[], lastCheckAt: number, now: number, phase: RefreshPhase, s: AppointmentSettings): Appointment | null {
  let first: PredictedChange | null = null
  for (const c of changes) {
    if (!isPending(c, now, s)) continue
    if (first === null || c.at + c.lateMs < first.at + first.lateMs) first = c
  }
  if (first === null) return null
  const deadline = first.at + first.lateMs
  // Ticks after the deadline that a later look could still find it at.
  const probe = lastCheckAt > deadline ? phase.probeAfter(lastCheckAt) : phase.probeAfter(deadline)
  const covers = changes.filter((c) => isPending(c, now, s) && c.at <= deadline)
  return { at: Math.ceil(probe + s.slackMs), change: first, covers }
}

/**
 * The checks the pending changes of `changes` need from `now` until `horizon`, one per
 * group of changes a check at the earliest deadline sees: their times (what is reserved).
 */
export function checksNeeded (changes: readonly PredictedChange[], now: number, horizon: number, s: Pick<AppointmentSettings, 'overdueAfterMs'>): number[] {
  const pending = changes.filter((c) => isPending(c, now, s) && c.at < horizon).sort((a, b) => (a.at + a.lateMs) - (b.at + b.lateMs))
  const out: number[] = []
  let seenUntil = -Infinity
  for (const c of pending) {
    if (c.at <= seenUntil) continue
    seenUntil = c.at + c.lateMs
    out.push(Math.max(now, seenUntil))
  }
  return out
}
