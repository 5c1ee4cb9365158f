/**
 * The interest port's contract (`src/state/interest/index.ts`), run against every
 * backend: a touched trackcode is listed by every instance until it expires, a touch
 * pushes its expiry back (never forward), and an untouched one lapses.
 */
import t, { type Test } from 'tap'
import type { InterestSet } from '../../src/state/interest/index.js'
import { MemoryInterestSet } from '../../src/state/interest/memory.js'
import { RedisInterestSet } from '../../src/state/interest/redis.js'
import { startRedis } from '../helpers/redis-server.js'
import { clusterLinks } from './fixtures/redis.js'
import { CODE } from './fixtures/samples.js'
import { realTime, virtualTime, type StoreTime } from './fixtures/time.js'

const OTHER = 'BBBBBBBBBBBBBBBB'

interface InterestFixture {
  stores: [InterestSet, InterestSet]
  time: StoreTime
}

async function contract (t: Test, makeStore: (t: Test) => Promise<InterestFixture>): Promise<void> {
  t.test('listed everywhere until it expires; a touch pushes the expiry back', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    t.same(await b.list(), [])
    await a.touch([CODE], 60_000)
    await a.touch([OTHER], 400)
    t.same((await b.list()).sort(), [CODE, OTHER].sort(), 'seen by the other instance')
    await b.touch([CODE], 100)
    await time.lapse(400, async () => !(await b.list()).includes(OTHER), 'the untouched trackcode to lapse')
    t.same(await a.list(), [CODE], 'a shorter touch did not bring the longer expiry forward')
  })
}

t.test('memory', async (t) => {
  await contract(t, async () => {
    const time = virtualTime()
    const store = new MemoryInterestSet(time.now)
    return { stores: [store, store], time }
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t) => {
    const links = await clusterLinks(t, redis, 2)
    const [a, b] = links.map(({ link }) => new RedisInterestSet({ link })) as [RedisInterestSet, RedisInterestSet]
    return { stores: [a, b], time: realTime() }
  })
})
