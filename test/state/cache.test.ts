/**
 * The cache port's contract (`src/state/cache/index.ts`), run against every backend:
 * what is set is got back (by every instance) until its TTL passes; a later set
 * replaces it; keys are independent. Values are upstream answers, the only kind the
 * gateway caches (their raw bytes must come back unchanged). Backend-only behaviour
 * (memory bounds, the Redis codec and outage twin) is in `memory/` and `redis/`.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import type { CacheStore } from '../../src/state/cache/index.js'
import { MemoryCacheStore } from '../../src/state/cache/memory.js'
import { upstreamResultCodec } from '../../src/state/cache/codec.js'
import { RedisCacheStore } from '../../src/state/cache/redis.js'
import { SqliteCacheStore } from '../../src/state/cache/sqlite.js'
import type { UpstreamResult } from '../../src/upstream/client.js'
import { startRedis } from '../helpers/redis-server.js'
import { clusterLinks } from './fixtures/redis.js'
import { sqliteConnections } from './fixtures/sqlite.js'
import type { StateDatabase } from '../../src/state/sqlite/database.js'
import { upstreamAnswer } from './fixtures/samples.js'
import { realTime, virtualTime, type StoreTime } from './fixtures/time.js'

const LONG = 60_000
const SHORT = 300

/** Two handles on one cache (two instances of a cluster; the same store in process), and its clock. */
interface CacheFixture {
  stores: [CacheStore<UpstreamResult>, CacheStore<UpstreamResult>]
  time: StoreTime
  /** Whether `held` answers from process memory once a value was read (false: it always says "ask"). */
  holds: boolean
}

type MakeStore = (t: Test) => Promise<CacheFixture>

async function contract (t: Test, makeStore: MakeStore): Promise<void> {
  t.test('get gives back what set stored, to every instance', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    const value = upstreamAnswer()
    t.equal(await b.get('GET /meta/mixer'), undefined, 'a miss')
    await a.set('GET /meta/mixer', value, LONG)
    const hit = await b.get('GET /meta/mixer')
    t.same(hit, value, 'status, parsed body and Retry-After')
    t.ok(hit?.raw.equals(value.raw), 'raw bytes unchanged')
    t.same(await a.get('GET /meta/mixer'), value)
  })

  t.test('a later set replaces the value; keys are independent', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.set('GET /prices', upstreamAnswer('{"v":1}'), LONG)
    await b.set('GET /prices', upstreamAnswer('{"v":2}'), LONG)
    t.same((await a.get('GET /prices'))?.body, { v: 2 })
    await a.set('GET /meta', upstreamAnswer('{"m":1}'), LONG)
    t.same((await b.get('GET /prices'))?.body, { v: 2 })
    t.same((await b.get('GET /meta'))?.body, { m: 1 })
  })

  t.test('a value expires after its TTL', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    await a.set('GET /prices', upstreamAnswer(), SHORT)
    await a.set('GET /meta', upstreamAnswer(), LONG)
    await time.lapse(SHORT, async () => await b.get('GET /prices') === undefined, 'the value to expire')
    t.ok(await b.get('GET /meta') !== undefined, 'a longer TTL keeps its value')
  })

  t.test('held answers without waiting, and only what get would answer', async (t) => {
    const { stores: [a, b], time, holds } = await makeStore(t)
    const KEY = 'GET /prices'
    /** `store.held(KEY)`, checked against the read made right after it. */
    const held = async (store: CacheStore<UpstreamResult>, what: string): Promise<UpstreamResult | undefined> => {
      const now = store.held(KEY)
      const read = await store.get(KEY)
      if (now !== undefined) t.same(now, read, `${what}: held is what get gives`)
      return now
    }
    t.equal(await held(a, 'nothing stored'), undefined)
    await a.set(KEY, upstreamAnswer('{"v":1}'), LONG)
    await held(a, 'after its own set')
    t.same((await held(a, 'once read'))?.body, holds ? { v: 1 } : undefined, holds ? 'held once read' : 'never held')
    await b.set(KEY, upstreamAnswer('{"v":2}'), LONG)
    t.notSame(a.held(KEY)?.body, { v: 1 }, 'a replaced value is never held')
    await held(a, 'after another instance set')
    t.same((await held(a, 'read again'))?.body, holds ? { v: 2 } : undefined)
    await a.set(KEY, upstreamAnswer('{"v":3}'), SHORT)
    t.same((await held(a, 'a short entry'))?.body, holds ? { v: 3 } : undefined)
    await time.lapse(SHORT, async () => await a.get(KEY) === undefined, 'the value to expire')
    t.equal(a.held(KEY), undefined, 'an expired value is not held')
  })

  t.test('a zero TTL caches nothing', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.set('GET /prices', upstreamAnswer(), 0)
    t.equal(await b.get('GET /prices'), undefined)
    t.equal(await a.get('GET /prices'), undefined)
  })
}

t.test('memory', async (t) => {
  await contract(t, async () => {
    const time = virtualTime()
    const store = new MemoryCacheStore<UpstreamResult>({ now: time.now })
    return { stores: [store, store], time, holds: true }
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t) => {
    const links = await clusterLinks(t, redis, 2)
    const [a, b] = links.map(({ link }) => new RedisCacheStore<UpstreamResult>({ link, codec: upstreamResultCodec })) as [RedisCacheStore<UpstreamResult>, RedisCacheStore<UpstreamResult>]
    return { stores: [a, b], time: realTime(), holds: false }
  })
})

t.test('sqlite', async (t) => {
  await contract(t, async (t) => {
    const time = virtualTime()
    const [a, b] = (await sqliteConnections(t, 2)).map((db) => new SqliteCacheStore<UpstreamResult>({ db, codec: upstreamResultCodec, now: time.now })) as [SqliteCacheStore<UpstreamResult>, SqliteCacheStore<UpstreamResult>]
    return { stores: [a, b], time, holds: true }
  })

  // The store keeps what it read in process: another process's write must still be seen.
  t.test('a write by another process on the file is seen from the next event-loop turn', async (t) => {
    const time = virtualTime()
    const [db] = await sqliteConnections(t, 1) as [StateDatabase]
    const store = new SqliteCacheStore<UpstreamResult>({ db, codec: upstreamResultCodec, now: time.now })
    await store.set('GET /prices', upstreamAnswer('{"v":1}'), LONG)
    t.same((await store.get('GET /prices'))?.body, { v: 1 })
    // A plain connection, as a second process (or the sqlite3 shell) would open it.
    const other = new Database(db.path)
    t.teardown(() => { other.close() })
    other.prepare('UPDATE cache SET value = ? WHERE key = ?').run(upstreamResultCodec.encode(upstreamAnswer('{"v":2}')), 'GET /prices')
    await nextTurn()
    t.equal(store.held('GET /prices'), undefined, 'nothing held once another process wrote')
    t.same((await store.get('GET /prices'))?.body, { v: 2 }, 'the replaced value')
    other.prepare('DELETE FROM cache WHERE key = ?').run('GET /prices')
    await nextTurn()
    t.equal(await store.get('GET /prices'), undefined, 'the deleted value is gone')
  })
})
