/**
 * The control side of the simulator: drive orders (pay, expire), read counters and
 * inject faults. Available in-process as {@link SimulatorControl} and over HTTP under
 * `/_sim/…` (no API key; hidden from schema docs; never counted in the stats):
 *
 * | method + path                       | body                                 | does                          |
 * |-------------------------------------|--------------------------------------|-------------------------------|
 * | `GET /_sim/orders`                  |                                      | `{ok, orders}` (live views)   |
 * | `GET /_sim/orders/:trackcode`       |                                      | `{ok, order}` or 404          |
 * | `POST /_sim/orders/:trackcode/pay`  | `{amount?}` (string or number)       | records a deposit → `{ok, order}` |
 * | `POST /_sim/orders/:trackcode/expire` |                                    | ends the retention → `{ok, trackcode, expired}` |
 * | `GET /_sim/stats`                   |                                      | {@link SimStats}              |
 * | `POST /_sim/stats/reset`            |                                      | zeroes the call counters      |
 * | `GET /_sim/faults`                  |                                      | `{ok, faults}` pending faults |
 * | `POST /_sim/faults`                 | {@link FaultSpec}                    | queues a fault                |
 * | `DELETE /_sim/faults`               |                                      | drops pending faults          |
 * | `GET /_sim/clock`                   |                                      | `{ok, now, manual}`           |
 * | `POST /_sim/clock`                  | `{advanceMs}` or `{set}`             | moves a manual clock (409 otherwise) |
 *
 * Control errors answer `{ok:false, code, message}` with 400, 404 or 409.
 */
import type { FastifyInstance, FastifySchema } from 'fastify'
import { Type } from 'typebox'
import { formatFixed, isDecimal, parseFixed, type Fixed } from '../lib/decimal.js'
import { isManualClock, type SimClock } from './clock.js'
import type { SimContext } from './context.js'
import { SimControlError } from './errors.js'
import { FAULT_MODES, type FaultQueue, type FaultSpec } from './faults.js'
import { deriveStatus, type Order } from './orders.js'
import type { QuotaTracker } from './quota.js'
import { decimalText, type OrderType } from './rules.js'
import type { SimStats, StatsRecorder } from './stats.js'

/** One output of an order, as the control API shows it (live, unmasked). */
export interface SimOutputView {
  index: number
  address: string
  destinationTag: string | null
  coin: string
  network: string
  amount: string
  delayMinutes: number
  state: 0 | 1 | 2
  confirm: 0 | 1
  tx: string
  /** Fixed send time (epoch ms) once started, else null. */
  sendAt: number | null
}

/** An order as the control API shows it: facts plus the live (unquantized) status. */
export interface SimOrderView {
  trackcode: string
  type: OrderType
  coin: string
  network: string
  depositAddress: string
  depositAmount: string
  serviceFee: string
  partner: string | null
  received: string
  confirmStatus: 0 | 1 | 2
  fullyFunded: boolean
  /** Epoch ms; null until funded and confirmed. */
  startedAt: number | null
  createdAt: number
  expiresAt: number
  /** Epoch ms at which the retention ends. */
  deleteAt: number
  payments: Array<{ amount: string, at: number }>
  outputs: SimOutputView[]
}

/** Drives and inspects a simulator from tests. */
export interface SimulatorControl {
  /** The simulator's clock. */
  readonly clock: SimClock
  /**
   * Records a deposit to the order's address at the current time. `amount` defaults to
   * what is still missing (the full `deposit_amount` when nothing was paid). Payments are
   * cumulative. Throws {@link SimControlError}: 404 unknown order, 409 deposit address
   * expired or nothing left to pay, 400 bad amount.
   */
  pay (trackcode: string, amount?: string | number): SimOrderView
  /** Ends the order's retention now: it is gone for check, delete and validate. 404 if unknown. */
  expire (trackcode: string): void
  /** The live order, or undefined when unknown, deleted or past retention. */
  getOrder (trackcode: string): SimOrderView | undefined
  /** Every live order, oldest first. */
  listOrders (): SimOrderView[]
  /** Call counters since the last reset. */
  stats (): SimStats
  /** Zeroes the call counters (the quota is kept). */
  resetStats (): void
  /** Makes the next `count` matching requests fail; see `faults.ts`. */
  fail (spec: FaultSpec): void
  /** Drops every pending fault. */
  clearFaults (): void
  /** Faults still to fire. */
  pendingFaults (): FaultSpec[]
}

/** Internals the control object works on. */
export interface ControlDeps {
  ctx: SimContext
  quota: QuotaTracker
  stats: StatsRecorder
  faults: FaultQueue
}

function view (ctx: SimContext, order: Order, now: number): SimOrderView {
  const status = deriveStatus(order, now, ctx.timing)
  return {
    trackcode: order.trackcode,
    type: order.type,
    coin: order.coin,
    network: order.network,
    depositAddress: order.depositAddress,
    depositAmount: formatFixed(order.depositAmount),
    serviceFee: formatFixed(order.serviceFee, 2),
    partner: order.partner ?? null,
    received: formatFixed(status.received),
    confirmStatus: status.confirmStatus,
    fullyFunded: status.fullyFunded,
    startedAt: status.startedAt,
    createdAt: order.createdAt,
    expiresAt: order.expiresAt,
    deleteAt: order.createdAt + ctx.timing.retentionMs,
    payments: order.payments.map((p) => ({ amount: formatFixed(p.amount), at: p.at })),
    outputs: order.outputs.map((o, i) => {
      const st = status.outputs[i] ?? { state: 0, confirm: 0, tx: '', sendAt: null }
      return {
        index: o.index,
        address: o.address,
        destinationTag: o.destinationTag,
        coin: o.coin,
        network: o.network,
        amount: formatFixed(o.amount),
        delayMinutes: o.delayMinutes,
        state: st.state,
        confirm: st.confirm,
        tx: st.tx,
        sendAt: st.sendAt
      }
    })
  }
}

function paymentAmount (amount: string | number): Fixed {
  const text = decimalText(amount)
  const value = text !== undefined && isDecimal(text) ? parseFixed(text) : undefined
  if (value === undefined || value <= 0n) throw new SimControlError(400, 'amount must be a positive decimal with at most 8 decimals')
  return value
}

/** Builds the in-process control object. */
export function createControl ({ ctx, quota, stats, faults }: ControlDeps): SimulatorControl {
  const { clock, store } = ctx
  function live (trackcode: string): Order {
    const order = store.get(trackcode, clock.now())
    if (order === undefined) throw new SimControlError(404, `order ${trackcode} not found`)
    return order
  }
  return {
    clock,
    pay (trackcode, amount) {
      const order = live(trackcode)
      const now = clock.now()
      if (now >= order.expiresAt) throw new SimControlError(409, `the deposit address of ${trackcode} has expired`)
      let value: Fixed
      if (amount === undefined) {
        const received = order.payments.reduce((acc, p) => acc + p.amount, 0n)
        value = order.depositAmount - received
        if (value <= 0n) throw new SimControlError(409, `order ${trackcode} is already fully funded`)
      } else {
        value = paymentAmount(amount)
      }
      order.payments.push({ amount: value, at: now })
      return view(ctx, order, now)
    },
    expire (trackcode) {
      live(trackcode)
      store.delete(trackcode)
    },
    getOrder (trackcode) {
      const now = clock.now()
      const order = store.get(trackcode, now)
      return order === undefined ? undefined : view(ctx, order, now)
    },
    listOrders () {
      const now = clock.now()
      return store.list(now).map((o) => view(ctx, o, now))
    },
    stats: () => stats.snapshot(quota.snapshot(clock.now())),
    resetStats: () => stats.reset(),
    fail (spec) {
      try {
        faults.add(spec)
      } catch (err) {
        throw new SimControlError(400, (err as Error).message)
      }
    },
    clearFaults: () => faults.clear(),
    pendingFaults: () => faults.pending()
  }
}

/** Keeps the control routes out of generated API docs (`@fastify/swagger` honours `hide`). */
const HIDDEN: FastifySchema & { hide: true } = { hide: true }

const FaultBody = Type.Object({
  mode: Type.Union(FAULT_MODES.map((m) => Type.Literal(m))),
  count: Type.Optional(Type.Integer({ minimum: 1 })),
  route: Type.Optional(Type.String({ minLength: 1 })),
  delayMs: Type.Optional(Type.Number({ minimum: 0 }))
}, { additionalProperties: false })

const ClockBody = Type.Object({
  advanceMs: Type.Optional(Type.Number({ minimum: 0 })),
  set: Type.Optional(Type.Number())
}, { additionalProperties: false })

interface TrackcodeParams { trackcode: string }

/** Registers the `/_sim/…` routes on `app`. */
export function registerControlRoutes (app: FastifyInstance, control: SimulatorControl): void {
  app.get('/_sim/orders', { schema: HIDDEN }, async () => ({ ok: true, orders: control.listOrders() }))

  app.get<{ Params: TrackcodeParams }>('/_sim/orders/:trackcode', { schema: HIDDEN }, async (request) => {
    const order = control.getOrder(request.params.trackcode)
    if (order === undefined) throw new SimControlError(404, `order ${request.params.trackcode} not found`)
    return { ok: true, order }
  })

  app.post<{ Params: TrackcodeParams, Body: unknown }>('/_sim/orders/:trackcode/pay', { schema: HIDDEN }, async (request) => {
    const body = request.body
    let amount: string | number | undefined
    if (body !== undefined && body !== null) {
      if (typeof body !== 'object' || Array.isArray(body)) throw new SimControlError(400, 'body must be a JSON object')
      const raw = (body as Record<string, unknown>).amount
      if (raw !== undefined && raw !== null) {
        if (typeof raw !== 'string' && typeof raw !== 'number') throw new SimControlError(400, 'amount must be a string or a number')
        amount = raw
      }
    }
    return { ok: true, order: control.pay(request.params.trackcode, amount) }
  })

  app.post<{ Params: TrackcodeParams }>('/_sim/orders/:trackcode/expire', { schema: HIDDEN }, async (request) => {
    control.expire(request.params.trackcode)
    return { ok: true, trackcode: request.params.trackcode, expired: true }
  })

  app.get('/_sim/stats', { schema: HIDDEN }, async () => control.stats())

  app.post('/_sim/stats/reset', { schema: HIDDEN }, async () => {
    control.resetStats()
    return { ok: true }
  })

  app.get('/_sim/faults', { schema: HIDDEN }, async () => ({ ok: true, faults: control.pendingFaults() }))

  app.post<{ Body: FaultSpec }>('/_sim/faults', { schema: { ...HIDDEN, body: FaultBody } }, async (request) => {
    control.fail(request.body)
    return { ok: true, faults: control.pendingFaults() }
  })

  app.delete('/_sim/faults', { schema: HIDDEN }, async () => {
    control.clearFaults()
    return { ok: true }
  })

  app.get('/_sim/clock', { schema: HIDDEN }, async () => ({ ok: true, now: control.clock.now(), manual: isManualClock(control.clock) }))

  app.post<{ Body: { advanceMs?: number, set?: number } }>('/_sim/clock', { schema: { ...HIDDEN, body: ClockBody } }, async (request) => {
    const clock = control.clock
    if (!isManualClock(clock)) throw new SimControlError(409, 'the simulator clock is not a manual clock')
    const { advanceMs, set } = request.body
    if (set !== undefined) clock.set(set)
    if (advanceMs !== undefined) clock.advance(advanceMs)
    return { ok: true, now: clock.now(), manual: true }
  })
}
