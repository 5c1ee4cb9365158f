/**
 * The Redis allowances beyond the contract (`../allowances.test.ts`): a sorted set per
 * caller that expires, the in-process count during an outage, and the calls of the
 * outage added to Redis when it is back.
 */
import t from 'tap'
import { RedisAllowances } from '../../../src/state/allowances/redis.js'
import { startRedis } from '../../helpers/redis-server.js'
import { startLink } from '../../helpers/redis-link.js'
import { waitFor } from '../../helpers/wait-for.js'

t.test('allowances: one expiring key per caller, counted in-process during an outage, written back on rejoin', async (t) => {
  const redis = await startRedis(t)
  const { link, prefix } = await startLink(t, redis)
  const store = new RedisAllowances({ link })
  for (let i = 0; i < 2; i++) t.same(await store.take('ip:198.51.100.9', 5), { granted: true })
  t.equal(await redis.client().zcard(`${prefix}allow:ip:198.51.100.9`), 2)
  const ttl = await redis.client().pttl(`${prefix}allow:ip:198.51.100.9`)
  t.ok(ttl > 23 * 3_600_000, 'the key expires a window after the last call')

  await redis.stop()
  await waitFor(() => !link.up, 'the link to notice')
  const during = []
  for (let i = 0; i < 6; i++) during.push((await store.take('ip:198.51.100.9', 5)).granted)
  t.same(during, [true, true, true, true, true, false], 'the instance counts on its own: the full allowance, then refusals')
  t.equal(await store.used('ip:198.51.100.9'), 5)
  t.ok((link.health().fallbacks.allowances ?? 0) >= 7)

  // Redis restarts empty: what the instance granted meanwhile is added back.
  await redis.start()
  await waitFor(() => link.up, 'the link to rejoin')
  t.equal(await store.used('ip:198.51.100.9'), 5, 'the outage\'s calls count in Redis')
  t.equal((await store.take('ip:198.51.100.9', 5)).granted, false)
})
