/**
 * POST /v1/exchange/orders: pair and limit checks, the fee clamp and the quote.
 *
 * Fee: at most 2 decimals; the effective percent is the request's value raised to the
 * site default (the `to_network`'s `service_fee`) and to the global 0.50 floor, and capped
 * at 3.00; omitted → max(site default, 0.50).
 * Quote (exact, 8 decimals): `amount_usd = amount × from price`,
 * `final_usd = amount_usd × (1 − fee%)`, `estimated_receive = final_usd ÷ to price`.
 * The USD limits of a pair are those of its `to_network` in `/v1/meta/exchange`.
 * The receive delay defaults to 10 minutes and may be set with `delay` (minutes or label).
 */
import { divFixed, formatFixed, mulFixed, parseFixed, type Fixed } from '../lib/decimal.js'
import { matchesNetwork } from '../upstream/address-formats.js'
import { seconds, type SimContext } from './context.js'
import { ApiError, badRequest } from './errors.js'
import { allocateDeposit, coinOf, networkOf, percentNumber, type OrderOutputJson } from './mixer.js'
import { txHash, type Order } from './orders.js'
import { qrDataUrl } from './qr.js'
import {
  bodyObject, delayLabel, isAbsent, optionalString, parseAmount, parseDelay, parsePercentText,
  parseQrFlag, parseTag, requiredString
} from './rules.js'

const HUNDRED = parseFixed('100') as Fixed
const GLOBAL_MIN_FEE = parseFixed('0.5') as Fixed
const GLOBAL_MAX_FEE = parseFixed('3') as Fixed
/** Receive delay when the request sets none. */
export const DEFAULT_EXCHANGE_DELAY_MINUTES = 10

/** One side of the quote. */
export interface QuoteSideJson {
  coin: string
  network: string
  price_usd: number
}

/** Body of a successful POST /v1/exchange/orders. */
export interface ExchangeCreateResponse {
  ok: true
  type: 'exchange'
  trackcode: string
  pair: { from: string, to: string }
  deposit: {
    address: string
    name: string
    symbol: string
    network: string
    network_label: string
    deposit_amount: string
    min_usd: number
    max_usd: number
    expires_at: number
    qr_code?: string
  }
  quote: {
    from: QuoteSideJson & { amount: string, amount_usd: string }
    to: QuoteSideJson & { estimated_receive: string }
    fee_percent: number
    final_usd: string
  }
  receive: {
    address: string
    destination_tag: string | null
    coin: string
    network: string
    percent: number
    delay_minutes: number
    delay_label: string
    amount: string
    time: number
  }
  outputs: OrderOutputJson[]
  signature_text: string
}

/** The effective exchange fee for a requested value (see the module comment). */
export function effectiveExchangeFee (requested: unknown, siteDefault: string): Fixed {
  const site = parseFixed(siteDefault) as Fixed
  let fee = site > GLOBAL_MIN_FEE ? site : GLOBAL_MIN_FEE
  if (!isAbsent(requested)) {
    const asked = parsePercentText(requested, 'service_fee')
    if (asked > fee) fee = asked
  }
  return fee > GLOBAL_MAX_FEE ? GLOBAL_MAX_FEE : fee
}

/** The quote arithmetic: all values fixed point, results rounded half up to 8 decimals. */
export function exchangeQuote (amount: Fixed, fromPrice: Fixed, toPrice: Fixed, feePercent: Fixed): { amountUsd: Fixed, finalUsd: Fixed, receive: Fixed } {
  const amountUsd = mulFixed(amount, fromPrice)
  const finalUsd = mulFixed(amountUsd, divFixed(HUNDRED - feePercent, HUNDRED))
  return { amountUsd, finalUsd, receive: divFixed(finalUsd, toPrice) }
}

/** Validates an exchange order request, stores the order and builds the response. */
export async function createExchangeOrder (ctx: SimContext, body: unknown): Promise<ExchangeCreateResponse> {
  const req = bodyObject(body)
  const from = coinOf(requiredString(req, 'from_coin'), 'from_coin')
  const fromNetId = requiredString(req, 'from_network').toLowerCase()
  const fromNet = networkOf(from, fromNetId, 'from_network')
  const to = coinOf(requiredString(req, 'to_coin'), 'to_coin')
  const toNetId = requiredString(req, 'to_network').toLowerCase()
  const toNet = networkOf(to, toNetId, 'to_network')
  if (from === to && fromNetId === toNetId) throw badRequest('from and to must be different coins or networks')
  const toAddress = requiredString(req, 'to_address')
  if (matchesNetwork(toNetId, toAddress) === false) throw badRequest(`to_address is not a valid ${toNet.label} address`)
  const tagField = isAbsent(req.destination_tag) && !isAbsent(req.memo) ? 'memo' : 'destination_tag'
  const tag = parseTag(toNetId, req[tagField], tagField)
  const amount = parseAmount(req.amount)
  const fee = effectiveExchangeFee(req.service_fee, toNet.exchange.serviceFee)
  const partner = optionalString(req, 'partner')
  const qr = parseQrFlag(req.qrcode)
  const delay = parseDelay(req.delay, 'delay', DEFAULT_EXCHANGE_DELAY_MINUTES)

  const { amountUsd, finalUsd, receive: receiveAmount } =
    exchangeQuote(amount, parseFixed(from.price) as Fixed, parseFixed(to.price) as Fixed, fee)
  const minUsd = parseFixed(toNet.exchange.minUsd) as Fixed
  const maxUsd = parseFixed(toNet.exchange.maxUsd) as Fixed
  if (amountUsd < minUsd) {
    throw new ApiError(400, 'AMOUNT_TOO_LOW', `amount is worth ${formatFixed(amountUsd, 2)} USD; the minimum for this pair is ${toNet.exchange.minUsd} USD`)
  }
  if (amountUsd > maxUsd) {
    throw new ApiError(400, 'AMOUNT_TOO_HIGH', `amount is worth ${formatFixed(amountUsd, 2)} USD; the maximum for this pair is ${toNet.exchange.maxUsd} USD`)
  }

  const address = allocateDeposit(ctx, fromNetId)
  const now = ctx.clock.now()
  const order: Order = {
    trackcode: ctx.store.newTrackcode(),
    type: 'exchange',
    coin: from.ticker.toLowerCase(),
    network: fromNetId,
    depositAddress: address,
    depositAmount: amount,
    serviceFee: fee,
    partner,
    createdAt: now,
    expiresAt: now + ctx.timing.depositExpiryMs,
    outputs: [{
      index: 1,
      address: toAddress,
      destinationTag: tag,
      coin: to.ticker.toLowerCase(),
      network: toNetId,
      sharePercent: HUNDRED,
      delayMinutes: delay,
      amount: receiveAmount,
      tx: txHash()
    }],
    payments: []
  }
  const qrCode = qr ? await qrDataUrl(address) : undefined
  ctx.store.add(order)

  const time = seconds(now + delay * 60_000)
  const payout = {
    address: toAddress,
    destination_tag: tag,
    delay_minutes: delay,
    delay_label: delayLabel(delay),
    amount: formatFixed(receiveAmount),
    time
  }
  return {
    ok: true,
    type: 'exchange',
    trackcode: order.trackcode,
    pair: { from: `${from.ticker}_${fromNetId}`, to: `${to.ticker}_${toNetId}` },
    deposit: {
      address,
      name: from.name,
      symbol: from.symbol,
      network: fromNetId,
      network_label: fromNet.label,
      deposit_amount: formatFixed(amount),
      min_usd: Number(toNet.exchange.minUsd),
      max_usd: Number(toNet.exchange.maxUsd),
      expires_at: seconds(order.expiresAt),
      ...(qrCode === undefined ? {} : { qr_code: qrCode })
    },
    quote: {
      from: { coin: from.ticker, network: fromNetId, price_usd: Number(from.price), amount: formatFixed(amount), amount_usd: formatFixed(amountUsd) },
      to: { coin: to.ticker, network: toNetId, price_usd: Number(to.price), estimated_receive: formatFixed(receiveAmount) },
      fee_percent: percentNumber(fee),
      final_usd: formatFixed(finalUsd)
    },
    receive: {
      address: payout.address,
      destination_tag: payout.destination_tag,
      coin: to.ticker,
      network: toNetId,
      percent: 100,
      delay_minutes: payout.delay_minutes,
      delay_label: payout.delay_label,
      amount: payout.amount,
      time
    },
    outputs: [{
      id: 1,
      address: payout.address,
      destination_tag: payout.destination_tag,
      share_percent: 100,
      delay_minutes: payout.delay_minutes,
      delay_label: payout.delay_label,
      amount: payout.amount,
      time
    }],
    signature_text: ctx.signer.seal({ track: order.trackcode, type: 'exchange', route: 'exc-deposit', created_at: seconds(now) })
  }
}
