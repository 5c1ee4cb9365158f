/**
 * POST /v1/orders/check and POST /v1/orders/delete.
 *
 * Check reports the order as of the last refresh tick (see `refreshIntervalMs`), while
 * `delete_in_sec` and `left_seconds` count down live; so, like upstream between two
 * refreshes, an output can read `state: 1` with `left_seconds: 0`.
 */
import { formatFixed } from '../lib/decimal.js'
import { maskAddress } from './addresses.js'
import { observedAt, type SimContext } from './context.js'
import { ApiError } from './errors.js'
import { percentNumber } from './mixer.js'
import { deriveStatus, type Order } from './orders.js'
import {
  bodyObject, delayLabel, parseFlag, parseOrderType, parseOutputsMode, parseTrackcode, type OrderType
} from './rules.js'

/** One output of a `full` check. */
export interface CheckOutputJson {
  index: number
  address: string
  destination_tag: string | null
  coin: string
  network: string
  share_percent: number
  delay_label: string
  delay_seconds: number
  state: 0 | 1 | 2
  confirm: 0 | 1
  tx: string
  amount: string
  left_seconds: number
}

/** The `summary` outputs block. */
export interface CheckSummaryJson {
  count: number
  sent_count: number
  sent_total: string
}

/** Body of a successful POST /v1/orders/check. */
export interface CheckResponse {
  ok: true
  type: OrderType
  trackcode: string
  deposit: {
    confirm_status: 0 | 1 | 2
    coin: string
    network: string
    delete_in_sec: number
    funding: {
      waiting_balance: string
      received_balance: string
      remaining_need: string
      is_fully_funded: boolean
      can_start: boolean
    }
  }
  status_reason?: string
  outputs?: CheckSummaryJson | CheckOutputJson[]
}

/** Body of a successful POST /v1/orders/delete. */
export interface DeleteResponse {
  ok: true
  trackcode: string
  type: OrderType
  deleted: true
}

function findOrder (ctx: SimContext, trackcode: string, type: OrderType | undefined, message: string): Order {
  const order = ctx.store.get(trackcode, ctx.clock.now(), type)
  if (order === undefined) throw new ApiError(404, 'NOT_FOUND', message)
  return order
}

/** Answers a check request. */
export function checkOrder (ctx: SimContext, body: unknown): CheckResponse {
  const req = bodyObject(body)
  const trackcode = parseTrackcode(req.trackcode)
  const type = parseOrderType(req.type)
  const mode = parseOutputsMode(req.outputs)
  const mask = parseFlag(req.mask_addresses, 'mask_addresses', true)
  const order = findOrder(ctx, trackcode, type, 'Order not found')
  const now = ctx.clock.now()
  const status = deriveStatus(order, observedAt(ctx, now), ctx.timing)

  const res: CheckResponse = {
    ok: true,
    type: order.type,
    trackcode,
    deposit: {
      confirm_status: status.confirmStatus,
      coin: order.coin,
      network: order.network,
      delete_in_sec: ctx.store.deleteInSec(order, now),
      funding: {
        waiting_balance: formatFixed(order.depositAmount),
        received_balance: formatFixed(status.received),
        remaining_need: formatFixed(status.remaining),
        is_fully_funded: status.fullyFunded,
        can_start: status.canStart
      }
    }
  }
  if (status.received > 0n && !status.fullyFunded) res.status_reason = 'INSUFFICIENT_FUNDS'
  if (mode === 'summary') {
    let sentCount = 0
    let sentTotal = 0n
    order.outputs.forEach((o, i) => {
      if (status.outputs[i]?.state === 2) {
        sentCount++
        sentTotal += o.amount
      }
    })
    res.outputs = { count: order.outputs.length, sent_count: sentCount, sent_total: formatFixed(sentTotal) }
  } else if (mode === 'full') {
    res.outputs = order.outputs.map((o, i): CheckOutputJson => {
      const st = status.outputs[i] ?? { state: 0, confirm: 0, tx: '', sendAt: null }
      const delaySeconds = o.delayMinutes * 60
      let left = delaySeconds
      if (st.state === 2) left = 0
      else if (st.sendAt !== null) left = Math.max(0, Math.ceil((st.sendAt - now) / 1000))
      return {
        index: o.index,
        address: mask ? maskAddress(o.address) : o.address,
        destination_tag: o.destinationTag,
        coin: o.coin,
        network: o.network,
        share_percent: percentNumber(o.sharePercent),
        delay_label: delayLabel(o.delayMinutes),
        delay_seconds: delaySeconds,
        state: st.state,
        confirm: st.confirm,
        tx: st.tx,
        amount: formatFixed(o.amount),
        left_seconds: left
      }
    })
  }
  return res
}

/** Answers a delete request. */
export function deleteOrder (ctx: SimContext, body: unknown): DeleteResponse {
  const req = bodyObject(body)
  const trackcode = parseTrackcode(req.trackcode)
  const type = parseOrderType(req.type)
  const order = findOrder(ctx, trackcode, type, 'Order not found or already deleted')
  ctx.store.delete(trackcode)
  return { ok: true, trackcode, type: order.type, deleted: true }
}
