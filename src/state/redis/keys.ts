/**
 * The layout of trackgate's data in Redis, in one place.
 *
 * Every key is written through a client created with `keyPrefix` (`REDIS_KEY_PREFIX`,
 * default `trackgate:`), so the names below are relative to it; the pub/sub channel is
 * not a key and carries the prefix explicitly. Every key expires, except the webhooks' and the leader's term counter:
 *
 * | key                          | type       | expires                               |
 * |------------------------------|------------|---------------------------------------|
 * | `quota:<key id>:calls:<partition>` | sorted set | one window after the last call  |
 * | `allow:<caller id>`          | sorted set | one window after the caller's last call |
 * | `quota:<key id>:pause`       | string     | when upstream's pause ends (PEXPIREAT) |
 * | `lease:<trackcode>`          | string     | lease TTL, renewed by its holder      |
 * | `leader`                     | hash       | leader TTL, renewed by the leader     |
 * | `leader:term`                | string     | never: the last term given (a counter) |
 * | `interest`                   | sorted set | twice the interest TTL after the last touch |
 * | `snap:<trackcode>`           | hash       | `FINAL_CACHE_MS` after the last write |
 * | `nf:<trackcode>`             | string     | `NOT_FOUND_CACHE_MS`                  |
 * | `order:<trackcode>`          | string     | 49 h after it became known            |
 * | `idem:<sha256 of the key>`   | hash       | lock time, then `IDEMPOTENCY_TTL_MS`  |
 * | `cache:<method path?query>`  | string     | the cache TTL of the route            |
 * | `wh:*` (webhooks)            | see `src/state/webhooks/redis.ts` | never: the operator's endpoints and their deliveries |
 *
 * `<key id>` is a short hash of the upstream API key: upstream counts its quota per
 * key, so two clusters with different keys never share a count, and a rotated key
 * starts a fresh one.
 */
import { createHash } from 'node:crypto'

/** A short, non-reversible id of an API key (never the key itself). */
export function apiKeyId (apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 12)
}

/** Key names relative to the client's `keyPrefix`, and the channel name. */
export const redisKeys = {
  quotaCalls: (keyId: string): string => `quota:${keyId}:calls`,
  quotaPause: (keyId: string): string => `quota:${keyId}:pause`,
  allowance: (callerId: string): string => `allow:${callerId}`,
  lease: (trackcode: string): string => `lease:${trackcode}`,
  leader: 'leader',
  leaderTerm: 'leader:term',
  interest: 'interest',
  snapshot: (trackcode: string): string => `snap:${trackcode}`,
  notFound: (trackcode: string): string => `nf:${trackcode}`,
  order: (trackcode: string): string => `order:${trackcode}`,
  idempotency: (key: string): string => `idem:${key}`,
  cache: (key: string): string => `cache:${key}`,
  /** Pub/sub channels are not keys: `keyPrefix` does not apply, so the prefix is part of the name. */
  busChannel: (prefix: string): string => `${prefix}bus`
} as const
