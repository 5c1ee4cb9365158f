/**
 * Whether upstream answers, for `/readyz`: an unauthenticated `GET /v1/ping`, which
 * costs no quota, its result reused for a few seconds so that frequent probes never
 * reach upstream more than once per interval (concurrent probes share one ping).
 */
import type { FastifyInstance } from 'fastify'
import { GatewayError } from '../errors.js'

/** How long one upstream reachability result is reused. */
export const PING_CACHE_MS = 5000
/** Longest wait for upstream's ping. */
export const PING_TIMEOUT_MS = 2000

export interface UpstreamCheck {
  ok: boolean
  /** Why not, when not. */
  reason?: string
  checkedAt: number
}

/** A function answering the latest reachability of `app.upstream`, pinging when stale. */
export function upstreamReachability (app: FastifyInstance): () => Promise<UpstreamCheck> {
  let last: UpstreamCheck | undefined
  let pending: Promise<UpstreamCheck> | undefined

  const pingUpstream = async (): Promise<UpstreamCheck> => {
    try {
      const res = await app.upstream.request({
        method: 'GET',
        path: '/ping',
        auth: false,
        purpose: 'rest',
        retry: false,
        signal: AbortSignal.timeout(Math.min(PING_TIMEOUT_MS, app.config.upstreamTimeoutMs))
      })
      if (res.statusCode === 200 && res.body.ok === true) return { ok: true, checkedAt: Date.now() }
      return { ok: false, reason: `ping answered HTTP ${res.statusCode}`, checkedAt: Date.now() }
    } catch (err) {
      return { ok: false, reason: err instanceof GatewayError ? err.code : 'UPSTREAM_UNAVAILABLE', checkedAt: Date.now() }
    }
  }

  const upstreamCheck = async (): Promise<UpstreamCheck> => {
    if (last !== undefined && Date.now() - last.checkedAt < PING_CACHE_MS) return last
    pending ??= pingUpstream().then((result) => {
      last = result
      return result
    }).finally(() => { pending = undefined })
    return await pending
  }

  return upstreamCheck
}
