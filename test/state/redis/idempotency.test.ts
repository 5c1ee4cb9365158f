/**
 * The Redis idempotency store beyond the contract (`../idempotency.test.ts`): lock
 * and replay TTLs as Redis key expiry, and answers completed during an outage written
 * back on rejoin.
 */
import t from 'tap'
import { RedisIdempotencyStore } from '../../../src/state/idempotency/redis.js'
import { startRedis } from '../../helpers/redis-server.js'
import { startLink } from '../../helpers/redis-link.js'
import { waitFor } from '../../helpers/wait-for.js'

t.test('idempotency: shared claims and answers, binary-safe; outage answers written back', async (t) => {
  const redis = await startRedis(t)
  const a = await startLink(t, redis)
  const b = await startLink(t, redis, a.prefix)
  const sa = new RedisIdempotencyStore({ link: a.link })
  const sb = new RedisIdempotencyStore({ link: b.link })
  const body = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x0a, 0x7d])
  const response = { statusCode: 201, contentType: 'application/json; charset=utf-8', body }

  t.same(await sa.begin('k1', 'f1', 60_000), { state: 'new' })
  t.same(await sb.begin('k1', 'f1', 60_000), { state: 'running' }, 'claimed cluster-wide')
  t.same(await sb.begin('k1', 'f2', 60_000), { state: 'mismatch' })
  const lock = await redis.client().pttl(`${a.prefix}idem:k1`)
  t.ok(lock > 0 && lock <= 60_000, 'a claim lapses after the lock time')
  await sa.complete('k1', 'f1', response, 3_600_000)
  const replay = await sb.begin('k1', 'f1', 60_000)
  t.same(replay, { state: 'done', response }, 'the other instance replays the answer')
  if (replay.state === 'done') t.ok(replay.response.body.equals(body), 'byte for byte')
  t.ok(await redis.client().pttl(`${a.prefix}idem:k1`) > 3_500_000, 'kept for the replay TTL')

  t.same(await sa.begin('k2', 'f', 60_000), { state: 'new' })
  await sa.abandon('k2')
  t.same(await sb.begin('k2', 'f', 60_000), { state: 'new' }, 'an abandoned key can be used again')
  await sb.complete('k2', 'f', response, 3_600_000)
  await sa.abandon('k2')
  t.same((await sa.begin('k2', 'f', 60_000)).state, 'done', 'abandon never drops an answer')

  // Claimed before the outage, answered during it: written back on rejoin.
  t.same(await sa.begin('k3', 'f', 60_000), { state: 'new' })
  await redis.stop('SIGTERM')
  await waitFor(() => !a.link.up, 'the link to notice')
  await sa.complete('k3', 'f', response, 3_600_000)
  t.same((await sa.begin('k3', 'f', 60_000)).state, 'done', 'this instance replays it during the outage')
  await redis.start()
  await waitFor(() => a.link.up && b.link.up, 'the links to rejoin')
  t.same(await sb.begin('k3', 'f', 60_000), { state: 'done', response }, 'the outage\'s answer reached Redis')
})
