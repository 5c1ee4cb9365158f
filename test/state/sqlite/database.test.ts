/**
 * The state database (`src/state/sqlite/database.ts`, `migrate.ts`): created with its
 * directory on first open, in WAL mode with every commit fsynced; migrations applied
 * once each, a failing one leaving the database at the last whole step, a newer
 * database refused; expired rows swept; the state plugin's choice of backend, and the
 * database closed with the app.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { SqliteAllowances } from '../../../src/state/allowances/sqlite.js'
import { SqliteOrderRegistry } from '../../../src/state/orders/sqlite.js'
import { MemoryQuota } from '../../../src/state/quota/memory.js'
import { SqliteQuota } from '../../../src/state/quota/sqlite.js'
import { DATABASE_FILE, openStateDatabase } from '../../../src/state/sqlite/database.js'
import { MIGRATIONS } from '../../../src/state/sqlite/migrations.js'
import { sqliteStores } from '../../../src/state/sqlite/stores.js'
import { build } from '../../helpers/build.js'
import { testConfig } from '../../helpers/fixtures.js'
import { snapshot, upstreamAnswer } from '../fixtures/samples.js'
import { tempDataDir } from '../fixtures/sqlite.js'
import { virtualTime } from '../fixtures/time.js'

const EXTRA = { name: 'test: one more table', sql: 'CREATE TABLE extra (id INTEGER PRIMARY KEY)' }

t.test('first open creates the directory and the file, in WAL mode, fsyncing at checkpoints (synchronous NORMAL), fully migrated', async (t) => {
  const dir = join(await tempDataDir(t), 'nested', 'data')
  const db = openStateDatabase(dir)
  t.teardown(() => { db.close() })
  t.equal(db.path, join(dir, DATABASE_FILE))
  t.ok(existsSync(db.path))
  t.equal(db.pragma('journal_mode'), 'wal')
  t.equal(db.pragma('synchronous'), 1, 'NORMAL: durable across a process crash, not a power cut (docs/operations.md)')
  t.equal(db.pragma('busy_timeout'), 5000)
  t.equal(db.pragma('wal_autocheckpoint'), 10_000, 'checkpoints ten times rarer than SQLite\'s default')
  t.equal(db.pragma('user_version'), MIGRATIONS.length)
  t.same(db.migrated, MIGRATIONS.map((m) => m.name))
})

t.test('migrations run once each; a new one is applied alone; a newer database is refused', async (t) => {
  const dir = await tempDataDir(t)
  openStateDatabase(dir).close()
  const again = openStateDatabase(dir)
  t.same(again.migrated, [], 'nothing to do the second time')
  again.close()
  const newer = openStateDatabase(dir, { migrations: [...MIGRATIONS, EXTRA] })
  t.same(newer.migrated, [EXTRA.name])
  t.equal(newer.pragma('user_version'), MIGRATIONS.length + 1)
  newer.close()
  t.throws(() => openStateDatabase(dir), new RegExp(`schema version ${MIGRATIONS.length + 1}, newer than this trackgate knows \\(${MIGRATIONS.length}\\)`))
})

t.test('a failing migration leaves the database at the last whole step', async (t) => {
  const dir = await tempDataDir(t)
  const broken = { name: 'broken', sql: 'CREATE TABLE half (id INTEGER); THIS IS NOT SQL' }
  t.throws(() => openStateDatabase(dir, { migrations: [...MIGRATIONS, broken] }))
  const db = openStateDatabase(dir, { migrations: [...MIGRATIONS, EXTRA] })
  t.teardown(() => { db.close() })
  t.same(db.migrated, [EXTRA.name], 'the step is retried from its start')
  t.same(db.statement('SELECT count(*) AS n FROM sqlite_master WHERE name = \'half\'').get(), { n: 0 }, 'nothing of the failed step was kept')
})

t.test('the sweep deletes expired rows of every table, and only those', async (t) => {
  const db = openStateDatabase(await tempDataDir(t))
  t.teardown(() => { db.close() })
  const time = virtualTime()
  const stores = sqliteStores(testConfig('http://127.0.0.1:9/v1'), db, time.now)
  // Idempotency and cache keep real time (as in memory): their rows are written already expired.
  await stores.idempotency.complete('k', 'f', { statusCode: 200, contentType: 'application/json', body: Buffer.from('{}') }, -1)
  await stores.idempotency.complete('k2', 'f', { statusCode: 200, contentType: 'application/json', body: Buffer.from('{}') }, 60_000)
  await stores.cache.set('GET /prices', upstreamAnswer(), 60_000)
  await stores.snapshots.put('AAAAAAAAAAAAAAAA', snapshot(1), 100, 0)
  await stores.snapshots.put('BBBBBBBBBBBBBBBB', snapshot(1), 60_000, 0)
  await stores.snapshots.markNotFound('CCCCCCCCCCCCCCCC', 100)
  await stores.orders.remember('AAAAAAAAAAAAAAAA', { source: 'created', by: 'ip:127.0.0.1', since: 1 }, 100)
  const count = (table: string): unknown => db.statement(`SELECT count(*) AS n FROM ${table}`).get()
  t.equal(stores.sweep(), 1, 'only the expired idempotency record so far')
  await time.elapse(100)
  t.equal(stores.sweep(), 3, 'one snapshot, one not-found mark, one known order')
  t.same([count('idempotency'), count('cache'), count('snapshots'), count('not_found'), count('known_orders')], [{ n: 1 }, { n: 1 }, { n: 1 }, { n: 0 }, { n: 0 }])
  t.equal(stores.sweep(), 0)
})

t.test('the state plugin opens the database in DATA_DIR (STATE_BACKEND=sqlite), and closes it with the app', async (t) => {
  const dataDir = join(await tempDataDir(t), 'data')
  const s = await build(t, { config: { stateBackend: 'sqlite', dataDir } })
  t.ok(s.app.state.quota instanceof SqliteQuota, 'the quota ledger on the database')
  t.ok(s.app.state.allowances instanceof SqliteAllowances, 'the allowances too')
  t.ok(s.app.state.orders instanceof SqliteOrderRegistry)
  t.ok(existsSync(join(dataDir, DATABASE_FILE)), 'created on start')
  t.ok(existsSync(join(dataDir, `${DATABASE_FILE}-wal`)), 'WAL mode')
  await s.gw.close()
  t.notOk(existsSync(join(dataDir, `${DATABASE_FILE}-wal`)), 'closed: the WAL was checkpointed and removed')

  const memory = await s.gateway({ config: { stateBackend: 'memory', dataDir: join(dataDir, 'unused') } })
  t.ok(memory.app.state.quota instanceof MemoryQuota)
  t.notOk(existsSync(join(dataDir, 'unused')), 'STATE_BACKEND=memory opens no database')
})

t.test('the ledger migrations keep the calls already in the ledger; the running totals count them after it', async (t) => {
  // Before the 11th migration (counts kept by triggers) and the 12th (one row per
  // millisecond with a running total): one row per call.
  const dir = await tempDataDir(t)
  const before = openStateDatabase(dir, { migrations: MIGRATIONS.slice(0, -2) })
  const now = Date.now()
  const DAY = 24 * 60 * 60 * 1000
  for (const [purpose, at] of [['rest', now - 2], ['rest', now - 2], ['rest', now - 1], ['poll', now - 1], ['rest', now - DAY - 1]] as const) {
    before.statement('INSERT INTO quota_calls (ledger, purpose, at) VALUES (?, ?, ?)').run('k', purpose, at)
  }
  before.statement('INSERT INTO allowance_calls (caller, at) VALUES (?, ?)').run('ip:a', now - 1)
  before.statement('INSERT INTO allowance_calls (caller, at) VALUES (?, ?)').run('ip:a', now - DAY - 1)
  before.close()
  const db = openStateDatabase(dir)
  t.teardown(() => { db.close() })
  t.same(db.migrated.length, 2, 'both applied')
  const quota = new SqliteQuota({ db, ledger: 'k', limit: 100, reserve: 10 })
  const allowances = new SqliteAllowances({ db })
  const state = await quota.state()
  t.equal(state.partitions.rest.used, 3, 'kept by the migration; the call before the window not counted')
  t.equal(state.partitions.poll.used, 1)
  t.equal(await allowances.used('ip:a'), 1)
  await quota.tryAcquire('rest')
  await allowances.take('ip:a', 10)
  t.equal((await quota.state()).partitions.rest.used, 4, 'counted after it')
  t.equal(await allowances.used('ip:a'), 2)
  t.equal(quota.sweep(), 1, 'the call before the window, swept')
  t.equal(allowances.sweep(), 1)
  t.equal((await quota.state()).partitions.rest.used, 4, 'the sweep leaves the count as it was')
  t.equal(await allowances.used('ip:a'), 2)
})
