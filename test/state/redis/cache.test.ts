/**
 * The Redis cache beyond the contract (`../cache.test.ts`): the TTL as Redis' key
 * expiry, unreadable entries, and the in-process twin that answers during an outage.
 */
import t from 'tap'
import { upstreamResultCodec } from '../../../src/state/cache/codec.js'
import { RedisCacheStore } from '../../../src/state/cache/redis.js'
import type { UpstreamResult } from '../../../src/upstream/client.js'
import { startRedis } from '../../helpers/redis-server.js'
import { startLink } from '../../helpers/redis-link.js'
import { waitFor } from '../../helpers/wait-for.js'

t.test('cache: upstream answers byte for byte, with their TTL, and a local twin for outages', async (t) => {
  const redis = await startRedis(t)
  const a = await startLink(t, redis)
  const b = await startLink(t, redis, a.prefix)
  const ca = new RedisCacheStore<UpstreamResult>({ link: a.link, codec: upstreamResultCodec })
  const cb = new RedisCacheStore<UpstreamResult>({ link: b.link, codec: upstreamResultCodec })
  // Odd spacing, unicode and an escaped line feed: only the exact bytes will do.
  const raw = Buffer.from('{ "ok":true,\n  "symbol" : "₿", "note":"a\\nb" ,"n":1.50}', 'utf8')
  const value: UpstreamResult = { statusCode: 200, raw, body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, retryAfter: '7' }
  t.equal(await cb.get('GET /meta/mixer'), undefined)
  await ca.set('GET /meta/mixer', value, 60_000)
  const hit = await cb.get('GET /meta/mixer')
  t.ok(hit?.raw.equals(raw), 'raw bytes unchanged')
  t.same(hit, value, 'status, parsed body and Retry-After too')
  const ttl = await redis.client().pttl(`${a.prefix}cache:GET /meta/mixer`)
  t.ok(ttl > 55_000 && ttl <= 60_000, 'expires with the route\'s TTL')
  await ca.set('GET /prices', value, 0)
  t.equal(await cb.get('GET /prices'), undefined, 'a zero TTL caches nothing')
  await redis.client().set(`${a.prefix}cache:GET /bad`, 'garbage')
  t.equal(await cb.get('GET /bad'), undefined, 'unreadable entries are misses')

  await redis.stop()
  await waitFor(() => !a.link.up && !b.link.up, 'the links to notice')
  t.same(await ca.get('GET /meta/mixer'), value, 'the writer still has it during the outage')
  t.equal(await cb.get('GET /meta/mixer'), undefined, 'the other instance misses (and asks upstream)')
})
