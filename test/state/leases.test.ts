/**
 * The lease port's contract (`src/state/leases/index.ts`), run against every backend:
 * a lease is exclusive between owners, its owner renews it (extending its term), only
 * its owner releases it, and once it expires another owner gets in. Backend-only
 * behaviour (Redis renewals, dead holders, outages) is in `redis/`. There is no SQLite
 * backend: a single gateway's leases are the in-process ones (no other instance to
 * share a poller with; a lease means nothing once its process is gone).
 */
import t, { type Test } from 'tap'
import type { LeaseStore } from '../../src/state/leases/index.js'
import { MemoryLeaseStore } from '../../src/state/leases/memory.js'
import { RedisLeaseStore } from '../../src/state/leases/redis.js'
import { startRedis } from '../helpers/redis-server.js'
import { clusterLinks } from './fixtures/redis.js'
import { CODE } from './fixtures/samples.js'
import { realTime, virtualTime, type StoreTime } from './fixtures/time.js'

const LONG = 60_000
const OTHER = 'BBBBBBBBBBBBBBBB'

/** Two handles on one store (two instances of a cluster; the same store in process), and its clock. */
interface LeaseFixture {
  stores: [LeaseStore, LeaseStore]
  time: StoreTime
}

type MakeStore = (t: Test) => Promise<LeaseFixture>

async function contract (t: Test, makeStore: MakeStore): Promise<void> {
  t.test('exclusive between owners; per trackcode', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    t.equal(await a.acquire(CODE, 'A', LONG), true, 'free: taken')
    t.equal(await b.acquire(CODE, 'B', LONG), false, 'held by A: refused')
    t.equal(await a.acquire(CODE, 'B', LONG), false, 'whichever instance asks')
    t.equal(await b.acquire(OTHER, 'B', LONG), true, 'another trackcode is free')
    t.equal(await a.acquire(OTHER, 'A', LONG), false)
  })

  t.test('only the owner releases', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.acquire(CODE, 'A', LONG)
    await b.release(CODE, 'B')
    t.equal(await b.acquire(CODE, 'B', LONG), false, 'a release by someone else is ignored')
    await a.release(CODE, 'A')
    t.equal(await b.acquire(CODE, 'B', LONG), true, 'released by its owner: free for the next one')
    await b.release(OTHER, 'B')
    t.equal(await a.acquire(CODE, 'A', LONG), false, 'releasing a lease one does not hold is harmless')
  })

  t.test('the owner renews: a renewed lease outlives its first term', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    t.equal(await a.acquire(CODE, 'A', 2000), true)
    await time.elapse(1500)
    t.equal(await a.acquire(CODE, 'A', 2000), true, 'renewed by its owner')
    await time.elapse(1500)
    t.equal(await b.acquire(CODE, 'B', LONG), false, 'still held past the first term')
  })

  t.test('an expired lease lets another owner in', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    t.equal(await a.acquire(CODE, 'A', 400), true)
    await time.lapse(400, async () => await b.acquire(CODE, 'B', LONG), 'B to take the lapsed lease')
    t.equal(await a.acquire(CODE, 'A', LONG), false, 'B holds it now')
    await a.release(CODE, 'A')
    t.equal(await a.acquire(CODE, 'A', LONG), false, 'and the former owner cannot release it')
  })
}

t.test('memory', async (t) => {
  await contract(t, async () => {
    const time = virtualTime()
    const store = new MemoryLeaseStore(time.now)
    return { stores: [store, store], time }
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t) => {
    const links = await clusterLinks(t, redis, 2)
    // Short leases kept alive by their holder for as long as it asked (see redis/leases.test.ts).
    const [a, b] = links.map(({ link }) => new RedisLeaseStore({ link, leaseTtlMs: 300 })) as [RedisLeaseStore, RedisLeaseStore]
    return { stores: [a, b], time: realTime() }
  })
})
