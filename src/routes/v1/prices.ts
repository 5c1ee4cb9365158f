/**
 * `GET /v1/prices?symbols=`: USD prices, forwarded unchanged and served from the
 * short-TTL cache (`PRICES_CACHE_TTL_MS`) keyed by the normalized symbol list
 * (`eth, btc,ETH` → `BTC,ETH`), so every spelling of one list shares one entry.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, UPSTREAM_ERRORS } from '../../upstream/schemas/common.js'
import { PricesQuery, PricesResponse } from '../../upstream/schemas/prices.js'
import { cachedGet, setCacheHeaders } from '../../upstream/cached-get.js'
import { forward } from '../../upstream/forward.js'
import { CACHE_HEADERS } from '../../openapi/response-headers.js'

/**
 * The canonical form of a `symbols` list: upper case, trimmed, without duplicates,
 * sorted. Empty → `undefined` (every price).
 */
export function normalizeSymbols (symbols: string | undefined): string | undefined {
  if (symbols === undefined) return undefined
  const tickers = [...new Set(symbols.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== ''))].sort()
  return tickers.length === 0 ? undefined : tickers.join(',')
}

const pricesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/prices', {
    schema: {
      operationId: 'getPrices',
      summary: 'USD prices',
      description: 'Current USD prices of the listed tickers (all when `symbols` is omitted or empty); unsupported tickers are left out. Served from the gateway\'s cache for `PRICES_CACHE_TTL_MS`, keyed by the normalized list (upper case, sorted, deduplicated; that list is what upstream is asked); only successful answers are cached. Forwarded unchanged.',
      tags: ['Catalog'],
      querystring: PricesQuery,
      response: { 200: { ...PricesResponse, headers: CACHE_HEADERS }, ...errorResponses([400, ...UPSTREAM_ERRORS], { examples: { 400: [{ ok: false, code: 'BAD_REQUEST', message: 'symbols must be a comma-separated list of tickers (letters and digits, at most 256 characters), e.g. BTC,ETH' }] } }) }
    }
  }, async (request, reply) => {
    const symbols = normalizeSymbols(request.query.symbols)
    const ttlMs = app.config.pricesCacheTtlMs
    const result = await cachedGet(app, { path: '/prices', auth: true, ttlMs, ...(symbols === undefined ? {} : { query: { symbols } }) })
    setCacheHeaders(reply, result, ttlMs)
    return forward(reply, result)
  })
}

export default pricesRoutes
