/**
 * A mixer amount against the coin/network `min`–`max` of `/v1/meta/mixer`
 * (`AMOUNT_TOO_LOW` / `AMOUNT_TOO_HIGH`, as upstream answers).
 *
 * The meta is read through the gateway's short-TTL cache (shared with
 * `GET /v1/meta/mixer`). When it cannot be had (upstream down, quota spent, a shape we
 * do not know, a coin or network it does not list) the check is skipped and upstream
 * judges the order: a pre-check exists to save quota, never to block creation.
 */
import { GatewayError } from '../../errors.js'
import { parseFixed, type Fixed } from '../../lib/decimal.js'
import { decimalLiteral } from './decimal-input.js'

/** The limits of one coin/network, exact and as upstream wrote them. */
export interface MixerLimits {
  min: Fixed
  max: Fixed
  minText: string
  maxText: string
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `record[key]`, matching the key case-insensitively (meta tickers are upper case, networks lower case). */
function pick (record: Record<string, unknown>, key: string): unknown {
  if (Object.hasOwn(record, key)) return record[key]
  const wanted = key.toLowerCase()
  for (const k of Object.keys(record)) if (k.toLowerCase() === wanted) return record[k]
  return undefined
}

/** The limits of `crypto`/`network` in a `/v1/meta/mixer` body; `undefined` when it does not say. */
export function findMixerLimits (meta: unknown, crypto: string, network: string): MixerLimits | undefined {
  if (!isRecord(meta) || !isRecord(meta.mixer)) return undefined
  const coin = pick(meta.mixer, crypto)
  if (!isRecord(coin) || !isRecord(coin.networks)) return undefined
  const net = pick(coin.networks, network)
  if (!isRecord(net)) return undefined
  const minText = decimalLiteral(net.min)
  const maxText = decimalLiteral(net.max)
  const min = minText === undefined ? undefined : parseFixed(minText)
  const max = maxText === undefined ? undefined : parseFixed(maxText)
  if (min === undefined || max === undefined || minText === undefined || maxText === undefined) return undefined
  return { min, max, minText, maxText }
}

/** Throws 400 AMOUNT_TOO_LOW / AMOUNT_TOO_HIGH when `amount` lies outside `limits`. */
export function checkMixerAmount (limits: MixerLimits, amount: Fixed, crypto: string, network: string): void {
  const where = `${crypto.toUpperCase()} on ${network.toLowerCase()}`
  if (amount < limits.min) {
    throw new GatewayError(400, 'AMOUNT_TOO_LOW', `amount is below the minimum of ${limits.minText} ${where}`)
  }
  if (amount > limits.max) {
    throw new GatewayError(400, 'AMOUNT_TOO_HIGH', `amount is above the maximum of ${limits.maxText} ${where}`)
  }
}
