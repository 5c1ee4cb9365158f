/**
 * The allowances port's contract (`src/state/allowances/index.ts`), run against every
 * backend: a caller gets `limit` calls per rolling window and no more, also across
 * instances and under concurrency; callers are independent; a refusal says when a call
 * frees; `used` counts the window. Backend-only behaviour is beside it (`redis/`). On
 * SQLite the two handles are two connections to one file (before and after a restart).
 */
import t, { type Test } from 'tap'
import type { AllowanceStore } from '../../src/state/allowances/index.js'
import { MemoryAllowances } from '../../src/state/allowances/memory.js'
import { RedisAllowances } from '../../src/state/allowances/redis.js'
import { SqliteAllowances } from '../../src/state/allowances/sqlite.js'
import { startRedis } from '../helpers/redis-server.js'
import { clusterLinks } from './fixtures/redis.js'
import { sqliteConnections } from './fixtures/sqlite.js'
import { virtualTime, type StoreTime } from './fixtures/time.js'

const WINDOW = 60_000
const ALICE = 'ip:203.0.113.7'
const BOB = 'token:shop-backend'

interface AllowancesFixture {
  /** Two handles on one store (two instances of a cluster; the same store in process). */
  stores: [AllowanceStore, AllowanceStore]
  time: StoreTime
}

type MakeStore = (t: Test) => Promise<AllowancesFixture>

async function contract (t: Test, makeStore: MakeStore): Promise<void> {
  t.test('a caller gets its limit per window, on every instance together', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    const start = time.now()
    t.equal(await a.used(ALICE), 0)
    for (let i = 0; i < 3; i++) t.same(await (i % 2 === 0 ? a : b).take(ALICE, 3), { granted: true }, `call ${i + 1}`)
    t.same(await b.take(ALICE, 3), { granted: false, retryAt: start + WINDOW }, 'the fourth is refused until the first leaves')
    t.equal(await a.used(ALICE), 3, 'refusals are not counted')
    t.same(await a.take(BOB, 1), { granted: true }, 'another caller is independent')
    t.equal(await b.used(BOB), 1)
  })

  t.test('the window rolls', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    const start = time.now()
    await a.take(ALICE, 2)
    await time.elapse(100)
    await a.take(ALICE, 2)
    t.same(await b.take(ALICE, 2), { granted: false, retryAt: start + WINDOW })
    await time.elapse(WINDOW - 100)
    t.same(await b.take(ALICE, 2), { granted: true }, 'the first call left the window')
    t.same(await b.take(ALICE, 2), { granted: false, retryAt: start + 100 + WINDOW })
    t.equal(await a.used(ALICE), 2)
  })

  t.test('a lower limit than what was used refuses until enough calls left', async (t) => {
    const { stores: [a], time } = await makeStore(t)
    const start = time.now()
    for (let i = 0; i < 4; i++) {
      await a.take(ALICE, 10)
      await time.elapse(10)
    }
    t.same(await a.take(ALICE, 2), { granted: false, retryAt: start + 20 + WINDOW }, 'when the third-newest call leaves')
    t.equal((await a.take(ALICE, 0)).granted, false, 'a zero allowance allows nothing')
  })

  t.test('concurrent takes never exceed the limit', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    const decisions = await Promise.all(Array.from({ length: 60 }, async (_, i) => await (i % 2 === 0 ? a : b).take(ALICE, 25)))
    t.equal(decisions.filter((d) => d.granted).length, 25)
    t.equal(await b.used(ALICE), 25)
  })
}

t.test('memory', async (t) => {
  await contract(t, async () => {
    const time = virtualTime()
    const store = new MemoryAllowances({ windowMs: WINDOW, now: time.now })
    return { stores: [store, store], time }
  })

  t.test('bounded: the least recently seen caller is forgotten first', async (t) => {
    const store = new MemoryAllowances({ maxCallers: 2 })
    await store.take('ip:a', 5)
    await store.take('ip:b', 5)
    await store.take('ip:a', 5)
    await store.take('ip:c', 5)
    t.equal(await store.used('ip:b'), 0, 'b, seen least recently, was forgotten')
    t.equal(await store.used('ip:a'), 2)
    t.equal(await store.used('ip:c'), 1)
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t) => {
    // Ahead of real time, with a window long enough that Redis' own expiry never interferes.
    const time = virtualTime(Date.now() + 120_000)
    const links = await clusterLinks(t, redis, 2)
    const [a, b] = links.map(({ link }) => new RedisAllowances({ link, windowMs: WINDOW, now: time.now })) as [RedisAllowances, RedisAllowances]
    return { stores: [a, b], time }
  })
})

t.test('sqlite', async (t) => {
  await contract(t, async (t) => {
    const time = virtualTime()
    const [a, b] = (await sqliteConnections(t, 2)).map((db) => new SqliteAllowances({ db, windowMs: WINDOW, now: time.now })) as [SqliteAllowances, SqliteAllowances]
    return { stores: [a, b], time }
  })

  t.test('the sweep deletes only the calls that left the window', async (t) => {
    const time = virtualTime()
    const [db] = await sqliteConnections(t, 1)
    const store = new SqliteAllowances({ db: db as NonNullable<typeof db>, windowMs: WINDOW, now: time.now })
    await store.take(ALICE, 5)
    await time.elapse(WINDOW / 2)
    await store.take(BOB, 5)
    await time.elapse(WINDOW / 2)
    t.equal(store.sweep(), 1)
    t.equal(await store.used(ALICE), 0)
    t.equal(await store.used(BOB), 1)
  })
})
