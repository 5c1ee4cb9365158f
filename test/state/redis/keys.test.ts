/**
 * The Redis key layout (`src/state/redis/keys.ts`): every store's keys live under the
 * link's prefix, and every one of them expires.
 */
import t from 'tap'
import { RedisBus } from '../../../src/state/bus/redis.js'
import { upstreamResultCodec } from '../../../src/state/cache/codec.js'
import { RedisCacheStore } from '../../../src/state/cache/redis.js'
import { RedisIdempotencyStore } from '../../../src/state/idempotency/redis.js'
import { RedisLeaseStore } from '../../../src/state/leases/redis.js'
import { RedisAllowances } from '../../../src/state/allowances/redis.js'
import { RedisQuota } from '../../../src/state/quota/redis.js'
import { RedisSnapshotStore } from '../../../src/state/snapshots/redis.js'
import type { UpstreamResult } from '../../../src/upstream/client.js'
import { startRedis } from '../../helpers/redis-server.js'
import { startLink } from '../../helpers/redis-link.js'
import { CODE, snapshot, snapshotMessage } from '../fixtures/samples.js'

t.test('keys: namespaced, and every one of them expires', async (t) => {
  const redis = await startRedis(t)
  const { link, prefix, log } = await startLink(t, redis)
  const leases = new RedisLeaseStore({ link, leaseTtlMs: 5000 })
  await leases.acquire(CODE, 'A', 60_000)
  await new RedisSnapshotStore({ link, mirrorTtlMs: 60_000 }).put(CODE, snapshot(1), 60_000, 0)
  await new RedisSnapshotStore({ link, mirrorTtlMs: 60_000 }).markNotFound('FFFFFFFFFFFFFFFF', 60_000)
  await new RedisCacheStore<UpstreamResult>({ link, codec: upstreamResultCodec }).set('GET /prices', { statusCode: 200, raw: Buffer.from('{}'), body: {} }, 60_000)
  await new RedisIdempotencyStore({ link }).begin('k', 'f', 60_000)
  const quota = new RedisQuota({ link, callsKey: 'quota:x:calls', pauseKey: 'quota:x:pause', limit: 10, reserve: 1, instances: 2 })
  await quota.tryAcquire('poll')
  await quota.tryAcquire('rest')
  await quota.pause(Date.now() + 60_000)
  await new RedisAllowances({ link }).take('ip:203.0.113.7', 5)
  const bus = new RedisBus({ link, channel: `${prefix}bus`, log: log.logger })
  await bus.publish(snapshotMessage(1))
  const raw = redis.client()
  const keys = await raw.keys('*')
  // lease, snap, nf, cache, idem, quota poll + rest, pause, allow
  t.equal(keys.length, 9, keys.join(', '))
  for (const key of keys) {
    t.ok(key.startsWith(prefix), `${key} is namespaced`)
    t.ok(await raw.pttl(key) > 0, `${key} expires`)
  }
  await leases.close()
})
