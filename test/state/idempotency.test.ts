/**
 * The idempotency port's contract (`src/state/idempotency/index.ts`), run against every
 * backend: a key goes new → running → done and replays its answer byte for byte, on
 * every instance; another fingerprint is a mismatch; `abandon` frees a running key but
 * never drops an answer; a claim lapses after its lock time, an answer after its TTL.
 * Backend-only behaviour (bounds, outage write-back) is in `memory/` and `redis/`.
 */
import t, { type Test } from 'tap'
import type { IdempotencyStore, StoredResponse } from '../../src/state/idempotency/index.js'
import { MemoryIdempotencyStore } from '../../src/state/idempotency/memory.js'
import { RedisIdempotencyStore } from '../../src/state/idempotency/redis.js'
import { SqliteIdempotencyStore } from '../../src/state/idempotency/sqlite.js'
import { startRedis } from '../helpers/redis-server.js'
import { clusterLinks } from './fixtures/redis.js'
import { sqliteConnections } from './fixtures/sqlite.js'
import { realTime, virtualTime, type StoreTime } from './fixtures/time.js'

/** Long enough never to lapse during a test. */
const LONG = 60_000
/** Short enough to lapse during a test. */
const SHORT = 300

/** Two handles on one store (two instances of a cluster; the same store in process), and its clock. */
interface IdempotencyFixture {
  stores: [IdempotencyStore, IdempotencyStore]
  time: StoreTime
}

type MakeStore = (t: Test) => Promise<IdempotencyFixture>

/** Not UTF-8, with a NUL and a line feed: only a binary-safe store keeps it. */
const answer = (): StoredResponse => ({ statusCode: 201, contentType: 'application/json; charset=utf-8', body: Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x0a, 0x7d]) })

async function contract (t: Test, makeStore: MakeStore): Promise<void> {
  t.test('a key goes new → running → done, and every instance replays its answer byte for byte', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    t.same(await a.begin('k', 'f', LONG), { state: 'new' })
    t.same(await a.begin('k', 'f', LONG), { state: 'running' })
    t.same(await b.begin('k', 'f', LONG), { state: 'running' }, 'claimed for every instance')
    await a.complete('k', 'f', answer(), LONG)
    const replay = await b.begin('k', 'f', LONG)
    t.same(replay, { state: 'done', response: answer() })
    t.ok(replay.state === 'done' && replay.response.body.equals(answer().body), 'byte for byte')
    t.same(await a.begin('k', 'f', LONG), replay, 'replayed again and again')
  })

  t.test('another fingerprint under a used key is a mismatch, running or done', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.begin('k', 'f1', LONG)
    t.same(await b.begin('k', 'f2', LONG), { state: 'mismatch' })
    await a.complete('k', 'f1', answer(), LONG)
    t.same(await b.begin('k', 'f2', LONG), { state: 'mismatch' })
    t.equal((await b.begin('k', 'f1', LONG)).state, 'done')
  })

  t.test('abandon frees a running key but never drops an answer', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.begin('k', 'f', LONG)
    await a.abandon('k')
    t.same(await b.begin('k', 'f', LONG), { state: 'new' }, 'an abandoned key can be used again')
    await b.complete('k', 'f', answer(), LONG)
    await a.abandon('k')
    t.equal((await a.begin('k', 'f', LONG)).state, 'done')
    await a.abandon('never-claimed')
    t.same(await a.begin('never-claimed', 'f', LONG), { state: 'new' }, 'abandoning an unknown key is harmless')
  })

  t.test('keys are independent', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.begin('k1', 'f', LONG)
    t.same(await b.begin('k2', 'f', LONG), { state: 'new' })
    await b.complete('k2', 'f', answer(), LONG)
    t.same(await a.begin('k1', 'f', LONG), { state: 'running' })
  })

  t.test('a claim lapses after its lock time: a crashed holder never blocks the key for good', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    t.same(await a.begin('k', 'f', SHORT), { state: 'new' })
    await time.lapse(SHORT, async () => (await b.begin('k', 'f', LONG)).state === 'new', 'the claim to lapse')
    t.same(await a.begin('k', 'f', LONG), { state: 'running' }, 'claimed anew by the other instance')
  })

  t.test('an answer lapses after its TTL', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    await a.begin('k', 'f', LONG)
    await a.complete('k', 'f', answer(), SHORT)
    await time.lapse(SHORT, async () => (await b.begin('k', 'f', LONG)).state === 'new', 'the answer to lapse')
    t.pass('the key is new again')
  })

  t.test('the stored answer is a private copy of the caller\'s buffer', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    const body = Buffer.from('{"a":1}')
    await a.begin('k', 'f', LONG)
    await a.complete('k', 'f', { statusCode: 201, contentType: 'application/json', body }, LONG)
    body.fill(0)
    for (const store of [a, b]) {
      const found = await store.begin('k', 'f', LONG)
      t.equal(found.state === 'done' && found.response.body.toString(), '{"a":1}')
      t.equal(found.state === 'done' && found.response.statusCode, 201)
    }
  })
}

t.test('memory', async (t) => {
  await contract(t, async () => {
    const time = virtualTime()
    const store = new MemoryIdempotencyStore({ now: time.now })
    return { stores: [store, store], time }
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t) => {
    const links = await clusterLinks(t, redis, 2)
    const [a, b] = links.map(({ link }) => new RedisIdempotencyStore({ link })) as [RedisIdempotencyStore, RedisIdempotencyStore]
    return { stores: [a, b], time: realTime() }
  })
})

t.test('sqlite', async (t) => {
  await contract(t, async (t) => {
    const time = virtualTime()
    const [a, b] = (await sqliteConnections(t, 2)).map((db) => new SqliteIdempotencyStore({ db, now: time.now })) as [SqliteIdempotencyStore, SqliteIdempotencyStore]
    return { stores: [a, b], time }
  })
})
