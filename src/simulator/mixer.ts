/**
 * POST /v1/mixer/orders: validation, fee arithmetic and the create response.
 *
 * Arithmetic (exact, 8 decimals): `service_fee_value = amount × fee%`,
 * `fee_outputs_total = per_address_fee × outputs`, `fee_total` = their sum, and each
 * output gets `(amount − fee_total) × share_percent / 100`.
 */
import { divFixed, formatFixed, mulFixed, parseFixed, type Fixed } from '../lib/decimal.js'
import { matchesNetwork } from '../upstream/address-formats.js'
import { depositAddress } from './addresses.js'
import { findCoin, findNetwork, type CoinSpec, type NetworkSpec } from './catalog.js'
import { seconds, type SimContext } from './context.js'
import { ApiError, badRequest } from './errors.js'
import { txHash, type Order, type OrderOutput } from './orders.js'
import { qrDataUrl } from './qr.js'
import {
  bodyObject, delayLabel, isAbsent, optionalString, parseAmount, parseDelay, parsePercentText,
  parseQrFlag, parseTag, requiredString
} from './rules.js'

const ONE = parseFixed('1') as Fixed
const HUNDRED = parseFixed('100') as Fixed
const FEE_MIN = parseFixed('0.1') as Fixed
const FEE_MAX = parseFixed('5') as Fixed
const MAX_OUTPUTS = 10

/** One output in a create response (mixer and exchange orders alike). */
export interface OrderOutputJson {
  id: number
  address: string
  destination_tag: string | null
  share_percent: number
  delay_minutes: number
  delay_label: string
  amount: string
  time: number
}

/** The deposit block of a create response. */
export interface MixerDepositJson {
  address: string
  name: string
  symbol: string
  network: string
  network_label: string
  deposit_amount: string
  min_amount: number
  max_amount: number
  expires_at: number
  qr_code?: string
}

/** Body of a successful POST /v1/mixer/orders. */
export interface MixerCreateResponse {
  ok: true
  trackcode: string
  maintenance: number
  deposit: MixerDepositJson
  fees: {
    service_fee_percent: number
    service_fee_value: string
    fee_per_output: string
    fee_outputs_total: string
    fee_total: string
  }
  outputs: OrderOutputJson[]
  signature_text: string
}

interface OutputRequest {
  address: string
  destinationTag: string | null
  percent: Fixed
  delayMinutes: number
}

/** Resolves `field`'s coin, or throws BAD_REQUEST. */
export function coinOf (value: string, field: string): CoinSpec {
  const coin = findCoin(value)
  if (coin === undefined) throw badRequest(`${field} "${value}" is not supported`)
  return coin
}

/** Resolves a network of `coin`, or throws BAD_REQUEST. */
export function networkOf (coin: CoinSpec, value: string, field: string): NetworkSpec {
  const spec = findNetwork(coin, value)
  if (spec === undefined) throw badRequest(`${field} "${value}" is not supported for ${coin.ticker}`)
  return spec
}

/** Throws SERVICE_UNAVAILABLE when `network` has no free deposit address, else allocates one. */
export function allocateDeposit (ctx: SimContext, network: string): string {
  if (ctx.exhaustedNetworks.has(network)) {
    throw new ApiError(503, 'SERVICE_UNAVAILABLE', `No deposit address is available for network ${network} right now`)
  }
  return depositAddress(network)
}

function readOutputs (value: unknown, network: string, label: string): OutputRequest[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_OUTPUTS) {
    throw badRequest(`addresses must be an array of 1 to ${MAX_OUTPUTS} outputs`)
  }
  const outputs = value.map((item: unknown, i): OutputRequest => {
    const field = `addresses[${i}]`
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw badRequest(`${field} must be an object`)
    const o = item as Record<string, unknown>
    const address = typeof o.address === 'string' ? o.address.trim() : ''
    if (address === '') throw badRequest(`${field}.address is required`)
    if (matchesNetwork(network, address) === false) throw badRequest(`${field}.address is not a valid ${label} address`)
    if (isAbsent(o.percent)) throw badRequest(`${field}.percent is required`)
    const percent = parsePercentText(o.percent, `${field}.percent`)
    if (percent < ONE || percent > HUNDRED) throw badRequest(`${field}.percent must be between 1.00 and 100.00`)
    return {
      address,
      destinationTag: parseTag(network, o.destination_tag ?? o.memo, `${field}.destination_tag`),
      percent,
      delayMinutes: parseDelay(o.delay, `${field}.delay`)
    }
  })
  const sum = outputs.reduce((acc, o) => acc + o.percent, 0n)
  if (sum !== HUNDRED) throw badRequest('Sum of percents must be exactly 100.00')
  return outputs
}

function readServiceFee (value: unknown, fallback: number): Fixed {
  if (isAbsent(value)) return parseFixed(fallback) as Fixed
  const fee = parsePercentText(value, 'service_fee')
  if (fee < FEE_MIN || fee > FEE_MAX) throw badRequest('service_fee must be between 0.10 and 5.00')
  return fee
}

/** Number form of a 2-decimal percent (84.93, 100, 0.45). */
export function percentNumber (value: Fixed): number {
  return Number(formatFixed(value, 2))
}

/** Validates a mixer order request, stores the order and builds the response. */
export async function createMixerOrder (ctx: SimContext, body: unknown): Promise<MixerCreateResponse> {
  const req = bodyObject(body)
  if (!isAbsent(req.action) && req.action !== 'create_order') throw badRequest('action must be "create_order"')
  const coin = coinOf(requiredString(req, 'crypto'), 'crypto')
  const networkId = requiredString(req, 'network').toLowerCase()
  const network = networkOf(coin, networkId, 'network')
  const amount = parseAmount(req.amount)
  const requested = readOutputs(req.addresses, networkId, network.label)
  const fee = readServiceFee(req.service_fee, coin.mixerFee)
  const partner = optionalString(req, 'partner')
  const qr = parseQrFlag(req.qrcode)

  const min = parseFixed(network.mixer.min) as Fixed
  const max = parseFixed(network.mixer.max) as Fixed
  if (amount < min) throw new ApiError(400, 'AMOUNT_TOO_LOW', `amount must be at least ${network.mixer.min} ${coin.ticker}`)
  if (amount > max) throw new ApiError(400, 'AMOUNT_TOO_HIGH', `amount must be at most ${network.mixer.max} ${coin.ticker}`)

  const serviceFeeValue = mulFixed(amount, divFixed(fee, HUNDRED))
  const feePerOutput = parseFixed(coin.perAddressFee) as Fixed
  const feeOutputsTotal = feePerOutput * BigInt(requested.length)
  const feeTotal = serviceFeeValue + feeOutputsTotal
  const net = amount - feeTotal
  if (net <= 0n) throw new ApiError(400, 'AMOUNT_TOO_LOW', 'amount does not cover the fees')

  const address = allocateDeposit(ctx, networkId)
  const now = ctx.clock.now()
  const coinId = coin.ticker.toLowerCase()
  const outputs = requested.map((o, i): OrderOutput => ({
    index: i + 1,
    address: o.address,
    destinationTag: o.destinationTag,
    coin: coinId,
    network: networkId,
    sharePercent: o.percent,
    delayMinutes: o.delayMinutes,
    amount: mulFixed(net, divFixed(o.percent, HUNDRED)),
    tx: txHash()
  }))
  const order: Order = {
    trackcode: ctx.store.newTrackcode(),
    type: 'mixer',
    coin: coinId,
    network: networkId,
    depositAddress: address,
    depositAmount: amount,
    serviceFee: fee,
    partner,
    createdAt: now,
    expiresAt: now + ctx.timing.depositExpiryMs,
    outputs,
    payments: []
  }
  const qrCode = qr ? await qrDataUrl(address) : undefined
  ctx.store.add(order)

  const deposit: MixerDepositJson = {
    address,
    name: coin.name,
    symbol: coin.symbol,
    network: networkId,
    network_label: network.label,
    deposit_amount: formatFixed(amount),
    min_amount: network.mixer.min,
    max_amount: network.mixer.max,
    expires_at: seconds(order.expiresAt)
  }
  if (qrCode !== undefined) deposit.qr_code = qrCode
  return {
    ok: true,
    trackcode: order.trackcode,
    maintenance: 0,
    deposit,
    fees: {
      service_fee_percent: percentNumber(fee),
      service_fee_value: formatFixed(serviceFeeValue),
      fee_per_output: formatFixed(feePerOutput),
      fee_outputs_total: formatFixed(feeOutputsTotal),
      fee_total: formatFixed(feeTotal)
    },
    outputs: outputs.map((o) => ({
      id: o.index,
      address: o.address,
      destination_tag: o.destinationTag,
      share_percent: percentNumber(o.sharePercent),
      delay_minutes: o.delayMinutes,
      delay_label: delayLabel(o.delayMinutes),
      amount: formatFixed(o.amount),
      time: seconds(now + o.delayMinutes * 60_000)
    })),
    signature_text: ctx.signer.seal({ track: order.trackcode, type: 'mixer', route: 'deposit', created_at: seconds(now) })
  }
}
