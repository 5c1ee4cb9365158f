/**
 * GETs served through the short-TTL cache with request coalescing
 * (`app.upstreamCache`): a thousand browsers asking for prices cost one upstream call
 * per TTL. Only 2xx answers are kept; errors are forwarded and asked again next time.
 */
import type { FastifyInstance } from 'fastify'
import type { Payer, UpstreamResult } from './client.js'
import { isSuccess, type ForwardingReply } from './forward.js'

/** When each cached answer was fetched (for `Age`); answers from a shared store may be missing. */
const fetchedAt = new WeakMap<UpstreamResult, number>()

/** One cached upstream GET. */
export interface CachedGet {
  /** Path below `/v1`, e.g. `/meta/mixer`. */
  path: string
  query?: Readonly<Record<string, string>>
  /** Send the key (and spend quota on a miss). */
  auth: boolean
  ttlMs: number
  /** Charged on a miss (the one request that loads it); a hit costs no one anything. */
  payer?: Payer
}

/** Keys of GETs with a query made lately, by path and query values (at most {@link KEYS_KEPT}). */
const queryKeys = new Map<string, string>()
const KEYS_KEPT = 1000

/**
 * Keys are remembered rather than built per request: a string built anew is hashed
 * again by every map it is looked up in (this module's, then the cache store's), while
 * a remembered one carries its hash.
 */
const pathKeys = new Map<string, string>()
/** Keys of GETs with a one-name query, by path, name and value (at most {@link KEYS_KEPT} values). */
const oneNameKeys = new Map<string, Map<string, Map<string, string>>>()
let oneNameKeysHeld = 0

/** The key of a GET without query (paths are the routes' constants: a handful). */
function pathKey (path: string): string {
  let key = pathKeys.get(path)
  if (key === undefined) {
    key = `GET ${path}`
    if (pathKeys.size < KEYS_KEPT) pathKeys.set(path, key)
  }
  return key
}

/** The key of a GET whose query has the one name `name`. */
function oneNameKey (path: string, name: string, value: string): string {
  if (oneNameKeysHeld >= KEYS_KEPT) {
    oneNameKeys.clear()
    oneNameKeysHeld = 0
  }
  let byName = oneNameKeys.get(path)
  if (byName === undefined) {
    byName = new Map()
    oneNameKeys.set(path, byName)
  }
  let byValue = byName.get(name)
  if (byValue === undefined) {
    byValue = new Map()
    byName.set(name, byValue)
  }
  let key = byValue.get(value)
  if (key === undefined) {
    const qs = new URLSearchParams({ [name]: value }).toString()
    key = `GET ${path}${qs === '' ? '' : `?${qs}`}`
    byValue.set(value, key)
    oneNameKeysHeld++
  }
  return key
}

/** The cache key of a GET: its path and its (already normalized) query. */
export function cacheKey (get: CachedGet): string {
  if (get.query === undefined) return pathKey(get.path)
  let only: string | undefined
  let names = 0
  for (const name in get.query) {
    only = name
    names++
  }
  if (names === 1) return oneNameKey(get.path, only as string, get.query[only as string] as string)
  // Names and values joined by NUL, which none of them holds (else no remembering).
  let id = get.path
  for (const name in get.query) id += `\u0000${name}\u0000${get.query[name] as string}`
  let key = queryKeys.get(id)
  if (key === undefined) {
    const qs = new URLSearchParams(get.query).toString()
    key = `GET ${get.path}${qs === '' ? '' : `?${qs}`}`
    if (id.split('\u0000').length === 2 * Object.keys(get.query).length + 1) {
      if (queryKeys.size >= KEYS_KEPT) queryKeys.clear()
      queryKeys.set(id, key)
    }
  }
  return key
}

/**
 * The upstream answer to `get`, from the cache when fresh. GETs are safe to retry.
 * Only a miss pays: concurrent misses share the first one's call (and its payer).
 */
export async function cachedGet (app: FastifyInstance, get: CachedGet): Promise<UpstreamResult> {
  return await app.upstreamCache.get(cacheKey(get), get.ttlMs, async () => {
    const result = await app.upstream.request({
      method: 'GET',
      path: get.path,
      ...(get.query === undefined ? {} : { query: get.query }),
      auth: get.auth,
      ...(get.payer === undefined ? {} : { payer: get.payer }),
      purpose: 'rest',
      retry: true
    })
    fetchedAt.set(result, Date.now())
    return result
  }, isSuccess)
}

/**
 * Caching headers of an answer served by {@link cachedGet}: a 2xx may be kept by
 * browsers and proxies for the rest of its TTL (`Cache-Control` + `Age`); anything else
 * must not be kept.
 */
export function setCacheHeaders (reply: ForwardingReply, result: UpstreamResult, ttlMs: number): void {
  if (!isSuccess(result) || ttlMs <= 0) {
    reply.header('cache-control', 'no-store')
    return
  }
  reply.header('cache-control', cacheControlOf(ttlMs))
  const at = fetchedAt.get(result)
  if (at !== undefined) reply.header('age', secondsText(Math.max(0, Math.floor((Date.now() - at) / 1000))))
}

/** `Cache-Control` of a cacheable answer per TTL (a few TTLs: one per cached route kind). */
const cacheControls = new Map<number, string>()

function cacheControlOf (ttlMs: number): string {
  let value = cacheControls.get(ttlMs)
  if (value === undefined) {
    value = `public, max-age=${Math.ceil(ttlMs / 1000)}`
    if (cacheControls.size < 16) cacheControls.set(ttlMs, value)
  }
  return value
}

/** Decimal texts of small whole numbers of seconds, made once each. */
const SECONDS_KEPT = 3600
const secondsTexts: string[] = []

function secondsText (seconds: number): string {
  let text = secondsTexts[seconds]
  if (text === undefined) {
    text = String(seconds)
    if (seconds <= SECONDS_KEPT) secondsTexts[seconds] = text
  }
  return text
}
