/**
 * The leader port's contract (`src/state/leader/index.ts`), run against every backend:
 * one owner leads at a time, its renewals keep its term, only it resigns, a lapsed
 * lease goes to the next owner with a greater term, and `holds` answers for the
 * current owner and term only (the fencing check).
 */
import t, { type Test } from 'tap'
import type { LeaderStore } from '../../src/state/leader/index.js'
import { MemoryLeaderStore } from '../../src/state/leader/memory.js'
import { RedisLeaderStore } from '../../src/state/leader/redis.js'
import { startRedis } from '../helpers/redis-server.js'
import { clusterLinks } from './fixtures/redis.js'
import { realTime, virtualTime, type StoreTime } from './fixtures/time.js'

const LONG = 60_000

interface LeaderFixture {
  stores: [LeaderStore, LeaderStore]
  time: StoreTime
}

async function contract (t: Test, makeStore: (t: Test) => Promise<LeaderFixture>): Promise<void> {
  t.test('one leader; its renewals keep the term', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    t.equal(await a.current(), null, 'nobody leads at first')
    const term = await a.campaign('A', 2000)
    t.type(term, 'number')
    t.equal(await b.campaign('B', LONG), null, 'A leads: B does not')
    await time.elapse(1500)
    t.equal(await a.campaign('A', 2000), term, 'renewed: the same term')
    await time.elapse(1500)
    t.equal(await b.campaign('B', LONG), null, 'still A past the first TTL')
    t.same(await b.current(), { owner: 'A', term })
    t.equal(await b.holds('A', term as number), true)
    t.equal(await b.holds('A', (term as number) + 1), false, 'another term is not held')
    t.equal(await b.holds('B', term as number), false, 'nor by another owner')
  })

  t.test('a lapsed lease goes to the next owner, with a greater term; the former leader is fenced', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    const first = await a.campaign('A', 400) as number
    let second: number | null = null
    await time.lapse(400, async () => (second = await b.campaign('B', LONG)) !== null, 'B to lead')
    t.ok((second as unknown as number) > first, 'a new term')
    t.equal(await a.holds('A', first), false, 'the former leader no longer holds it')
    t.equal(await a.campaign('A', LONG), null, 'nor takes it back')
  })

  t.test('only the leader resigns', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    const term = await a.campaign('A', LONG) as number
    await b.resign('B')
    t.equal(await b.holds('A', term), true, 'a resignation by someone else is ignored')
    await a.resign('A')
    t.equal(await b.current(), null)
    t.ok((await b.campaign('B', LONG) as number) > term, 'the next leader gets in at once')
  })
}

t.test('memory', async (t) => {
  await contract(t, async () => {
    const time = virtualTime()
    const store = new MemoryLeaderStore(time.now)
    return { stores: [store, store], time }
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t) => {
    const links = await clusterLinks(t, redis, 2)
    const [a, b] = links.map(({ link }) => new RedisLeaderStore({ link })) as [RedisLeaderStore, RedisLeaderStore]
    return { stores: [a, b], time: realTime() }
  })
})
