/**
 * The quota port's contract (`src/state/quota/index.ts`), run against every backend:
 * ordinary purposes get `limit − reserve`, creates the whole limit; concurrent callers
 * never overshoot, also across instances; the window rolls; `pause` refuses until its
 * end; `state()` reports all of it. Backend-only behaviour is in `memory/` and `redis/`.
 *
 * Both backends take their time from `now`, so both run on a virtual clock (ahead of
 * real time, with a window long enough that Redis' own key expiry never interferes).
 */
import t, { type Test } from 'tap'
import type { QuotaBudget, QuotaPurpose } from '../../src/state/quota/index.js'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import { RedisQuota } from '../../src/state/quota/redis.js'
import { startRedis } from '../helpers/redis-server.js'
import { clusterLinks } from './fixtures/redis.js'
import { virtualTime, type StoreTime } from './fixtures/time.js'

const WINDOW = 60_000

/** Two handles on one quota (two instances of a cluster; the same store in process), and its clock. */
interface QuotaFixture {
  stores: [QuotaBudget, QuotaBudget]
  time: StoreTime
}

type MakeStore = (t: Test, opts: { limit: number, reserve: number }) => Promise<QuotaFixture>

async function contract (t: Test, makeStore: MakeStore): Promise<void> {
  t.test('an empty window: everything remains', async (t) => {
    const { stores: [q] } = await makeStore(t, { limit: 5, reserve: 2 })
    t.same(await q.state(), { limit: 5, reserve: 2, used: 0, remaining: 5, remainingGeneral: 3, pausedUntil: 0, nextFreeAt: 0, windowMs: WINDOW })
  })

  t.test('ordinary calls stop at limit − reserve, creates may use the reserve', async (t) => {
    const { stores: [q, peer], time } = await makeStore(t, { limit: 5, reserve: 2 })
    const start = time.now()
    for (const purpose of ['poll', 'rest', 'poll'] satisfies QuotaPurpose[]) t.same(await q.tryAcquire(purpose), { granted: true }, purpose)
    t.equal((await peer.tryAcquire('rest')).granted, false, 'rest refused at limit − reserve')
    t.equal((await q.tryAcquire('poll')).granted, false, 'poll refused at limit − reserve')
    t.same(await peer.tryAcquire('create'), { granted: true })
    t.same(await q.tryAcquire('create'), { granted: true })
    t.equal((await peer.tryAcquire('create')).granted, false, 'creates stop at the limit')
    const state = { limit: 5, reserve: 2, used: 5, remaining: 0, remainingGeneral: 0, pausedUntil: 0, nextFreeAt: start + WINDOW, windowMs: WINDOW }
    t.same(await q.state(), state)
    t.same(await peer.state(), state, 'both instances see the same count')
  })

  t.test('a refusal says when a retry can succeed, per purpose', async (t) => {
    const { stores: [q], time } = await makeStore(t, { limit: 3, reserve: 1 })
    const start = time.now()
    await q.tryAcquire('poll')
    await time.elapse(100)
    await q.tryAcquire('poll')
    t.same(await q.tryAcquire('poll'), { granted: false, retryAt: start + WINDOW }, 'when the first call leaves')
    await time.elapse(100)
    t.same(await q.tryAcquire('create'), { granted: true })
    t.same(await q.tryAcquire('create'), { granted: false, retryAt: start + WINDOW })
    t.same(await q.tryAcquire('rest'), { granted: false, retryAt: start + 100 + WINDOW }, 'ordinary calls wait for two calls to leave')
  })

  t.test('the window rolls: slots free as the oldest calls age out', async (t) => {
    const { stores: [q], time } = await makeStore(t, { limit: 2, reserve: 0 })
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

  t.test('concurrent callers never overshoot, on one instance or several', async (t) => {
    const { stores: [q, peer] } = await makeStore(t, { limit: 100, reserve: 10 })
    const polls = await Promise.all(Array.from({ length: 500 }, async (_, i) => await (i % 2 === 0 ? q : peer).tryAcquire(i % 3 === 0 ? 'rest' : 'poll')))
    t.equal(polls.filter((d) => d.granted).length, 90, 'exactly limit − reserve granted')
    const creates = await Promise.all(Array.from({ length: 50 }, async (_, i) => await (i % 2 === 0 ? q : peer).tryAcquire('create')))
    t.equal(creates.filter((d) => d.granted).length, 10, 'creates fill the reserve exactly')
    t.match(await peer.state(), { used: 100, remaining: 0, remainingGeneral: 0 })
  })

  t.test('pause refuses everything until it ends; a shorter pause never shortens it', async (t) => {
    const { stores: [q, peer], time } = await makeStore(t, { limit: 10, reserve: 1 })
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

  t.test('the reserve must be below the limit', async (t) => {
    await t.rejects(makeStore(t, { limit: 3, reserve: 3 }), RangeError)
  })
}

t.test('memory', async (t) => {
  await contract(t, async (_t, { limit, reserve }) => {
    const time = virtualTime()
    const store = new MemoryQuota({ limit, reserve, windowMs: WINDOW, now: time.now })
    return { stores: [store, store], time }
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t, { limit, reserve }) => {
    // Ahead of real time: the pause key's PEXPIREAT is then always in Redis' future.
    const time = virtualTime(Date.now() + 120_000)
    const links = await clusterLinks(t, redis, 2)
    const [a, b] = links.map(({ link }) => new RedisQuota({ link, callsKey: 'quota:k:calls', pauseKey: 'quota:k:pause', limit, reserve, windowMs: WINDOW, instances: 2, now: time.now })) as [RedisQuota, RedisQuota]
    return { stores: [a, b], time }
  })
})
