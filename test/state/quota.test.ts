/**
 * The quota port's contract (`src/state/quota/index.ts`), run against every backend:
 * strict partitions — `poll` its share, `create` the reserve, `rest` the remainder, none
 * taking from another; concurrent callers never overshoot, also across instances; the window rolls; `pause` refuses until its
 * end; `state()` reports all of it. Backend-only behaviour is in `memory/` and `redis/`. On SQLite the two handles are two
 * connections to one file (the same gateway before and after a restart).
 *
 * Every backend takes its time from `now`, so all run on a virtual clock (ahead of
 * real time, with a window long enough that Redis' own key expiry never interferes).
 */
import t, { type Test } from 'tap'
import type { QuotaBudget, QuotaPurpose, QuotaState } from '../../src/state/quota/index.js'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import { RedisQuota } from '../../src/state/quota/redis.js'
import { SqliteQuota } from '../../src/state/quota/sqlite.js'
import { startRedis } from '../helpers/redis-server.js'
import { clusterLinks } from './fixtures/redis.js'
import { sqliteConnections } from './fixtures/sqlite.js'
import { virtualTime, type StoreTime } from './fixtures/time.js'

const WINDOW = 60_000

/** Two handles on one quota (two instances of a cluster; the same store in process), and its clock. */
interface QuotaFixture {
  stores: [QuotaBudget, QuotaBudget]
  time: StoreTime
}

type MakeStore = (t: Test, opts: { limit: number, reserve: number, pollShare: number }) => Promise<QuotaFixture>

const parts = (poll: [number, number], create: [number, number], rest: [number, number]): QuotaState['partitions'] => ({
  poll: { limit: poll[0], used: poll[1], remaining: poll[0] - poll[1] },
  create: { limit: create[0], used: create[1], remaining: create[0] - create[1] },
  rest: { limit: rest[0], used: rest[1], remaining: rest[0] - rest[1] }
})

async function contract (t: Test, makeStore: MakeStore): Promise<void> {
  t.test('an empty window: everything remains, split into partitions', async (t) => {
    const { stores: [q] } = await makeStore(t, { limit: 10, reserve: 2, pollShare: 0.5 })
    t.same(await q.state(), { limit: 10, reserve: 2, used: 0, remaining: 10, remainingGeneral: 3, pausedUntil: 0, nextFreeAt: 0, windowMs: WINDOW, partitions: parts([5, 0], [2, 0], [3, 0]) })
  })

  t.test('strict partitions: each purpose stops at its own cap and takes nothing from another', async (t) => {
    const { stores: [q, peer], time } = await makeStore(t, { limit: 10, reserve: 2, pollShare: 0.5 })
    const start = time.now()
    for (let i = 0; i < 3; i++) t.same(await (i % 2 === 0 ? q : peer).tryAcquire('rest'), { granted: true }, `rest ${i}`)
    t.equal((await peer.tryAcquire('rest')).granted, false, 'rest refused at its cap, though poll and create have room')
    for (let i = 0; i < 5; i++) t.same(await q.tryAcquire('poll'), { granted: true }, `poll ${i}`)
    t.equal((await peer.tryAcquire('poll')).granted, false, 'poll refused at its share')
    t.same(await peer.tryAcquire('create'), { granted: true })
    t.same(await q.tryAcquire('create'), { granted: true })
    t.equal((await peer.tryAcquire('create')).granted, false, 'creates stop at the reserve')
    const state = { limit: 10, reserve: 2, used: 10, remaining: 0, remainingGeneral: 0, pausedUntil: 0, nextFreeAt: start + WINDOW, windowMs: WINDOW, partitions: parts([5, 5], [2, 2], [3, 3]) }
    t.same(await q.state(), state)
    t.same(await peer.state(), state, 'both instances see the same count')
  })

  t.test('REST traffic never touches the pollers\' partition', async (t) => {
    const { stores: [q] } = await makeStore(t, { limit: 10, reserve: 2, pollShare: 0.5 })
    for (let i = 0; i < 50; i++) await q.tryAcquire('rest')
    t.same((await q.state()).partitions.poll, { limit: 5, used: 0, remaining: 5 })
    t.same(await q.tryAcquire('poll'), { granted: true })
  })

  t.test('a refusal says when a retry can succeed, per partition', async (t) => {
    const { stores: [q], time } = await makeStore(t, { limit: 6, reserve: 1, pollShare: 0.5 })
    const start = time.now()
    for (let i = 0; i < 3; i++) {
      await q.tryAcquire('poll')
      await time.elapse(100)
    }
    t.same(await q.tryAcquire('poll'), { granted: false, retryAt: start + WINDOW }, 'when the first poll leaves')
    t.same(await q.tryAcquire('create'), { granted: true })
    t.same(await q.tryAcquire('create'), { granted: false, retryAt: start + 300 + WINDOW }, 'when the create leaves')
    await q.tryAcquire('rest')
    await time.elapse(100)
    await q.tryAcquire('rest')
    t.same(await q.tryAcquire('rest'), { granted: false, retryAt: start + 300 + WINDOW }, 'when the first rest call leaves')
  })

  t.test('the window rolls: slots free as the oldest calls age out', async (t) => {
    const { stores: [q], time } = await makeStore(t, { limit: 4, reserve: 0, pollShare: 0.5 })
    const start = time.now()
    await q.tryAcquire('poll')
    await time.elapse(400)
    await q.tryAcquire('poll')
    t.same(await q.tryAcquire('poll'), { granted: false, retryAt: start + WINDOW }, 'retry when the first call leaves')
    await time.elapse(WINDOW - 400)
    t.same(await q.tryAcquire('poll'), { granted: true })
    const state = await q.state()
    t.equal(state.used, 2)
    t.equal(state.nextFreeAt, start + 400 + WINDOW)
  })

  t.test('concurrent callers never overshoot a partition, on one instance or several', async (t) => {
    const { stores: [q, peer] } = await makeStore(t, { limit: 100, reserve: 10, pollShare: 0.4 })
    const decisions = await Promise.all(Array.from({ length: 500 }, async (_, i) => {
      const purpose: QuotaPurpose = i % 3 === 0 ? 'rest' : i % 3 === 1 ? 'poll' : 'create'
      return { purpose, decision: await (i % 2 === 0 ? q : peer).tryAcquire(purpose) }
    }))
    const granted = (p: QuotaPurpose): number => decisions.filter((d) => d.purpose === p && d.decision.granted).length
    t.equal(granted('poll'), 40, 'poll: exactly its share')
    t.equal(granted('create'), 10, 'create: exactly the reserve')
    t.equal(granted('rest'), 50, 'rest: exactly the remainder')
    t.match(await peer.state(), { used: 100, remaining: 0, remainingGeneral: 0 })
  })

  t.test('pause refuses everything until it ends; a shorter pause never shortens it', async (t) => {
    const { stores: [q, peer], time } = await makeStore(t, { limit: 10, reserve: 1, pollShare: 0.5 })
    const until = time.now() + 500
    await q.pause(until)
    t.same(await peer.tryAcquire('create'), { granted: false, retryAt: until }, 'creates too, on every instance')
    t.same(await q.tryAcquire('poll'), { granted: false, retryAt: until })
    await peer.pause(until - 300)
    t.equal((await q.state()).pausedUntil, until)
    t.equal((await peer.state()).pausedUntil, until)
    t.equal((await q.state()).used, 0, 'refused calls are not counted')
    await time.elapse(500)
    t.same(await q.tryAcquire('create'), { granted: true })
    t.equal((await peer.state()).pausedUntil, 0, 'no pause once it ended')
  })

  t.test('the partitions must fit in the limit', async (t) => {
    await t.rejects(makeStore(t, { limit: 3, reserve: 3, pollShare: 0 }), RangeError, 'the reserve below the limit')
    await t.rejects(makeStore(t, { limit: 10, reserve: 3, pollShare: 0.8 }), RangeError, 'poll share and reserve leave rest below 0')
    const { stores: [q] } = await makeStore(t, { limit: 10, reserve: 2, pollShare: 0.8 })
    t.same((await q.state()).partitions.rest, { limit: 0, used: 0, remaining: 0 }, 'an empty rest is allowed')
    t.equal((await q.tryAcquire('rest')).granted, false)
  })
}

t.test('memory', async (t) => {
  await contract(t, async (_t, { limit, reserve, pollShare }) => {
    const time = virtualTime()
    const store = new MemoryQuota({ limit, reserve, pollShare, windowMs: WINDOW, now: time.now })
    return { stores: [store, store], time }
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t, { limit, reserve, pollShare }) => {
    // Ahead of real time: the pause key's PEXPIREAT is then always in Redis' future.
    const time = virtualTime(Date.now() + 120_000)
    const links = await clusterLinks(t, redis, 2)
    const [a, b] = links.map(({ link }) => new RedisQuota({ link, callsKey: 'quota:k:calls', pauseKey: 'quota:k:pause', limit, reserve, pollShare, windowMs: WINDOW, instances: 2, now: time.now })) as [RedisQuota, RedisQuota]
    return { stores: [a, b], time }
  })
})

t.test('sqlite', async (t) => {
  await contract(t, async (t, { limit, reserve, pollShare }) => {
    const time = virtualTime()
    const dbs = await sqliteConnections(t, 2)
    const [a, b] = dbs.map((db) => new SqliteQuota({ db, ledger: 'k', limit, reserve, pollShare, windowMs: WINDOW, now: time.now })) as [SqliteQuota, SqliteQuota]
    return { stores: [a, b], time }
  })

  t.test('the ledger is per API key, and the sweep deletes only what left the window', async (t) => {
    const time = virtualTime()
    const [db] = await sqliteConnections(t, 1)
    const a = new SqliteQuota({ db: db as NonNullable<typeof db>, ledger: 'a', limit: 4, reserve: 0, pollShare: 0.5, windowMs: WINDOW, now: time.now })
    const b = new SqliteQuota({ db: db as NonNullable<typeof db>, ledger: 'b', limit: 4, reserve: 0, pollShare: 0.5, windowMs: WINDOW, now: time.now })
    await a.tryAcquire('poll')
    await a.pause(time.now() + 100)
    t.equal((await b.state()).used, 0, 'another key\'s ledger is empty')
    t.same(await b.tryAcquire('poll'), { granted: true }, 'and not paused')
    await time.elapse(WINDOW / 2)
    await a.tryAcquire('rest')
    t.equal(a.sweep(), 1, 'the ended pause')
    await time.elapse(WINDOW / 2)
    t.equal(a.sweep(), 2, 'the two calls of the first half-window')
    t.same((await a.state()).partitions.rest, { limit: 2, used: 1, remaining: 1 }, 'the later call still counts')
  })
})
