/**
 * How cached values become bytes for a shared or durable store (Redis, SQLite) and
 * back. The codec of upstream answers keeps `raw` byte for byte (the pass-through
 * forwards it unchanged): a one-line JSON header (`statusCode`, `retryAfter`), a line
 * feed, then the raw body; `body` is parsed again from `raw` on the way out, exactly as
 * the client parsed it.
 */
import type { UpstreamResult } from '../../upstream/client.js'

/** Turns values into bytes and back; `decode` answers `undefined` for bytes it cannot read. */
export interface CacheCodec<V> {
  encode (value: V): Buffer
  decode (bytes: Buffer): V | undefined
}

const LF = 0x0a

/** The codec of {@link UpstreamResult}s; see the module comment. */
export const upstreamResultCodec: CacheCodec<UpstreamResult> = {
  encode (value) {
    const head = JSON.stringify({ statusCode: value.statusCode, ...(value.retryAfter === undefined ? {} : { retryAfter: value.retryAfter }) })
    return Buffer.concat([Buffer.from(head, 'utf8'), Buffer.from([LF]), value.raw])
  },
  decode (bytes) {
    const at = bytes.indexOf(LF)
    if (at === -1) return undefined
    try {
      const head = JSON.parse(bytes.subarray(0, at).toString('utf8')) as { statusCode?: unknown, retryAfter?: unknown }
      const raw = Buffer.from(bytes.subarray(at + 1))
      const body: unknown = JSON.parse(raw.toString('utf8'))
      if (typeof head.statusCode !== 'number' || typeof body !== 'object' || body === null || Array.isArray(body)) return undefined
      return { statusCode: head.statusCode, raw, body: body as Record<string, unknown>, ...(typeof head.retryAfter === 'string' ? { retryAfter: head.retryAfter } : {}) }
    } catch {
      return undefined
    }
  }
}
