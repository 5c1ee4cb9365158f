/**
 * Orders and their lifecycle.
 *
 * An order stores only facts (what was created, which payments arrived when); every
 * status is derived from those facts and a point in simulated time by {@link deriveStatus}.
 * No timers run, so any clock (manual, accelerated, real) drives the lifecycle:
 *
 * 1. created: `confirm_status` 0, outputs state 0.
 * 2. a payment is seen: `confirm_status` 1 until `confirmMs` after the latest payment.
 * 3. all payments confirmed: `confirm_status` 2. If the received total does not cover the
 *    deposit amount the order stays there with `is_fully_funded: false` and
 *    `status_reason: "INSUFFICIENT_FUNDS"` (the upstream's second check example) until
 *    topped up; a top-up goes back to 1 until it confirms.
 * 4. funded and confirmed (`startedAt` = the funding payment's time + `confirmMs`):
 *    `can_start`, each output's send time is fixed once at `startedAt + delay` and
 *    outputs are state 1 with a countdown.
 * 5. at its send time an output is state 2, `confirm` 0, with a tx hash;
 *    `outputConfirmMs` later `confirm` becomes 1.
 *
 * Orders vanish `retentionMs` after creation (or when deleted or expired by hand).
 * Payments after `expiresAt` are refused by the control API; an order that was never
 * funded simply stays at its last state until its retention ends.
 */
import { randomBytes } from 'node:crypto'
import type { Fixed } from '../lib/decimal.js'
import type { OrderType } from './rules.js'

/** Lifecycle durations, in simulated milliseconds. */
export interface SimTiming {
  /** Payment seen → deposit confirmed. Default 2 min. */
  confirmMs: number
  /** Output broadcast → first confirmation. Default 1 min. */
  outputConfirmMs: number
  /** Validity of the deposit address (`expires_at`). Default 48 h, as in the upstream examples. */
  depositExpiryMs: number
  /** How long an order exists after creation (`delete_in_sec`). Default 48 h. */
  retentionMs: number
}

/** Default lifecycle durations. */
export const DEFAULT_TIMING: Readonly<SimTiming> = Object.freeze({
  confirmMs: 2 * 60_000,
  outputConfirmMs: 60_000,
  depositExpiryMs: 48 * 3_600_000,
  retentionMs: 48 * 3_600_000
})

/** One planned payout. */
export interface OrderOutput {
  /** 1-based position. */
  index: number
  address: string
  destinationTag: string | null
  /** Lower-case ticker of the paid coin. */
  coin: string
  network: string
  /** Share in percent, 2 decimals significant. */
  sharePercent: Fixed
  delayMinutes: number
  amount: Fixed
  /** Hash revealed once the output is sent. */
  tx: string
}

/** A deposit seen on chain. */
export interface Payment {
  amount: Fixed
  /** Simulated epoch ms. */
  at: number
}

/** A stored order. */
export interface Order {
  trackcode: string
  type: OrderType
  /** Lower-case ticker of the deposit coin. */
  coin: string
  network: string
  depositAddress: string
  depositAmount: Fixed
  /** Effective service fee, percent. */
  serviceFee: Fixed
  partner: string | undefined
  createdAt: number
  expiresAt: number
  outputs: OrderOutput[]
  payments: Payment[]
}

/** Derived status of one output. */
export interface OutputStatus {
  /** 0 waiting, 1 processing, 2 sent. */
  state: 0 | 1 | 2
  /** 1 once the sent transaction has a confirmation. */
  confirm: 0 | 1
  /** Transaction hash, "" until sent. */
  tx: string
  /** Fixed send time (epoch ms) once the order started, else `null`. */
  sendAt: number | null
}

/** Derived status of an order at one instant. */
export interface OrderStatus {
  confirmStatus: 0 | 1 | 2
  received: Fixed
  remaining: Fixed
  fullyFunded: boolean
  canStart: boolean
  /** When the order started (funded and confirmed), else `null`. */
  startedAt: number | null
  outputs: OutputStatus[]
}

/** Derives the status of `order` at simulated time `t` from its payments. */
export function deriveStatus (order: Order, t: number, timing: SimTiming): OrderStatus {
  const seen = order.payments.filter((p) => p.at <= t)
  let received = 0n
  let startedAt: number | null = null
  for (const p of seen) {
    received += p.amount
    if (startedAt === null && received >= order.depositAmount) startedAt = p.at + timing.confirmMs
  }
  if (startedAt !== null && startedAt > t) startedAt = null
  const fullyFunded = received >= order.depositAmount
  const last = seen.at(-1)
  let confirmStatus: 0 | 1 | 2
  if (startedAt !== null) confirmStatus = 2
  else if (last === undefined) confirmStatus = 0
  else confirmStatus = last.at + timing.confirmMs <= t ? 2 : 1
  const outputs = order.outputs.map((o): OutputStatus => {
    if (startedAt === null) return { state: 0, confirm: 0, tx: '', sendAt: null }
    const sendAt = startedAt + o.delayMinutes * 60_000
    if (t < sendAt) return { state: 1, confirm: 0, tx: '', sendAt }
    return { state: 2, confirm: t >= sendAt + timing.outputConfirmMs ? 1 : 0, tx: o.tx, sendAt }
  })
  return {
    confirmStatus,
    received,
    remaining: fullyFunded ? 0n : order.depositAmount - received,
    fullyFunded,
    canStart: startedAt !== null,
    startedAt,
    outputs
  }
}

/** A random 64-hex transaction hash. */
export function txHash (): string {
  return randomBytes(32).toString('hex')
}

/** In-memory order store that forgets orders at the end of their retention. */
export class OrderStore {
  readonly #orders = new Map<string, Order>()
  readonly #retentionMs: number

  constructor (retentionMs: number) {
    this.#retentionMs = retentionMs
  }

  /** A fresh, unused 16-character upper-case hex trackcode. */
  newTrackcode (): string {
    for (;;) {
      const code = randomBytes(8).toString('hex').toUpperCase()
      if (!this.#orders.has(code)) return code
    }
  }

  add (order: Order): void {
    this.#orders.set(order.trackcode, order)
  }

  /** The live order with this trackcode at `now`, optionally of a given type. */
  get (trackcode: string, now: number, type?: OrderType): Order | undefined {
    const order = this.#orders.get(trackcode)
    if (order === undefined) return undefined
    if (now >= order.createdAt + this.#retentionMs) {
      this.#orders.delete(trackcode)
      return undefined
    }
    return type === undefined || order.type === type ? order : undefined
  }

  /** Removes an order; false when there was none. */
  delete (trackcode: string): boolean {
    return this.#orders.delete(trackcode)
  }

  /** Every live order at `now`, oldest first. */
  list (now: number): Order[] {
    const out: Order[] = []
    for (const code of [...this.#orders.keys()]) {
      const order = this.get(code, now)
      if (order !== undefined) out.push(order)
    }
    return out
  }

  /** Seconds of retention left at `now` (the `delete_in_sec` field). */
  deleteInSec (order: Order, now: number): number {
    return Math.max(0, Math.floor((order.createdAt + this.#retentionMs - now) / 1000))
  }
}
