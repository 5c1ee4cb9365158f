/**
 * The Redis snapshot store beyond the contract (`../snapshots.test.ts`): the same
 * answers as the in-process store, keys that expire, and the in-process mirror that
 * answers during an outage and is merged back (higher versions only).
 */
import t from 'tap'
import { RedisSnapshotStore } from '../../../src/state/snapshots/redis.js'
import { type StoredSnapshot } from '../../../src/state/snapshots/index.js'
import { MemorySnapshotStore } from '../../../src/state/snapshots/memory.js'
import { startRedis } from '../../helpers/redis-server.js'
import { startLink } from '../../helpers/redis-link.js'
import { CODE, snapshot, snapshotMessage } from '../fixtures/samples.js'
import { waitFor } from '../../helpers/wait-for.js'

t.test('snapshots: compare-and-set versions, expiry, not-found answers', async (t) => {
  const redis = await startRedis(t)
  const { link, prefix } = await startLink(t, redis)
  const other = await startLink(t, redis, prefix)
  const store = new RedisSnapshotStore({ link, mirrorTtlMs: 60_000 })
  const peer = new RedisSnapshotStore({ link: other.link, mirrorTtlMs: 60_000 })
  const memory = new MemorySnapshotStore()
  const raw = redis.client()

  t.equal(await store.get(CODE), undefined)
  // The same sequence of writes on both: same answers.
  const writes: Array<[StoredSnapshot, number]> = [[snapshot(1), 0], [snapshot(2), 0], [snapshot(2), 1], [snapshot(3), 1], [snapshot(3, 'Confirming'), 2], [snapshot(4), 3]]
  for (const [s, expected] of writes) {
    t.equal(await store.put(CODE, s, 60_000, expected), await memory.put(CODE, s, 60_000, expected), `put v${s.order.version} expecting v${expected}`)
  }
  t.same(await peer.get(CODE), await memory.get(CODE), 'another instance reads the same snapshot')
  t.equal((await peer.get(CODE))?.order.version, 4)
  const ttl = await raw.pttl(`${prefix}snap:${CODE}`)
  t.ok(ttl > 55_000 && ttl <= 60_000, 'the snapshot expires')

  // Two writers racing for version 5: exactly one wins.
  const race = await Promise.all([store.put(CODE, snapshot(5, 'Confirming'), 60_000, 4), peer.put(CODE, snapshot(5, 'Done'), 60_000, 4)])
  t.same(race.filter(Boolean).length, 1, 'one writer of version 5')

  t.equal(await peer.isNotFound('FFFFFFFFFFFFFFFF'), false)
  await store.markNotFound('FFFFFFFFFFFFFFFF', 60_000)
  t.equal(await peer.isNotFound('FFFFFFFFFFFFFFFF'), true, 'a 404 is remembered cluster-wide')
  t.ok(await raw.pttl(`${prefix}nf:FFFFFFFFFFFFFFFF`) > 0)
  await store.put(CODE, snapshot(6), 0, 5)
  t.equal(await store.get(CODE), undefined, 'a zero TTL stores nothing')
})

t.test('snapshots: the mirror answers during an outage and is merged back (higher versions only)', async (t) => {
  const redis = await startRedis(t)
  const { link, prefix } = await startLink(t, redis)
  const other = await startLink(t, redis, prefix)
  const store = new RedisSnapshotStore({ link, mirrorTtlMs: 60_000 })
  const second = new RedisSnapshotStore({ link: other.link, mirrorTtlMs: 60_000 })
  t.equal(await store.put(CODE, snapshot(1), 60_000, 0), true)
  // A version another instance published reaches the mirror through the bus.
  await store.remember(snapshotMessage(3))
  t.equal(await second.put('AAAAAAAAAAAAAAAA', snapshot(7), 60_000, 0), true)

  await redis.stop()
  await waitFor(() => !link.up && !other.link.up, 'the links to notice')
  t.equal((await store.get(CODE))?.order.version, 3, 'the latest version seen, from the mirror')
  t.equal(await store.put(CODE, snapshot(4), 60_000, 3), true, 'versions go on from there')
  t.equal(await store.put(CODE, snapshot(4), 60_000, 2), false, 'compare-and-set holds on the mirror too')
  t.equal((await second.get('AAAAAAAAAAAAAAAA'))?.order.version, 7)

  await redis.start()
  await waitFor(() => link.up && other.link.up, 'the links to rejoin')
  t.equal((await second.get(CODE))?.order.version, 4, 'the restarted Redis got the outage\'s version back')
  t.equal((await store.get('AAAAAAAAAAAAAAAA'))?.order.version, 7)
  // A lower mirrored version never overwrites a higher shared one.
  t.equal(await second.put(CODE, snapshot(5), 60_000, 4), true)
  await redis.stop()
  await waitFor(() => !link.up, 'the link to notice')
  await redis.start()
  await waitFor(() => link.up, 'the link to rejoin')
  t.equal((await second.get(CODE))?.order.version, 5, 'merge kept the higher version')
})
