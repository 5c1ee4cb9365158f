/**
 * `GET /v1/prices?symbols=`: USD prices, forwarded unchanged and served from the
 * short-TTL cache (`PRICES_CACHE_TTL_MS`) keyed by the canonical symbol list
 * (`eth, btc,ETH,NOPE` → `BTC,ETH`: see `src/upstream/symbols.ts`), so every spelling of
 * one set of supported tickers shares one entry. A list of only unsupported tickers is
 * answered here, with no prices and no upstream call. A miss is charged to the caller.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, UPSTREAM_ERRORS } from '../../upstream/schemas/common.js'
import { PricesQuery, PricesResponse } from '../../upstream/schemas/prices.js'
import { cacheControlOf, cachedGet, heldGet, sendCached, type CachedGet } from '../../upstream/cached-get.js'
import { CACHE_HEADERS } from '../../openapi/response-headers.js'
import { canonicalSymbols, heldCanonicalSymbols } from '../../upstream/symbols.js'
import { payerOf } from '../../access/payer.js'

/** The cached upstream GET of the prices of `symbols` (canonical; `undefined`: every price). */
function pricesGet (symbols: string | undefined, ttlMs: number): CachedGet {
  return { path: '/prices', auth: true, ttlMs, ...(symbols === undefined ? {} : { query: { symbols } }) }
}

const pricesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/prices', {
    schema: {
      operationId: 'getPrices',
      summary: 'USD prices',
      description: 'Current USD prices of the listed tickers (all when `symbols` is omitted or empty); unsupported tickers are left out. The list is normalized first (upper case, deduplicated, sorted, tickers missing from `/v1/meta/exchange`\'s `prices_usd` dropped): that list is what upstream is asked and what the gateway\'s cache (`PRICES_CACHE_TTL_MS`) is keyed by; a list of only unsupported tickers is answered by the gateway with empty `prices`, without asking upstream. Only successful answers are cached; a miss costs one call of the caller\'s daily allowance. Forwarded unchanged.',
      tags: ['Catalog'],
      querystring: PricesQuery,
      response: { 200: { ...PricesResponse, headers: CACHE_HEADERS }, ...errorResponses([400, ...UPSTREAM_ERRORS], { examples: { 400: [{ ok: false, code: 'BAD_REQUEST', message: 'symbols must be a comma-separated list of tickers (letters and digits, at most 256 characters), e.g. BTC,ETH' }] } }) }
    }
  }, (request, reply) => {
    const ttlMs = app.config.pricesCacheTtlMs
    // A hit held in process (the exchange meta for the list, then the prices) is sent
    // without a promise; anything else waits for the cache.
    const canonical = heldCanonicalSymbols(app, request.query.symbols)
    const held = canonical === undefined || canonical.symbols === '' ? undefined : heldGet(app, pricesGet(canonical.symbols, ttlMs))
    if (held !== undefined) {
      sendCached(reply, held, ttlMs)
      return
    }
    return (async () => {
      const payer = payerOf(request.caller, app.config)
      const symbols = await canonicalSymbols(app, request.query.symbols, payer)
      if (symbols === '') {
        reply.header('cache-control', cacheControlOf(ttlMs))
        return { ok: true as const, base: 'USD', ts: Math.floor(Date.now() / 1000), prices: {} }
      }
      return sendCached(reply, await cachedGet(app, { ...pricesGet(symbols, ttlMs), payer }), ttlMs)
    })()
  })
}

export default pricesRoutes
