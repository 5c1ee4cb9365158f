/**
 * From an upstream `/orders/check` answer to a {@link TrackedOrder} snapshot, and the
 * rules that decide whether a new check is a *real* change. Pure functions only.
 *
 * - The countdowns upstream sends (`deposit.delete_in_sec`, each output's
 *   `left_seconds`) tick on every check. They are turned into absolute epoch-second
 *   times (`deposit.delete_at`, `outputs[].send_at`) measured from the moment the
 *   check was sent, and a new value within a tolerance of the previous one keeps the
 *   previous one: the deadline behind the countdown is fixed upstream, only the
 *   rounding and the network latency move it. So a countdown tick is no change.
 * - Every other field is kept as upstream sent it (unknown ones included), except the
 *   envelope's `ok`.
 * - The derived `status` never moves backwards.
 */
import { parseFixed } from '../lib/decimal.js'
import { ORDER_STATUSES, TRACKED_ORDER_TYPES, type OrderStatus, type TrackedDeposit, type TrackedOrder, type TrackedOutput } from './schemas.js'

/** The snapshot's types, derived from its schema in `schemas.ts` (the one definition). */

/** True for the statuses after which nothing changes any more (tracking stops). */
export function isFinalStatus (status: OrderStatus): boolean {
  return status === 'Done' || status === 'Gone'
}

/**
 * What {@link deriveStatus} reads of a deposit: upstream's, before anything but
 * `confirm_status` was checked, so `funding` may be partial or missing.
 */
export interface DepositProgress {
  /** 0 nothing seen, 1 pending, 2 confirmed and funded. */
  confirm_status: number
  funding?: Partial<TrackedDeposit['funding']>
  [field: string]: unknown
}

/** What {@link deriveStatus} reads of an output. */
export interface OutputProgress {
  /** 0 waiting, 1 processing, 2 sent. */
  state: number
  /** At state 2: 0 broadcast, 1 confirmed. */
  confirm: number
  [field: string]: unknown
}

/** Thrown when a 200 check answer does not have the shape of one. */
export class CheckShapeError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'CheckShapeError'
  }
}

/** Drift tolerated on derived times before they count as a change, seconds. */
export const TIME_TOLERANCE_S = 2

/** How a check was made: when it was sent and how long it took. */
export interface CheckTiming {
  /** Epoch ms when the check was sent (upstream computed its countdowns after this). */
  sentAt: number
  /** Round-trip time of the check, ms. */
  latencyMs: number
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** True for the order kinds a snapshot may name (`mixer`, `exchange`, `unknown`). */
function isOrderType (v: unknown): v is TrackedOrder['type'] {
  return (TRACKED_ORDER_TYPES as readonly unknown[]).includes(v)
}

/** Rank of a status in the lifecycle. */
export function statusRank (status: OrderStatus): number {
  return ORDER_STATUSES.indexOf(status)
}

/**
 * The lifecycle status upstream's deposit and outputs describe:
 * nothing received → `WaitingForPayment`; a payment seen but not confirmed or not
 * enough → `Confirming`; funded and confirmed → `WaitingForDelivery` until every output
 * is sent (`state` 2) and confirmed (`confirm` 1) → `Done`.
 */
export function deriveStatus (deposit: DepositProgress, outputs: readonly OutputProgress[]): Exclude<OrderStatus, 'Gone'> {
  const funding = deposit.funding
  const started = typeof funding?.can_start === 'boolean'
    ? funding.can_start
    : deposit.confirm_status === 2 && funding?.is_fully_funded !== false
  if (started) {
    const delivered = outputs.length > 0 && outputs.every((o) => o.state === 2 && o.confirm === 1)
    return delivered ? 'Done' : 'WaitingForDelivery'
  }
  const received = funding?.received_balance
  const somethingReceived = typeof received === 'string' || typeof received === 'number'
    ? (parseFixed(received) ?? 0n) > 0n
    : false
  return deposit.confirm_status > 0 || somethingReceived ? 'Confirming' : 'WaitingForPayment'
}

/**
 * An absolute time from a countdown, stabilized against the previous value: within
 * `tolerance` seconds, or a countdown stuck at 0 (upstream clamps it once the moment
 * passed, until its next refresh), keeps `previous`.
 */
function stableTime (previous: number | null | undefined, baseS: number, countdown: number, tolerance: number): number {
  const value = baseS + countdown
  if (typeof previous !== 'number') return value
  if (Math.abs(value - previous) <= tolerance) return previous
  if (countdown === 0 && value >= previous) return previous
  return value
}

function countdownOf (v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined
}

/** A copy of `raw` with the field `from` replaced, at the same position, by `to` = `value`. */
function replaceField (raw: Record<string, unknown>, from: string, to: string, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(raw)) {
    if (key === from) out[to] = value
    else if (key !== to) out[key] = v
  }
  if (!Object.hasOwn(out, to)) out[to] = value
  return out
}

function normalizeDeposit (raw: Record<string, unknown>, previous: TrackedDeposit | undefined, baseS: number, tolerance: number): TrackedDeposit {
  if (typeof raw.confirm_status !== 'number') throw new CheckShapeError('deposit.confirm_status is not a number')
  const countdown = countdownOf(raw.delete_in_sec)
  const deleteAt = countdown === undefined ? (previous?.delete_at ?? null) : stableTime(previous?.delete_at, baseS, countdown, tolerance)
  return replaceField(raw, 'delete_in_sec', 'delete_at', deleteAt) as TrackedDeposit
}

function normalizeOutputs (raw: unknown, previous: readonly TrackedOutput[] | undefined, running: boolean, baseS: number, tolerance: number): TrackedOutput[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) throw new CheckShapeError('outputs is not an array (the check must ask for outputs:"full")')
  return raw.map((item: unknown, position): TrackedOutput => {
    if (!isObject(item)) throw new CheckShapeError(`outputs[${position}] is not an object`)
    if (typeof item.state !== 'number') throw new CheckShapeError(`outputs[${position}].state is not a number`)
    const index = typeof item.index === 'number' ? item.index : position + 1
    const before = previous?.find((o) => o.index === index) ?? previous?.[position]
    const countdown = countdownOf(item.left_seconds)
    let sendAt: number | null = null
    if (running && countdown !== undefined) sendAt = stableTime(before?.send_at, baseS, countdown, tolerance)
    else if (running) sendAt = before?.send_at ?? null
    const out = replaceField(item, 'left_seconds', 'send_at', sendAt)
    out.index = index
    if (typeof out.confirm !== 'number') out.confirm = 0
    return out as TrackedOutput
  })
}

/**
 * Builds the snapshot a successful check describes, on top of `previous` (the last
 * snapshot of this trackcode, if any). The result carries `previous`'s version and
 * `updated_at`: whether it is a new version is {@link sameContent}'s call.
 * Throws {@link CheckShapeError} when `body` is not a check answer.
 */
export function snapshotFromCheck (body: Record<string, unknown>, previous: TrackedOrder | undefined, timing: CheckTiming, nowMs: number): TrackedOrder {
  const { ok: _ok, trackcode, type, deposit, status_reason: statusReason, outputs, ...extra } = body
  if (typeof trackcode !== 'string') throw new CheckShapeError('trackcode is missing')
  if (!isObject(deposit)) throw new CheckShapeError('deposit is missing')
  const baseS = Math.floor(timing.sentAt / 1000)
  const tolerance = TIME_TOLERANCE_S + Math.ceil(Math.max(0, timing.latencyMs) / 1000)
  const dep = normalizeDeposit(deposit, previous?.deposit, baseS, tolerance)
  const funding = dep.funding
  const running = typeof funding?.can_start === 'boolean' ? funding.can_start : dep.confirm_status === 2
  const outs = normalizeOutputs(outputs, previous?.outputs, running, baseS, tolerance)
  let status: OrderStatus = deriveStatus(dep, outs)
  if (previous !== undefined && statusRank(previous.status) > statusRank(status)) status = previous.status
  const snapshot: TrackedOrder = {
    trackcode,
    type: isOrderType(type) ? type : (previous?.type ?? 'unknown'),
    status,
    version: previous?.version ?? 0,
    updated_at: previous?.updated_at ?? Math.floor(nowMs / 1000),
    deposit: dep,
    status_reason: typeof statusReason === 'string' ? statusReason : null,
    outputs: outs
  }
  // Fields upstream may add later are kept, but never over the ones derived here.
  const open: Record<string, unknown> = snapshot
  for (const [key, value] of Object.entries(extra)) if (!Object.hasOwn(open, key)) open[key] = value
  return snapshot
}

/** The final snapshot of an order upstream no longer knows. */
export function goneSnapshot (previous: TrackedOrder, nowMs: number): TrackedOrder {
  return { ...previous, status: 'Gone', version: previous.version + 1, updated_at: Math.floor(nowMs / 1000) }
}

/** Deep equality of JSON values. */
export function jsonEqual (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ka = Object.keys(a)
  const ob = b as Record<string, unknown>
  if (ka.length !== Object.keys(ob).length) return false
  const oa = a as Record<string, unknown>
  for (const k of ka) if (!Object.hasOwn(ob, k) || !jsonEqual(oa[k], ob[k])) return false
  return true
}

/** True when two snapshots say the same thing (`version` and `updated_at` aside). */
export function sameContent (a: TrackedOrder, b: TrackedOrder): boolean {
  const { version: _va, updated_at: _ua, ...restA } = a
  const { version: _vb, updated_at: _ub, ...restB } = b
  return jsonEqual(restA, restB)
}
