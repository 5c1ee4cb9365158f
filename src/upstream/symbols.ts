/**
 * The canonical `symbols` list of `GET /v1/prices`: split on commas, trimmed,
 * upper-cased, deduplicated, sorted, and stripped of the tickers upstream does not
 * price (the keys of `prices_usd` in the cached `/v1/meta/exchange`). Every spelling
 * of one set of supported tickers is then one cache entry and one upstream call per
 * TTL, and a list of nothing but unknown tickers is answered without any call.
 */
import type { FastifyInstance } from 'fastify'
import { cachedGet } from './cached-get.js'
import type { Payer } from './client.js'
import { isSuccess } from './forward.js'

/** The upstream path of the exchange configuration, whose `prices_usd` names the supported tickers. */
export const EXCHANGE_META_PATH = '/meta/exchange'

/** The tickers of a `symbols` list, upper case, unique, sorted; `[]` when it names none. */
export function parseSymbols (symbols: string): string[] {
  return [...new Set(symbols.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== ''))].sort()
}

/** The tickers upstream prices, from the cached exchange meta; `undefined` when it cannot be had. */
async function supportedTickers (app: FastifyInstance, payer: Payer | undefined): Promise<Set<string> | undefined> {
  try {
    const meta = await cachedGet(app, { path: EXCHANGE_META_PATH, auth: true, ttlMs: app.config.metaCacheTtlMs, ...(payer === undefined ? {} : { payer }) })
    if (!isSuccess(meta)) return undefined
    const exchange = meta.body.exchange
    const prices = typeof exchange === 'object' && exchange !== null ? (exchange as Record<string, unknown>).prices_usd : undefined
    if (typeof prices !== 'object' || prices === null) return undefined
    return new Set(Object.keys(prices).map((k) => k.toUpperCase()))
  } catch (err) {
    app.log.debug({ err }, 'exchange meta unavailable: symbols kept as normalized')
    return undefined
  }
}

/**
 * The canonical form of `symbols`: `undefined` when it names no ticker at all (every
 * price), else the supported tickers joined by commas — `''` when none of them is
 * supported. When the exchange meta cannot be had, the list is kept as normalized.
 */
export async function canonicalSymbols (app: FastifyInstance, symbols: string | undefined, payer?: Payer): Promise<string | undefined> {
  if (symbols === undefined) return undefined
  const tickers = parseSymbols(symbols)
  if (tickers.length === 0) return undefined
  const supported = await supportedTickers(app, payer)
  return (supported === undefined ? tickers : tickers.filter((s) => supported.has(s))).join(',')
}
