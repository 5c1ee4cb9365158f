/**
 * Output delays: whole minutes (`120`, `"120"`) or a label (`"2h 0m"`, `"2h"`, `"30m"`),
 * at most 48 h = 2880 minutes.
 */
import { badRequest } from '../../errors.js'
import { MAX_DELAY_MINUTES } from '../schemas/mixer-order.js'

const MINUTES_RE = /^\d{1,6}$/
const LABEL_RE = /^(?:(\d{1,4})h)? ?(?:(\d{1,5})m)?$/

/** The delay in minutes. Throws 400 BAD_REQUEST naming `field` when malformed or over 48 h. */
export function parseDelayMinutes (value: unknown, field: string): number {
  let minutes: number | undefined
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0) minutes = value
  } else if (typeof value === 'string') {
    if (MINUTES_RE.test(value)) {
      minutes = Number(value)
    } else {
      const m = LABEL_RE.exec(value)
      if (m !== null && (m[1] !== undefined || m[2] !== undefined)) minutes = Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)
    }
  }
  if (minutes === undefined) throw badRequest(`${field} must be a number of minutes or a label like "2h 0m"`)
  if (minutes > MAX_DELAY_MINUTES) throw badRequest(`${field} must be at most 48h (${MAX_DELAY_MINUTES} minutes), got ${minutes} minutes`)
  return minutes
}
