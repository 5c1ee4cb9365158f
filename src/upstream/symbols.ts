/**
 * The canonical `symbols` list of `GET /v1/prices`: split on commas, trimmed,
 * upper-cased, deduplicated, sorted, and stripped of the tickers upstream does not
 * price (the keys of `prices_usd` in the cached `/v1/meta/exchange`). Every spelling
 * of one set of supported tickers is then one cache entry and one upstream call per
 * TTL, and a list of nothing but unknown tickers is answered without any call.
 *
 * The cached exchange meta is the same object while it stays cached, so its set of
 * tickers, and the canonical form of each list asked against it, are worked out once
 * per cached answer instead of on every request.
 */
import type { FastifyInstance } from 'fastify'
import { cachedGet, heldGet, type CachedGet } from './cached-get.js'
import type { Payer, UpstreamResult } from './client.js'
import { isSuccess } from './forward.js'
import { remembered } from '../lib/remembered.js'

/** The upstream path of the exchange configuration, whose `prices_usd` names the supported tickers. */
export const EXCHANGE_META_PATH = '/meta/exchange'

/** The tickers of a `symbols` list, upper case, unique, sorted; `[]` when it names none. */
export function parseSymbols (symbols: string): string[] {
  return [...new Set(symbols.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== ''))].sort()
}

const LISTS_KEPT = 1000

/** {@link parseSymbols}, remembered for the lists asked lately (at most {@link LISTS_KEPT}); never changed by their users. */
const parsedSymbols = remembered<readonly string[]>(parseSymbols, LISTS_KEPT)

/** The supported tickers of each exchange meta answer seen (`null`: it names none). */
const tickersOf = new WeakMap<UpstreamResult, Set<string> | null>()
/** Per set of supported tickers, the canonical form of the lists asked lately (at most {@link LISTS_KEPT}). */
const canonicalOf = new WeakMap<Set<string>, (symbols: string) => string>()

/** The tickers an exchange meta answer prices; `null` when it says nothing usable. */
function tickersIn (meta: UpstreamResult): Set<string> | null {
  let tickers = tickersOf.get(meta)
  if (tickers === undefined) {
    const exchange = isSuccess(meta) ? meta.body.exchange : undefined
    const prices = typeof exchange === 'object' && exchange !== null ? (exchange as Record<string, unknown>).prices_usd : undefined
    tickers = typeof prices !== 'object' || prices === null ? null : new Set(Object.keys(prices).map((k) => k.toUpperCase()))
    tickersOf.set(meta, tickers)
  }
  return tickers
}

/** The cached GET of the exchange meta. */
function exchangeMeta (app: FastifyInstance, payer?: Payer): CachedGet {
  return { path: EXCHANGE_META_PATH, auth: true, ttlMs: app.config.metaCacheTtlMs, ...(payer === undefined ? {} : { payer }) }
}

/** The tickers upstream prices, from the cached exchange meta; `undefined` when it cannot be had. */
async function supportedTickers (app: FastifyInstance, payer: Payer | undefined): Promise<Set<string> | undefined> {
  try {
    const meta = await cachedGet(app, exchangeMeta(app, payer))
    return tickersIn(meta) ?? undefined
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
  const tickers = parsedSymbols(symbols)
  if (tickers.length === 0) return undefined
  const supported = await supportedTickers(app, payer)
  return supported === undefined ? tickers.join(',') : canonicalAgainst(symbols, supported)
}

/**
 * {@link canonicalSymbols} without waiting: `{ symbols }` when the answer needs no
 * exchange meta or the cache holds it in process; `undefined`: call {@link canonicalSymbols}.
 */
export function heldCanonicalSymbols (app: FastifyInstance, symbols: string | undefined): { symbols: string | undefined } | undefined {
  if (symbols === undefined) return { symbols }
  const tickers = parsedSymbols(symbols)
  if (tickers.length === 0) return { symbols: undefined }
  const meta = heldGet(app, exchangeMeta(app))
  const supported = meta === undefined ? null : tickersIn(meta)
  return supported === null ? undefined : { symbols: canonicalAgainst(symbols, supported) }
}

/** The supported tickers of the list `symbols`, joined by commas; remembered per set of supported tickers. */
function canonicalAgainst (symbols: string, supported: Set<string>): string {
  let canonical = canonicalOf.get(supported)
  if (canonical === undefined) {
    canonical = remembered((list) => parsedSymbols(list).filter((s) => supported.has(s)).join(','), LISTS_KEPT)
    canonicalOf.set(supported, canonical)
  }
  return canonical(symbols)
}
