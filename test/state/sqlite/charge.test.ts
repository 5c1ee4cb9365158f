/**
 * The joint charge of an upstream call on the state database: the caller's allowance
 * and the quota slot taken in one transaction (`SqliteQuota.tryAcquireCharged`), both
 * or neither; the allowance decides first; allowances kept elsewhere are left to the
 * caller (`undefined`). Then the upstream client over it: the right 429 for each refusal.
 */
import t, { type Test } from 'tap'
import { MemoryAllowances } from '../../../src/state/allowances/memory.js'
import { SqliteAllowances } from '../../../src/state/allowances/sqlite.js'
import { SqliteQuota } from '../../../src/state/quota/sqlite.js'
import { GatewayError } from '../../../src/errors.js'
import { UpstreamClient } from '../../../src/upstream/client.js'
import { sqliteConnections } from '../fixtures/sqlite.js'
import { startFakeUpstream } from '../../helpers/fake-upstream.js'

const PAYER = 'ip:203.0.113.9'

/** A quota of 10 (reserve 2, poll share 0.5) and the allowances, on one state database. */
async function ledger (t: Test): Promise<{ quota: SqliteQuota, allowances: SqliteAllowances }> {
  const [db] = await sqliteConnections(t, 1)
  if (db === undefined) throw new Error('no database')
  return { quota: new SqliteQuota({ db, ledger: 'k', limit: 10, reserve: 2, pollShare: 0.5 }), allowances: new SqliteAllowances({ db }) }
}

t.test('granted: one allowance call and one slot', async (t) => {
  const { quota, allowances } = await ledger(t)
  t.same(await quota.tryAcquireCharged('rest', { allowances, id: PAYER, limit: 5 }), { granted: true })
  t.equal(await allowances.used(PAYER), 1)
  t.equal((await quota.state()).partitions.rest.used, 1)
})

t.test('allowance used up: refused by the allowance, no slot taken', async (t) => {
  const { quota, allowances } = await ledger(t)
  t.same(await quota.tryAcquireCharged('rest', { allowances, id: PAYER, limit: 1 }), { granted: true })
  const refused = await quota.tryAcquireCharged('rest', { allowances, id: PAYER, limit: 1 })
  t.match(refused, { granted: false, refusedBy: 'allowance' })
  t.equal((await quota.state()).partitions.rest.used, 1, 'the refused call took no slot')
  t.equal(await allowances.used(PAYER), 1)
})

t.test('partition full: refused by the quota, the allowance call is kept', async (t) => {
  // rest = 10 − 2 − 5 = 3 slots.
  const { quota, allowances } = await ledger(t)
  for (let i = 0; i < 3; i++) t.same(await quota.tryAcquire('rest'), { granted: true })
  const refused = await quota.tryAcquireCharged('rest', { allowances, id: PAYER, limit: 5 })
  t.match(refused, { granted: false, refusedBy: 'quota' })
  t.ok(refused !== undefined && !refused.granted && refused.retryAt > Date.now(), 'a retry time in the future')
  t.equal(await allowances.used(PAYER), 0, 'no allowance call spent on a call that was not made')
  t.same(await quota.tryAcquireCharged('poll', { allowances, id: PAYER, limit: 5 }), { granted: true }, 'another partition still grants')
})

t.test('allowances kept elsewhere: undefined, the caller takes them one after the other', async (t) => {
  const [db, other] = await sqliteConnections(t, 2)
  if (db === undefined || other === undefined) throw new Error('no database')
  const quota = new SqliteQuota({ db, ledger: 'k', limit: 10, reserve: 2 })
  t.equal(quota.tryAcquireCharged('rest', { allowances: new MemoryAllowances(), id: PAYER, limit: 5 }), undefined, 'in memory')
  t.equal(quota.tryAcquireCharged('rest', { allowances: new SqliteAllowances({ db: other }), id: PAYER, limit: 5 }), undefined, 'another connection')
  t.equal((await quota.state()).used, 0)
})

t.test('the upstream client charges through it: each refusal its own 429, nothing sent', async (t) => {
  const [db] = await sqliteConnections(t, 1)
  if (db === undefined) throw new Error('no database')
  const upstream = await startFakeUpstream()
  t.teardown(async () => { await upstream.close() })
  const quota = new SqliteQuota({ db, ledger: 'k', limit: 10, reserve: 2, pollShare: 0.5 })
  const allowances = new SqliteAllowances({ db })
  const client = new UpstreamClient({ baseUrl: upstream.baseUrl, apiKey: 'key', timeoutMs: 2000, connections: 2, quota, allowances })
  t.teardown(async () => { await client.close() })
  const call = (limit: number) => client.request({ method: 'POST', path: '/orders/check', body: {}, auth: true, purpose: 'rest', retry: false, payer: { id: PAYER, limit } })
  t.equal((await call(2)).statusCode, 200)
  t.equal(await allowances.used(PAYER), 1)
  t.equal((await quota.state()).partitions.rest.used, 1)
  await call(2)
  const allowance = await call(2).catch((err: unknown) => err)
  t.ok(allowance instanceof GatewayError && allowance.statusCode === 429)
  t.match((allowance as Error).message, /Daily allowance of upstream calls used up for this client \(2 per 24 h\)/)
  await client.request({ method: 'POST', path: '/orders/check', body: {}, auth: true, purpose: 'rest', retry: false })
  const full = await call(100).catch((err: unknown) => err)
  t.ok(full instanceof GatewayError && full.statusCode === 429)
  t.match((full as Error).message, /The upstream daily quota is used up/)
  t.equal(await allowances.used(PAYER), 2, 'the refused call spent no allowance')
  t.equal(upstream.requests.length, 3, 'only the granted calls reached upstream')
})
