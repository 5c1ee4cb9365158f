/**
 * The orders port's contract (`src/state/orders/index.ts`), run against every backend:
 * a remembered order is known to every instance until its TTL passes or it is
 * forgotten; remembering again replaces the entry; trackcodes are independent.
 */
import t, { type Test } from 'tap'
import type { KnownOrder, OrderRegistry } from '../../src/state/orders/index.js'
import { MemoryOrderRegistry } from '../../src/state/orders/memory.js'
import { RedisOrderRegistry } from '../../src/state/orders/redis.js'
import { SqliteOrderRegistry } from '../../src/state/orders/sqlite.js'
import { startRedis } from '../helpers/redis-server.js'
import { clusterLinks } from './fixtures/redis.js'
import { sqliteConnections } from './fixtures/sqlite.js'
import { realTime, virtualTime, type StoreTime } from './fixtures/time.js'

const LONG = 60_000
const SHORT = 300
const A = 'AAAAAAAAAAAAAAAA'
const B = 'BBBBBBBBBBBBBBBB'

const created: KnownOrder = { source: 'created', by: 'ip:203.0.113.7', since: 1_700_000_000_000 }
const registered: KnownOrder = { source: 'registered', by: 'token:shop', since: 1_700_000_060_000 }

interface OrdersFixture {
  /** Two handles on one registry (two instances of a cluster; the same store in process). */
  stores: [OrderRegistry, OrderRegistry]
  time: StoreTime
}

type MakeStore = (t: Test) => Promise<OrdersFixture>

async function contract (t: Test, makeStore: MakeStore): Promise<void> {
  t.test('a remembered order is known to every instance, as it was remembered', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    t.equal(await b.get(A), undefined, 'unknown before')
    await a.remember(A, created, LONG)
    t.same(await b.get(A), created)
    t.same(await a.get(A), created)
    t.equal(await b.get(B), undefined, 'other trackcodes stay unknown')
  })

  t.test('remembering again replaces the entry', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.remember(A, created, LONG)
    await b.remember(A, registered, LONG)
    t.same(await a.get(A), registered)
  })

  t.test('a forgotten order is unknown everywhere; the others stay', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.remember(A, created, LONG)
    await a.remember(B, registered, LONG)
    await b.forget(A)
    t.equal(await a.get(A), undefined)
    t.equal(await b.get(A), undefined)
    t.same(await a.get(B), registered)
    await b.forget(A)
    t.equal(await a.get(A), undefined, 'forgetting twice is harmless')
  })

  t.test('an entry expires after its TTL', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    await a.remember(A, created, SHORT)
    await a.remember(B, registered, LONG)
    await time.lapse(SHORT, async () => await b.get(A) === undefined, 'the entry to expire')
    t.same(await b.get(B), registered, 'a longer TTL keeps its entry')
  })

  t.test('a zero TTL remembers nothing', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.remember(A, created, 0)
    t.equal(await b.get(A), undefined)
  })

  t.test('a returned entry is a copy: changing it changes nothing stored', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.remember(A, created, LONG)
    const got = await b.get(A)
    if (got !== undefined) got.by = 'ip:198.51.100.1'
    t.same(await b.get(A), created)
  })

  t.test('list gives every known order, to every instance, without the forgotten or expired ones', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    t.same(await b.list(), [], 'nothing known yet')
    await a.remember(A, created, LONG)
    await a.remember(B, registered, SHORT)
    const sorted = async (): Promise<Array<[string, KnownOrder]>> => (await b.list()).sort(([x], [y]) => x.localeCompare(y))
    t.same(await sorted(), [[A, created], [B, registered]])
    await time.lapse(SHORT, async () => (await b.list()).length === 1, 'the short entry to expire')
    t.same(await sorted(), [[A, created]])
    await b.forget(A)
    t.same(await a.list(), [], 'forgotten')
  })
}

t.test('memory', async (t) => {
  await contract(t, async () => {
    const time = virtualTime()
    const store = new MemoryOrderRegistry({ now: time.now })
    return { stores: [store, store], time }
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t) => {
    const links = await clusterLinks(t, redis, 2)
    const [a, b] = links.map(({ link }) => new RedisOrderRegistry({ link })) as [RedisOrderRegistry, RedisOrderRegistry]
    return { stores: [a, b], time: realTime() }
  })
})

t.test('sqlite', async (t) => {
  await contract(t, async (t) => {
    const time = virtualTime()
    const [a, b] = (await sqliteConnections(t, 2)).map((db) => new SqliteOrderRegistry({ db, now: time.now })) as [SqliteOrderRegistry, SqliteOrderRegistry]
    return { stores: [a, b], time }
  })
})
