/**
 * Thinning of the allocator's appointments when they would take more than the budget
 * gives them (`src/tracking/allocator/appointments.ts`, `budget.ts`): the end of
 * retention is thinned before any send; when tight, a send and its output's
 * confirmation are seen by one check; the watch keeps a floor of the budget. Pure
 * functions and virtual instants: nothing here reads the machine's clock.
 */
import t from 'tap'
import { appointmentFor, checksNeeded, predictedChanges, thin, type PredictedChange } from '../../src/tracking/allocator/appointments.js'
import { Budget, peakOf } from '../../src/tracking/allocator/budget.js'
import { ConfirmationLags } from '../../src/tracking/allocator/lags.js'
import { newProgress } from '../../src/tracking/allocator/progress.js'
import { RefreshPhase } from '../../src/tracking/allocator/refresh-phase.js'
import type { TrackedOrder } from '../../src/tracking/schemas.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const T0 = Date.UTC(2025, 7, 20, 16, 0, 0)
const SETTINGS = { overdueAfterMs: 5 * MINUTE, slackMs: 1000, retentionLateMs: 2 * HOUR }

/** Output lags learned at 10 min (three tight observations). */
function learnedLags (): ConfirmationLags {
  const lags = new ConfirmationLags()
  for (let i = 0; i < 3; i++) {
    const sent = T0 - 10 * HOUR + i * HOUR
    lags.record('output', [sent, sent + 1000], [sent + 10 * MINUTE - 1000, sent + 10 * MINUTE + 1000], 2 * MINUTE)
  }
  return lags
}

/** A funded order: two outputs planned at +30 min and +90 min, retention at +3 h. */
function fundedOrder (): TrackedOrder {
  return {
    trackcode: 'A1B2C3D4E5F6A7B8',
    status: 'WaitingForDelivery',
    version: 3,
    deposit: { confirm_status: 2, delete_at: (T0 + 3 * HOUR) / 1000, funding: { is_fully_funded: true, can_start: true } },
    outputs: [
      { index: 1, state: 1, confirm: 0, send_at: (T0 + 30 * MINUTE) / 1000, delay_seconds: 1800 },
      { index: 2, state: 1, confirm: 0, send_at: (T0 + 90 * MINUTE) / 1000, delay_seconds: 5400 }
    ]
  } as unknown as TrackedOrder
}

const kinds = (cs: readonly PredictedChange[]): string[] => cs.map((c) => `${c.kind}${c.output ?? ''}`)

t.test('the end of retention is thinned before any send', async (t) => {
  const lags = learnedLags()
  // Outputs that only end after the retention: the retention check is kept.
  const order = fundedOrder()
  ;(order.outputs[1] as { send_at: number }).send_at = (T0 + 5 * HOUR) / 1000
  const changes = predictedChanges(order, newProgress(T0 - HOUR, order, T0), lags, MINUTE)
  t.same(kinds(changes), ['send1', 'output-confirmation1', 'retention', 'send2', 'output-confirmation2'])
  const one = thin(changes, 1, SETTINGS)
  t.same(one.filter((c) => c.lateMs > 0).map((c) => c.kind), ['retention'], 'level 1 thins the end of retention only')
  t.equal(one.find((c) => c.kind === 'retention')?.lateMs, 2 * HOUR)
  t.ok(one.filter((c) => c.kind === 'send').every((c) => c.lateMs === 0), 'sends keep their own checks at level 1')
  const two = thin(changes, 2, SETTINGS)
  t.ok(two.filter((c) => c.kind === 'send').every((c) => c.lateMs > 0), 'level 2 thins the sends too')
  // Retention merged with the second send (due within its 2 h): one check less.
  const horizon = T0 + 24 * HOUR
  t.equal(checksNeeded(changes, T0, horizon, SETTINGS).length, 5, 'unthinned: a check per change')
  t.equal(checksNeeded(one, T0, horizon, SETTINGS).length, 4, 'level 1: the retention shares a later check')
  // Level 2: send 1 with its confirmation, the retention with send 2 (due by its
  // deadline), then send 2's confirmation.
  t.equal(checksNeeded(two, T0, horizon, SETTINGS).length, 3, 'level 2: each send shares its confirmation\'s check')
})

t.test('an order that ends before its retention reserves no check for it', async (t) => {
  const order = fundedOrder()
  const changes = predictedChanges(order, newProgress(T0 - HOUR, order, T0), learnedLags(), MINUTE)
  t.notOk(changes.some((c) => c.kind === 'retention'), 'both outputs confirmed long before the retention ends')
})

t.test('when tight, a send and its confirmation are seen by one check', async (t) => {
  const order = fundedOrder()
  const changes = predictedChanges(order, newProgress(T0 - HOUR, order, T0), learnedLags(), MINUTE)
  const phase = new RefreshPhase({ periodMs: MINUTE })
  // Learn the phase: ticks at :17.3 past each minute.
  for (let k = 0; k < 30; k++) {
    const tick = T0 - 2 * HOUR + k * MINUTE + 17_300
    phase.tickIn(tick - 500, tick + 500)
  }
  const loose = appointmentFor(changes, T0, T0, phase, SETTINGS)
  t.equal(loose?.change.kind, 'send', 'unthinned: the send first')
  t.same(loose?.covers.map((c) => c.kind), ['send'])
  const sendAt = T0 + 30 * MINUTE
  t.ok((loose?.at ?? 0) > sendAt && (loose?.at ?? 0) < sendAt + MINUTE + 2000, 'just after the refresh that follows the send')

  const tight = appointmentFor(thin(changes, 2, SETTINGS), T0, T0, phase, SETTINGS)
  t.same(tight?.covers.map((c) => `${c.kind}${c.output ?? ''}`), ['send1', 'output-confirmation1'], 'one check for the send and its confirmation')
  const confirmedAt = (changes.find((c) => c.kind === 'output-confirmation' && c.output === 1) as PredictedChange).at
  t.ok((tight?.at ?? 0) > confirmedAt && (tight?.at ?? 0) < confirmedAt + MINUTE + 2000, 'just after the refresh that follows the confirmation')
})

t.test('the budget: first looks keep their reserve, the watch its floor, and the peak counts each check once', async (t) => {
  const budget = new Budget({ paceFraction: 1, taperBelow: 0.15, arrivalShare: 0, creditCapMs: 10 * MINUTE, firstLookMargin: 1.25, firstLookMinimum: 5, watchFloorShare: 0.25 })
  const state = { limit: 100, used: 0, windowMs: 24 * HOUR, pausedUntil: 0 }
  t.equal(budget.firstLookReserve(100, 20), 30, '20 arrivals: 25 + 5 reserved')
  t.equal(budget.appointmentRoom(state, 20, 0), 52.5, 'appointments may have 75 % of what the first looks leave')
  // Appointments needing more than what is left (90 over a day, 30 planned so far):
  // the watch still gets its floor.
  const planned = Array.from({ length: 30 }, (_, i) => T0 + i * 10 * MINUTE)
  const v = budget.view(state, 0, 20, { checks: [], reserved: planned }, 90, 0, T0)
  t.equal(v.ownLimit, 70)
  t.ok(Math.abs(v.watchRate * 24 * HOUR - 70 * 0.25) < 1e-9, 'the watch keeps a quarter of the allocator\'s share')
  t.ok(budget.canWatch(v, T0), 'and spends it while the coming windows have room')
  const full = Array.from({ length: 90 }, (_, i) => T0 + i * 10 * MINUTE)
  t.notOk(budget.canWatch(budget.view(state, 0, 20, { checks: [], reserved: full }, 90, 0, T0), T0), 'nothing while they are full')
  // A day of 50 checks made evenly, and 50 reserved evenly over the next: the peak is 50, not 100.
  const checks = Array.from({ length: 50 }, (_, i) => T0 - 24 * HOUR + (i + 0.5) * 24 * HOUR / 50)
  const ahead = Array.from({ length: 50 }, (_, i) => T0 + (i + 0.5) * 24 * HOUR / 50)
  const peak = peakOf({ checks, unknown: 0, reserved: ahead, soft: 0 }, T0, 24 * HOUR)
  t.ok(peak >= 50 && peak <= 52, `the peak of the coming windows (${peak})`)
})

t.test('the budget: the watch runs ahead of its sustainable pace only while the recent pace, kept up for a window, leaves room', async (t) => {
  const budget = new Budget({ paceFraction: 0.5, taperBelow: 0.02, arrivalShare: 0, creditCapMs: 10 * MINUTE, firstLookMargin: 1, firstLookMinimum: 0, watchFloorShare: 0.7 })
  const state = (used: number): { limit: number, used: number, windowMs: number, pausedUntil: number } => ({ limit: 240, used, windowMs: 24 * HOUR, pausedUntil: 0 })
  const sustainable = 240 / (24 * HOUR)
  // 10 checks spread over the last 3 h: 80 a window at that pace, a third of the share.
  const slow = Array.from({ length: 10 }, (_, i) => T0 - 3 * HOUR + (i + 0.5) * 3 * HOUR / 10)
  const ahead = budget.view(state(10), 0, 0, { checks: slow, reserved: [] }, 0, 0, T0)
  t.ok(Math.abs(ahead.watchRate - 2 * sustainable) < 1e-12, 'a slow recent pace: twice the sustainable rate')
  // 30 checks over the last 3 h: 240 a window at that pace, the whole share, though the window holds only 30.
  const burst = Array.from({ length: 30 }, (_, i) => T0 - 3 * HOUR + (i + 0.5) * 3 * HOUR / 30)
  const paced = budget.view(state(30), 0, 0, { checks: burst, reserved: [] }, 0, 0, T0)
  t.ok(paced.free > 0.5 * paced.ownLimit, 'most of the coming windows are free')
  t.ok(Math.abs(paced.watchRate - sustainable) < 1e-12, 'a burst: the sustainable rate, not ahead of it')
  // The taper sets in only at the last 2 % of the share.
  const high = Array.from({ length: 230 }, (_, i) => T0 - 24 * HOUR + (i + 0.5) * 24 * HOUR / 230)
  const nearlyFull = budget.view(state(230), 0, 0, { checks: high, reserved: [] }, 0, 0, T0)
  t.equal(nearlyFull.free, 10)
  t.ok(Math.abs(nearlyFull.watchRate - sustainable) < 1e-12, 'with 4 % of the share free, no taper yet')
})
