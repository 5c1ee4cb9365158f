/**
 * Field rules shared by the order endpoints. Each reader takes the raw JSON value,
 * returns the parsed value, or throws a 400 BAD_REQUEST that names the field, as
 * upstream does.
 */
import { formatFixed, fractionDigits, isDecimal, parseFixed, type Fixed } from '../lib/decimal.js'
import { badRequest } from './errors.js'

/** Longest delay accepted: 48 h. */
export const MAX_DELAY_MINUTES = 2880

/** Order kinds. */
export type OrderType = 'mixer' | 'exchange'

/** `outputs` modes of `/v1/orders/check`. */
export type OutputsMode = 'none' | 'summary' | 'full'

const TRACKCODE_RE = /^[0-9A-F]{16}$/
const DELAY_LABEL_RE = /^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$/i
const XRP_TAG_MAX = 4294967295n

/** The request body as an object; an absent body reads as `{}`. */
export function bodyObject (body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('Request body must be a JSON object')
  return body as Record<string, unknown>
}

/** True for `undefined`, `null` and `""`: a field the caller left out. */
export function isAbsent (value: unknown): boolean {
  return value === undefined || value === null || value === ''
}

/** The plain decimal text of a string or number field, or `undefined` when it is neither. */
export function decimalText (value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined
  const s = String(value)
  if (!/e/i.test(s)) return s
  const fixed = parseFixed(value)
  return fixed === undefined ? undefined : formatFixed(fixed).replace(/\.?0+$/, '')
}

/** A required non-empty string. */
export function requiredString (obj: Record<string, unknown>, field: string): string {
  const value = obj[field]
  if (typeof value !== 'string' || value.trim() === '') throw badRequest(`${field} is required`)
  return value.trim()
}

/** An optional string (`undefined` when absent). */
export function optionalString (obj: Record<string, unknown>, field: string): string | undefined {
  const value = obj[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`)
  return value
}

/** A positive coin amount with at most 8 decimals and a dot as separator. */
export function parseAmount (value: unknown, field = 'amount'): Fixed {
  if (isAbsent(value)) throw badRequest(`${field} is required`)
  const text = decimalText(value)
  const fixed = text === undefined || !isDecimal(text, 8) ? undefined : parseFixed(text)
  if (fixed === undefined) throw badRequest(`${field} must be a decimal number with a dot as separator and at most 8 decimals`)
  if (fixed <= 0n) throw badRequest(`${field} must be greater than zero`)
  return fixed
}

/** A percentage with at most 2 decimals (range checks are the caller's). */
export function parsePercentText (value: unknown, field: string): Fixed {
  const text = decimalText(value)
  if (text === undefined || !isDecimal(text) || fractionDigits(text) > 2) {
    throw badRequest(`${field} must be a number with at most 2 decimals`)
  }
  return parseFixed(text) as Fixed
}

/** Renders minutes as upstream's delay label ("2h 0m"). */
export function delayLabel (minutes: number): string {
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`
}

/** A delay in whole minutes (`120`, `"120"`) or as a label (`"2h 0m"`, `"2h"`, `"30m"`), at most 48 h. Absent → `fallback`. */
export function parseDelay (value: unknown, field: string, fallback = 0): number {
  if (isAbsent(value)) return fallback
  let minutes: number | undefined
  if (typeof value === 'number') {
    minutes = Number.isInteger(value) && value >= 0 ? value : undefined
  } else if (typeof value === 'string') {
    if (/^\s*\d+\s*$/.test(value)) {
      minutes = Number(value)
    } else {
      const m = DELAY_LABEL_RE.exec(value)
      if (m !== null && (m[1] !== undefined || m[2] !== undefined)) {
        minutes = Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)
      }
    }
  }
  if (minutes === undefined) throw badRequest(`${field} must be a number of minutes or a label like "2h 0m"`)
  if (minutes > MAX_DELAY_MINUTES) throw badRequest(`${field} must not exceed 48h (${MAX_DELAY_MINUTES} minutes)`)
  return minutes
}

/** The `qrcode` flag: 1/"1"/true → true; 0/"0"/false/absent → false. */
export function parseQrFlag (value: unknown): boolean {
  if (isAbsent(value) || value === 0 || value === '0' || value === false) return false
  if (value === 1 || value === '1' || value === true) return true
  throw badRequest('qrcode must be 0 or 1')
}

/**
 * A destination tag or memo. XRP tags are integers up to 2^32−1; TON memos are up to
 * 120 printable characters. Only tagged networks keep it: elsewhere it is ignored (`null`),
 * as upstream answers `destination_tag: null` for networks that need none.
 */
export function parseTag (network: string, value: unknown, field: string): string | null {
  if (isAbsent(value)) return null
  const text = typeof value === 'number' && Number.isInteger(value) ? String(value) : value
  if (typeof text !== 'string') throw badRequest(`${field} must be a string`)
  if (network === 'xrp') {
    if (!/^\d{1,10}$/.test(text) || BigInt(text) > XRP_TAG_MAX) throw badRequest(`${field} must be an XRP destination tag (integer 0 to 4294967295)`)
    return text
  }
  if (network === 'ton') {
    if (!/^[\x20-\x7e]{1,120}$/.test(text)) throw badRequest(`${field} must be a TON memo of at most 120 printable characters`)
    return text
  }
  return null
}

/** `trackcode`: required, 16 upper-case hex characters. */
export function parseTrackcode (value: unknown): string {
  if (typeof value !== 'string' || !TRACKCODE_RE.test(value)) {
    throw badRequest('trackcode is required and must be 16 upper-case hexadecimal characters')
  }
  return value
}

/** `type`: optional `mixer` | `exchange`. */
export function parseOrderType (value: unknown): OrderType | undefined {
  if (isAbsent(value)) return undefined
  if (value === 'mixer' || value === 'exchange') return value
  throw badRequest('type must be "mixer" or "exchange"')
}

/** `outputs`: optional `none` | `summary` | `full`, default `summary`. */
export function parseOutputsMode (value: unknown): OutputsMode {
  if (isAbsent(value)) return 'summary'
  if (value === 'none' || value === 'summary' || value === 'full') return value
  throw badRequest('outputs must be "none", "summary" or "full"')
}

/** A boolean flag that also takes 0/1 and "true"/"false" (as PHP clients send them). */
export function parseFlag (value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback
  if (value === true || value === 1 || value === '1' || value === 'true') return true
  if (value === false || value === 0 || value === '0' || value === 'false') return false
  throw badRequest(`${field} must be a boolean`)
}
