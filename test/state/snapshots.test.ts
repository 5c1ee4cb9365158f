/**
 * The snapshot port's contract (`src/state/snapshots/index.ts`), run against every
 * backend: `put` is a compare-and-set on the version (two writers can never both
 * claim version n+1), every instance reads what was stored, snapshots and not-found
 * marks expire, and once nothing is stored any writer may write. Backend-only
 * behaviour (the Redis mirror and merge) is in `redis/`.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import type { SnapshotStore, StoredSnapshot } from '../../src/state/snapshots/index.js'
import { MemorySnapshotStore } from '../../src/state/snapshots/memory.js'
import { RedisSnapshotStore } from '../../src/state/snapshots/redis.js'
import { SqliteSnapshotStore } from '../../src/state/snapshots/sqlite.js'
import { startRedis } from '../helpers/redis-server.js'
import { clusterLinks } from './fixtures/redis.js'
import { sqliteConnections } from './fixtures/sqlite.js'
import type { StateDatabase } from '../../src/state/sqlite/database.js'
import { CODE, snapshot } from './fixtures/samples.js'
import { realTime, virtualTime, type StoreTime } from './fixtures/time.js'

const LONG = 60_000
const SHORT = 300
const UNKNOWN = 'FFFFFFFFFFFFFFFF'

/** Two handles on one store (two instances of a cluster; the same store in process), and its clock. */
interface SnapshotFixture {
  stores: [SnapshotStore, SnapshotStore]
  time: StoreTime
  /** Whether `held` answers from process memory once a snapshot was read (false: it always says "ask"). */
  holds: boolean
}

type MakeStore = (t: Test) => Promise<SnapshotFixture>

async function contract (t: Test, makeStore: MakeStore): Promise<void> {
  t.test('put is a compare-and-set on the stored version', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    t.equal(await a.get(CODE), undefined)
    const writes: Array<[StoredSnapshot, number, boolean]> = [
      [snapshot(1), 0, true],
      [snapshot(2), 0, false],
      [snapshot(2), 1, true],
      [snapshot(3), 1, false],
      [snapshot(3, 'Confirming'), 2, true],
      [snapshot(4), 3, true]
    ]
    for (const [s, expected, stored] of writes) {
      t.equal(await a.put(CODE, s, LONG, expected), stored, `put v${s.order.version} expecting v${expected}`)
    }
    const last = writes.at(-1)?.[0]
    t.same(await b.get(CODE), last, 'every instance reads the stored snapshot')
    t.equal(await b.put(CODE, snapshot(5), LONG, 3), false, 'a stale writer on another instance is refused')
    t.equal((await a.get(CODE))?.order.version, 4)
  })

  t.test('two writers racing for the next version: exactly one wins', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.put(CODE, snapshot(4), LONG, 0)
    const race = await Promise.all([a.put(CODE, snapshot(5, 'Confirming'), LONG, 4), b.put(CODE, snapshot(5, 'Done'), LONG, 4)])
    t.equal(race.filter(Boolean).length, 1, 'one writer of version 5')
    const winner = race[0] === true ? 'Confirming' : 'Done'
    t.equal((await b.get(CODE))?.order.status, winner, 'the winner\'s snapshot is stored')
  })

  t.test('trackcodes are independent', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    await a.put(CODE, snapshot(3), LONG, 0)
    t.equal(await b.put('AAAAAAAAAAAAAAAA', snapshot(1, 'WaitingForPayment', 1, 'AAAAAAAAAAAAAAAA'), LONG, 0), true)
    t.equal((await a.get('AAAAAAAAAAAAAAAA'))?.order.version, 1)
    t.equal((await b.get(CODE))?.order.version, 3)
  })

  t.test('a snapshot expires after its TTL; then any writer may write', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    t.equal(await a.put(CODE, snapshot(7), SHORT, 0), true)
    await time.lapse(SHORT, async () => await b.get(CODE) === undefined, 'the snapshot to expire')
    t.equal(await b.put(CODE, snapshot(1), LONG, 99), true, 'nothing stored: no writer to conflict with')
    t.equal((await a.get(CODE))?.order.version, 1)
  })

  t.test('a zero TTL stores nothing, and drops what was there', async (t) => {
    const { stores: [a, b] } = await makeStore(t)
    t.equal(await a.put(CODE, snapshot(1), 0, 0), true)
    t.equal(await b.get(CODE), undefined, 'nothing stored')
    await a.put(CODE, snapshot(1), LONG, 0)
    t.equal(await a.put(CODE, snapshot(2), 0, 1), true)
    t.equal(await b.get(CODE), undefined, 'dropped')
  })

  t.test('held answers without waiting, and only what isNotFound and get would answer', async (t) => {
    const { stores: [a, b], time, holds } = await makeStore(t)
    /** `store.held(CODE)`, checked against the asynchronous reads made right after it. */
    const held = async (store: SnapshotStore, what: string): Promise<StoredSnapshot | undefined> => {
      const now = store.held(CODE)
      const read = await store.isNotFound(CODE) ? undefined : await store.get(CODE)
      if (now !== undefined) t.same(now, read, `${what}: held is what the reads give`)
      return now
    }
    t.equal(await held(a, 'nothing stored'), undefined)
    await a.put(CODE, snapshot(1), LONG, 0)
    await held(a, 'after its own write')
    t.equal((await held(a, 'once read'))?.order.version, holds ? 1 : undefined, holds ? 'held once read' : 'never held')
    t.equal(await b.put(CODE, snapshot(2, 'Confirming'), LONG, 1), true)
    await held(b, 'after its own write')
    const seen = await held(a, 'after another instance wrote')
    t.not(seen?.order.version, 1, 'the replaced version is never held')
    t.equal((await held(a, 'read again'))?.order.version, holds ? 2 : undefined)
    await b.markNotFound(CODE, LONG)
    t.equal(a.held(CODE), undefined, 'a not-found mark made on another instance: nothing held')
    t.equal(await held(b, 'after marking'), undefined)
    await b.markNotFound(CODE, 0)
    await a.put(CODE, snapshot(3), SHORT, 2)
    await held(a, 'mark removed, written again')
    t.equal((await held(a, 'read again'))?.order.version, holds ? 3 : undefined)
    await time.lapse(SHORT, async () => await a.get(CODE) === undefined, 'the snapshot to expire')
    t.equal(a.held(CODE), undefined, 'an expired snapshot is not held')
  })

  t.test('not-found marks: shared, independent of snapshots, expiring', async (t) => {
    const { stores: [a, b], time } = await makeStore(t)
    t.equal(await b.isNotFound(UNKNOWN), false)
    await a.markNotFound(UNKNOWN, LONG)
    t.equal(await b.isNotFound(UNKNOWN), true, 'a 404 is remembered for every instance')
    t.equal(await b.isNotFound(CODE), false, 'other trackcodes are not marked')
    t.equal(await b.get(UNKNOWN), undefined, 'a mark is no snapshot')
    await a.markNotFound(CODE, SHORT)
    await time.lapse(SHORT, async () => !(await b.isNotFound(CODE)), 'the mark to expire')
    t.equal(await b.isNotFound(UNKNOWN), true, 'the long mark stays')
  })
}

t.test('memory', async (t) => {
  await contract(t, async () => {
    const time = virtualTime()
    const store = new MemorySnapshotStore({ now: time.now })
    return { stores: [store, store], time, holds: true }
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t) => {
    const links = await clusterLinks(t, redis, 2)
    const [a, b] = links.map(({ link }) => new RedisSnapshotStore({ link, mirrorTtlMs: LONG })) as [RedisSnapshotStore, RedisSnapshotStore]
    return { stores: [a, b], time: realTime(), holds: false }
  })
})

t.test('sqlite', async (t) => {
  await contract(t, async (t) => {
    const time = virtualTime()
    const [a, b] = (await sqliteConnections(t, 2)).map((db) => new SqliteSnapshotStore({ db, now: time.now })) as [SqliteSnapshotStore, SqliteSnapshotStore]
    return { stores: [a, b], time, holds: true }
  })

  // The store keeps what it read in process: another process's writes must still be seen.
  t.test('writes by another process on the file are seen from the next event-loop turn', async (t) => {
    const time = virtualTime()
    const [db] = await sqliteConnections(t, 1) as [StateDatabase]
    const store = new SqliteSnapshotStore({ db, now: time.now })
    t.ok(await store.put(CODE, snapshot(1), LONG, 0))
    t.equal((await store.get(CODE))?.order.version, 1)
    t.equal(await store.isNotFound(UNKNOWN), false)
    // A plain connection, as a second process (or the sqlite3 shell) would open it.
    const other = new Database(db.path)
    t.teardown(() => { other.close() })
    const next = snapshot(2)
    other.prepare('UPDATE snapshots SET version = ?, json = ? WHERE trackcode = ?').run(2, next.json, CODE)
    other.prepare('INSERT INTO not_found (trackcode, expires_at) VALUES (?, ?)').run(UNKNOWN, time.now() + LONG)
    await nextTurn()
    t.equal(store.held(CODE), undefined, 'nothing held once another process wrote')
    t.equal((await store.get(CODE))?.order.version, 2, 'the newer snapshot')
    t.equal(await store.isNotFound(UNKNOWN), true, 'the new mark')
    t.notOk(await store.put(CODE, snapshot(2), LONG, 1), 'the compare-and-set sees the other version')
    other.prepare('DELETE FROM snapshots WHERE trackcode = ?').run(CODE)
    other.prepare('DELETE FROM not_found WHERE trackcode = ?').run(UNKNOWN)
    await nextTurn()
    t.equal(await store.get(CODE), undefined, 'the deleted snapshot is gone')
    t.equal(await store.isNotFound(UNKNOWN), false, 'the deleted mark is gone')
  })
})
