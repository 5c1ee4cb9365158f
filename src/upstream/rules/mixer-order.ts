/**
 * The rules of a mixer order that its JSON Schema cannot say, checked before any
 * upstream call: decimals of values sent as JSON numbers, the percent split, delay
 * labels up to 48 h, address and tag formats per network. (The amount against the
 * coin's limits needs `/v1/meta/mixer`: see `mixer-limits.ts`.)
 */
import { badRequest } from '../../errors.js'
import { parseFixed, type Fixed } from '../../lib/decimal.js'
import type { MixerOrderRequest } from '../schemas/mixer-order.js'
import { checkAddress, checkDestinationTag } from './address.js'
import { readDecimal } from './decimal-input.js'
import { parseDelayMinutes } from './delay.js'
import { checkPercentSplit } from './percent-split.js'

const MIN_FEE = parseFixed('0.10') as Fixed
const MAX_FEE = parseFixed('5.00') as Fixed

/** What the checks read, in exact arithmetic. */
export interface CheckedMixerOrder {
  amount: Fixed
  percents: Fixed[]
  delayMinutes: number[]
}

/** A positive coin amount with at most 8 decimals. */
export function readAmount (value: unknown, field = 'amount'): Fixed {
  const amount = readDecimal(value, field, 8, 'must be a positive decimal with a dot as separator and at most 8 decimals')
  if (amount <= 0n) throw badRequest(`${field} must be greater than zero`)
  return amount
}

/** Throws 400 BAD_REQUEST naming the first offending field. */
export function checkMixerOrder (body: MixerOrderRequest): CheckedMixerOrder {
  const amount = readAmount(body.amount)
  if (body.service_fee !== undefined) {
    const fee = readDecimal(body.service_fee, 'service_fee', 2)
    if (fee < MIN_FEE || fee > MAX_FEE) throw badRequest('service_fee must be between 0.10 and 5.00')
  }
  const delayMinutes = body.addresses.map((output, i) => {
    const field = `addresses[${i}]`
    checkAddress(body.network, output.address, `${field}.address`)
    checkDestinationTag(body.network, output.destination_tag, `${field}.destination_tag`)
    return parseDelayMinutes(output.delay, `${field}.delay`)
  })
  const percents = checkPercentSplit(body.addresses)
  return { amount, percents, delayMinutes }
}
