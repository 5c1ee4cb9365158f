/**
 * The rules of an exchange order that its JSON Schema cannot say, checked before any
 * upstream call: decimals of values sent as JSON numbers, the destination address and
 * tag against `to_network`.
 *
 * Not checked here, on purpose: the pair's USD limits (`amount × from price` within
 * `min_usd`–`max_usd`). They move with live prices, so a check against a cached price
 * could refuse an order upstream would take at its current price, and the contract does
 * not say which side's limits apply nor which code a violation gets. Upstream judges
 * them; a refused order costs one call.
 */
import type { ExchangeOrderRequest } from '../schemas/exchange-order.js'
import { checkAddress, checkDestinationTag } from './address.js'
import { readDecimal } from './decimal-input.js'
import { readAmount } from './mixer-order.js'

/** Throws 400 BAD_REQUEST naming the first offending field. */
export function checkExchangeOrder (body: ExchangeOrderRequest): void {
  readAmount(body.amount)
  if (body.service_fee !== undefined) readDecimal(body.service_fee, 'service_fee', 2)
  checkAddress(body.to_network, body.to_address, 'to_address')
  checkDestinationTag(body.to_network, body.destination_tag, 'destination_tag')
}
