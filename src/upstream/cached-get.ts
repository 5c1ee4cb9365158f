/**
 * GETs served through the short-TTL cache with request coalescing
 * (`app.upstreamCache`): a thousand browsers asking for prices cost one upstream call
 * per TTL. Only 2xx answers are kept; errors are forwarded and asked again next time.
 *
 * A hit the cache holds in process ({@link heldGet}) is answered without a promise: the
 * routes try it first and fall back to {@link cachedGet}.
 */
import type { FastifyInstance } from 'fastify'
import { remembered } from '../lib/remembered.js'
import { textOfSeconds } from '../lib/text-of-seconds.js'
import type { Payer, UpstreamResult } from './client.js'
import { forward, isSuccess, type ForwardingReply } from './forward.js'

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

/** Keys remembered at most (one per path and query asked lately). */
const KEYS_KEPT = 1000

/** The key of a GET: `GET <path>[?<query>]`, the query's names and values in the order given. */
function buildKey (path: string, pairs: string[][]): string {
  const qs = new URLSearchParams(pairs).toString()
  return `GET ${path}${qs === '' ? '' : `?${qs}`}`
}

/**
 * The key a GET's id stands for: the path, then each query name and value, joined by
 * NUL. Keys are remembered by id rather than built per request: a key built anew is
 * hashed again by every map it is looked up in, a remembered one carries its hash.
 */
const keyOfId = remembered((id: string): string => {
  const [path, ...parts] = id.split('\u0000')
  const pairs: string[][] = []
  for (let i = 0; i < parts.length; i += 2) pairs.push([parts[i] as string, parts[i + 1] as string])
  return buildKey(path as string, pairs)
}, KEYS_KEPT)

/** The cache key of a GET: its path and its (already normalized) query. */
export function cacheKey (get: CachedGet): string {
  let id = get.path
  for (const name in get.query) {
    const value = get.query[name] as string
    // NUL inside a name or value would make the id ambiguous: such a key is not remembered.
    if (name.includes('\u0000') || value.includes('\u0000')) return buildKey(get.path, Object.entries(get.query ?? {}))
    id += `\u0000${name}\u0000${value}`
  }
  return keyOfId(id)
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
 * {@link cachedGet}'s answer when the cache holds it in process, without waiting
 * (always a 2xx: nothing else is kept); `undefined`: call {@link cachedGet}.
 */
export function heldGet (app: FastifyInstance, get: CachedGet): UpstreamResult | undefined {
  return app.upstreamCache.held(cacheKey(get))
}

/** Sends an answer of {@link cachedGet} or {@link heldGet}: its caching headers, then the answer as upstream gave it. */
export function sendCached<R extends ForwardingReply> (reply: R, result: UpstreamResult, ttlMs: number): R {
  setCacheHeaders(reply, result, ttlMs)
  return forward(reply, result)
}

/**
 * Caching headers of an answer served by {@link cachedGet}: a 2xx may be kept by
 * browsers and proxies for the rest of its TTL (`Cache-Control` + `Age`); anything else
 * must not be kept.
 */
function setCacheHeaders (reply: ForwardingReply, result: UpstreamResult, ttlMs: number): void {
  if (!isSuccess(result) || ttlMs <= 0) {
    reply.header('cache-control', 'no-store')
    return
  }
  reply.header('cache-control', cacheControlOf(ttlMs))
  const at = fetchedAt.get(result)
  if (at !== undefined) reply.header('age', ageText(Math.max(0, Math.floor((Date.now() - at) / 1000))))
}

/** `Cache-Control` per number of seconds, made once each. */
const publicMaxAge = textOfSeconds((seconds) => `public, max-age=${seconds}`)

/** `Cache-Control` of an answer browsers and proxies may keep for `ttlMs`. */
export function cacheControlOf (ttlMs: number): string {
  return publicMaxAge(Math.ceil(ttlMs / 1000))
}

/** `Age` per number of seconds, made once each. */
const ageText = textOfSeconds(String)
