/**
 * `GET /v1/meta`, `/v1/meta/mixer`, `/v1/meta/exchange`: forwarded unchanged and served
 * from the short-TTL cache (`META_CACHE_TTL_MS`), so browsers reading the configuration
 * cost one upstream call per TTL. `/v1/meta` needs no key upstream; the other two do.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { TSchema } from 'typebox'
import { errorResponses, NO_AUTH_UPSTREAM_ERRORS, UPSTREAM_ERRORS } from '../../upstream/schemas/common.js'
import { ExchangeMetaResponse, MetaResponse, MixerMetaResponse } from '../../upstream/schemas/meta.js'
import { cachedGet, heldGet, sendCached } from '../../upstream/cached-get.js'
import { CACHE_HEADERS } from '../../openapi/response-headers.js'
import { payerOf } from '../../access/payer.js'

/** The upstream path of the mixer configuration (also read by the mixer order pre-check). */
export const MIXER_META_PATH = '/meta/mixer'

interface MetaRoute {
  path: string
  auth: boolean
  operationId: string
  summary: string
  description: string
  response: TSchema
}

const CACHE_NOTE = 'Served from the gateway\'s cache for `META_CACHE_TTL_MS` (concurrent misses share one upstream call); only successful answers are cached. Forwarded unchanged.'

const ROUTES: readonly MetaRoute[] = [
  {
    path: '/meta',
    auth: false,
    operationId: 'getMeta',
    summary: 'Describe the API',
    description: `Upstream's version, server time, documentation link and endpoint list. Upstream needs no key for it, so it costs no quota. ${CACHE_NOTE}`,
    response: MetaResponse
  },
  {
    path: MIXER_META_PATH,
    auth: true,
    operationId: 'getMixerMeta',
    summary: 'Mixer configuration per coin',
    description: `Per coin: default service fee (percent), fee per output, confirmations and, per network, the min/max order amount. ${CACHE_NOTE}`,
    response: MixerMetaResponse
  },
  {
    path: '/meta/exchange',
    auth: true,
    operationId: 'getExchangeMeta',
    summary: 'Exchange configuration',
    description: `Live USD prices and, per destination network, the USD limits and default fee. ${CACHE_NOTE}`,
    response: ExchangeMetaResponse
  }
]

const metaRoutes: FastifyPluginAsyncTypebox = async (app) => {
  for (const route of ROUTES) {
    app.get(route.path, {
      schema: {
        operationId: route.operationId,
        summary: route.summary,
        description: route.description,
        tags: ['Catalog'],
        response: { 200: { ...route.response, headers: CACHE_HEADERS }, ...errorResponses(route.auth ? UPSTREAM_ERRORS : NO_AUTH_UPSTREAM_ERRORS) }
      }
    }, (request, reply) => {
      const ttlMs = app.config.metaCacheTtlMs
      const get = { path: route.path, auth: route.auth, ttlMs }
      // A hit held in process is sent without a promise; anything else waits for the cache.
      const held = heldGet(app, get)
      if (held !== undefined) {
        sendCached(reply, held, ttlMs)
        return
      }
      return cachedGet(app, { ...get, payer: payerOf(request.caller, app.config) }).then((result) => sendCached(reply, result, ttlMs))
    })
  }
}

export default metaRoutes
