/**
 * Exact decimal arithmetic for coin amounts and percentages.
 *
 * SecretCryptos expresses coin amounts as strings with 8 decimals and percentages
 * with 2. Binary floating point cannot say "the percents sum to exactly 100.00",
 * so every rule that compares or adds decimals goes through this module, which
 * works on bigint fixed-point values with {@link SCALE} fractional digits.
 */

/** Number of fractional digits kept internally (coin amounts use 8). */
export const SCALE = 8
const UNIT = 10n ** BigInt(SCALE)

/** A plain decimal literal: digits, an optional dot and fractional digits. No sign, no exponent. */
const DECIMAL_RE = /^(\d+)(?:\.(\d+))?$/

/** A decimal held as an integer count of 10^-SCALE units. */
export type Fixed = bigint

/** Number of digits after the dot in a decimal literal ("10.50" → 2, "7" → 0). */
export function fractionDigits (text: string): number {
  const dot = text.indexOf('.')
  return dot === -1 ? 0 : text.length - dot - 1
}

/** True when `text` is a non-negative decimal literal with at most `maxFraction` fractional digits. */
export function isDecimal (text: string, maxFraction = SCALE): boolean {
  const m = DECIMAL_RE.exec(text)
  return m !== null && (m[2]?.length ?? 0) <= maxFraction
}

/**
 * Parses a decimal given as a string or a finite number into fixed point.
 * Returns `undefined` for anything that is not a plain non-negative decimal with at
 * most {@link SCALE} fractional digits (numbers are read through their shortest
 * decimal representation, so `0.1` is exactly 0.1).
 */
export function parseFixed (value: string | number): Fixed | undefined {
  let text: string
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined
    text = numberToPlain(value)
  } else {
    text = value
  }
  const m = DECIMAL_RE.exec(text)
  if (m === null) return undefined
  const frac = m[2] ?? ''
  if (frac.length > SCALE) return undefined
  return BigInt(m[1] as string) * UNIT + BigInt(frac.padEnd(SCALE, '0') || '0')
}

/** Formats fixed point with exactly `digits` fractional digits, rounding half up. */
export function formatFixed (value: Fixed, digits = SCALE): string {
  const negative = value < 0n
  let v = negative ? -value : value
  if (digits < SCALE) {
    const div = 10n ** BigInt(SCALE - digits)
    v = (v + div / 2n) / div
  } else if (digits > SCALE) {
    v *= 10n ** BigInt(digits - SCALE)
  }
  const unit = 10n ** BigInt(digits)
  const whole = v / unit
  const frac = v % unit
  const body = digits === 0 ? whole.toString() : `${whole}.${frac.toString().padStart(digits, '0')}`
  return negative ? `-${body}` : body
}

/** a × b, both fixed point, result rounded half up to fixed point. */
export function mulFixed (a: Fixed, b: Fixed): Fixed {
  const p = a * b
  return p >= 0n ? (p + UNIT / 2n) / UNIT : -((-p + UNIT / 2n) / UNIT)
}

/** a ÷ b, both fixed point, result rounded half up to fixed point. Throws on division by zero. */
export function divFixed (a: Fixed, b: Fixed): Fixed {
  if (b === 0n) throw new RangeError('division by zero')
  const n = a * UNIT
  const negative = (n < 0n) !== (b < 0n)
  const an = n < 0n ? -n : n
  const ab = b < 0n ? -b : b
  const q = (an + ab / 2n) / ab
  return negative ? -q : q
}

/** Converts a JavaScript number to fixed point, through its shortest decimal text (rounded to SCALE digits). */
export function fixedFromNumber (n: number): Fixed {
  const negative = n < 0
  const text = numberToPlain(Math.abs(n))
  const m = DECIMAL_RE.exec(text)
  if (m === null) throw new RangeError(`not a finite number: ${n}`)
  const frac = (m[2] ?? '').padEnd(SCALE + 1, '0')
  let v = BigInt(m[1] as string) * UNIT + BigInt(frac.slice(0, SCALE))
  if (Number(frac[SCALE]) >= 5) v += 1n
  return negative ? -v : v
}

/** Shortest plain (non-exponent) decimal text for a finite non-negative number. */
function numberToPlain (n: number): string {
  const s = String(n)
  if (!/e/i.test(s)) return s
  return n.toFixed(SCALE + 2).replace(/0+$/, '').replace(/\.$/, '')
}
