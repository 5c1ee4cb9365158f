/**
 * Reads decimals that clients may send as strings or as JSON numbers.
 *
 * A string is judged on its literal text (`"10.50"` has 2 decimals); a number on its
 * shortest decimal representation (`10.50` arrives as the number 10.5, which has 1),
 * the same text `JSON.stringify` would write for it.
 */
import { badRequest } from '../../errors.js'
import { formatFixed, fractionDigits, isDecimal, parseFixed, type Fixed } from '../../lib/decimal.js'

/** The plain decimal text of `value`, or `undefined` when it is neither a decimal string nor a finite non-negative number. */
export function decimalLiteral (value: unknown): string | undefined {
  if (typeof value === 'string') return isDecimal(value, Number.MAX_SAFE_INTEGER) ? value : undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined
  const text = String(value)
  if (!/e/i.test(text)) return text
  // Exponent form (1e-7, 1e21): spell it out if it fits the fixed-point scale.
  const fixed = parseFixed(value)
  return fixed === undefined ? undefined : formatFixed(fixed).replace(/\.?0+$/, '')
}

/**
 * `value` as fixed point, refusing anything with more than `maxFraction` decimals
 * (`maxFraction` ≤ 8, the fixed-point scale).
 * Throws 400 BAD_REQUEST: `<field> must have at most <maxFraction> decimals`, or
 * `<field> <notDecimal>` when it is not a decimal at all.
 */
export function readDecimal (value: unknown, field: string, maxFraction: number, notDecimal = 'must be a decimal number with a dot as separator'): Fixed {
  const text = decimalLiteral(value)
  if (text === undefined) throw badRequest(`${field} ${notDecimal}`)
  if (fractionDigits(text) > maxFraction) throw badRequest(`${field} must have at most ${maxFraction} decimals`)
  const fixed = parseFixed(text)
  if (fixed === undefined) throw badRequest(`${field} ${notDecimal}`)
  return fixed
}
