/**
 * POST /v1/validate: opens a guarantee letter and describes its order. Errors on this
 * endpoint carry the code under the key `error`.
 *
 * `route` tells where the order stands: mixer `deposit` (no payment seen), `confirm`
 * (payment seen, not yet started), `mixing` (funded and started); exchange `exc-deposit`
 * (not started) or `exc-send` (started).
 */
import { formatFixed } from '../lib/decimal.js'
import { observedAt, seconds, type SimContext } from './context.js'
import { ApiError } from './errors.js'
import { deriveStatus, type Order, type OrderStatus } from './orders.js'
import { delayLabel, type OrderType } from './rules.js'

/** Only orders younger than this validate. */
const VALIDATE_WINDOW_MS = 48 * 3_600_000

/** One output in a validate answer (`share_percent` is a string here). */
export interface ValidateOutputJson {
  coin: string
  network: string
  address: string
  destination_tag: string
  share_percent: string
  delay_minutes: number
  delay_label: string
  amount: string
}

/** Body of a successful POST /v1/validate. */
export interface ValidateResponse {
  ok: true
  message: string
  type: OrderType
  route: string
  trackcode: string
  order: {
    deposit_address: string
    service_fee: string
    coin: string
    network: string
    waiting_balance: string
    created_at: string
  }
  outputs: ValidateOutputJson[]
  outputs_count: number
}

/** Where the order stands, as `route` names it. */
export function routeOf (order: Order, status: OrderStatus): string {
  if (order.type === 'exchange') return status.canStart ? 'exc-send' : 'exc-deposit'
  if (status.canStart) return 'mixing'
  return status.confirmStatus === 0 ? 'deposit' : 'confirm'
}

/** Answers a validate request. */
export function validateSignature (ctx: SimContext, body: unknown): ValidateResponse {
  const req = body !== null && typeof body === 'object' && !Array.isArray(body) ? body as Record<string, unknown> : {}
  const signature = req.signature
  if (typeof signature !== 'string' || signature.trim() === '') {
    throw new ApiError(400, 'BAD_REQUEST', 'A digital signature is required', 'error')
  }
  const { trackcode } = ctx.signer.open(signature)
  const now = ctx.clock.now()
  const order = ctx.store.get(trackcode, now)
  if (order === undefined || now - order.createdAt >= VALIDATE_WINDOW_MS) {
    throw new ApiError(404, 'NOT_FOUND', 'The requested order details could not be found.', 'error')
  }
  const status = deriveStatus(order, observedAt(ctx, now), ctx.timing)
  return {
    ok: true,
    message: 'The signature has been validated successfully.',
    type: order.type,
    route: routeOf(order, status),
    trackcode: order.trackcode,
    order: {
      deposit_address: order.depositAddress,
      service_fee: formatFixed(order.serviceFee, 2),
      coin: order.coin,
      network: order.network,
      waiting_balance: formatFixed(order.depositAmount),
      created_at: String(seconds(order.createdAt))
    },
    outputs: order.outputs.map((o) => ({
      coin: o.coin,
      network: o.network,
      address: o.address,
      destination_tag: o.destinationTag ?? '',
      share_percent: formatFixed(o.sharePercent, 2),
      delay_minutes: o.delayMinutes,
      delay_label: delayLabel(o.delayMinutes),
      amount: formatFixed(o.amount)
    })),
    outputs_count: order.outputs.length
  }
}
