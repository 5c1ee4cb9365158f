/**
 * The split of a mixer deposit between its outputs: each percent has at most 2
 * decimals and lies within 1.00–100.00, and together they make exactly 100.00 (so a
 * single output takes 100.00). Summed in exact decimal arithmetic: 33.33 + 33.33 + 33.34
 * is 100.00, not 99.99999999999999.
 */
import { badRequest } from '../../errors.js'
import { formatFixed, parseFixed, type Fixed } from '../../lib/decimal.js'
import { readDecimal } from './decimal-input.js'

const ONE = parseFixed('1') as Fixed
const HUNDRED = parseFixed('100') as Fixed

/**
 * Checks the `percent` of every output; returns them as fixed point.
 * Throws 400 BAD_REQUEST naming the field (`addresses[1].percent …`).
 */
export function checkPercentSplit (outputs: ReadonlyArray<{ percent: unknown }>, listField = 'addresses'): Fixed[] {
  const percents = outputs.map((o, i) => {
    const field = `${listField}[${i}].percent`
    const p = readDecimal(o.percent, field, 2)
    if (p < ONE || p > HUNDRED) throw badRequest(`${field} must be between 1.00 and 100.00`)
    return p
  })
  const sum = percents.reduce((a, b) => a + b, 0n)
  if (sum !== HUNDRED) {
    if (percents.length === 1) throw badRequest(`${listField}[0].percent must be exactly 100.00 for a single output`)
    throw badRequest(`Sum of percents must be exactly 100.00 (${listField}[].percent add up to ${formatFixed(sum, 2)})`)
  }
  return percents
}
