/**
 * The Redis quota beyond the contract (`../quota.test.ts`): the same decisions as the
 * in-process quota on random sequences and partitions, instances racing on a real 24 h
 * window (key layout and expiry), a conservative share of each partition during an outage, the calls of the outage
 * counted again when Redis is back, and a pause that survives an outage.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import fc from 'fast-check'
import { type QuotaPurpose } from '../../../src/state/quota/index.js'
import { MemoryQuota } from '../../../src/state/quota/memory.js'
import { RedisQuota } from '../../../src/state/quota/redis.js'
import { startRedis } from '../../helpers/redis-server.js'
import { startLink } from '../../helpers/redis-link.js'
import { waitFor } from '../../helpers/wait-for.js'

type Op =
  | { kind: 'advance', ms: number }
  | { kind: 'acquire', purpose: QuotaPurpose }
  | { kind: 'pause', inMs: number }
  | { kind: 'state' }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 72_000 }) }),
  fc.record({ kind: fc.constant('acquire' as const), purpose: fc.constantFrom<QuotaPurpose>('create', 'rest', 'poll') }),
  fc.record({ kind: fc.constant('acquire' as const), purpose: fc.constantFrom<QuotaPurpose>('rest', 'poll') }),
  fc.record({ kind: fc.constant('pause' as const), inMs: fc.integer({ min: 1, max: 180_000 }) }),
  fc.record({ kind: fc.constant('state' as const) })
)

t.test('makes the same decisions as MemoryQuota (rolling window, partitions, pause)', async (t) => {
  const redis = await startRedis(t)
  const { link } = await startLink(t, redis)
  // Redis expires keys on its own clock: the manual clock stays ahead of real time and
  // the window long enough that no key expires early, however slow the machine.
  const windowMs = 60_000
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 1, max: 8 }).chain((limit) => fc.integer({ min: 0, max: 10 }).chain((tenths) => fc.record({
      limit: fc.constant(limit),
      pollShare: fc.constant(tenths / 10),
      reserve: fc.integer({ min: 0, max: Math.min(limit - 1, limit - Math.floor(limit * tenths / 10)) })
    }))),
    fc.array(op, { minLength: 1, maxLength: 40 }),
    async ({ limit, reserve, pollShare }, ops) => {
      let now = Date.now() + 120_000
      const id = randomUUID()
      const memory = new MemoryQuota({ limit, reserve, pollShare, windowMs, now: () => now })
      const shared = new RedisQuota({ link, callsKey: `q:${id}:calls`, pauseKey: `q:${id}:pause`, limit, reserve, pollShare, windowMs, instances: 3, now: () => now })
      for (const o of ops) {
        switch (o.kind) {
          case 'advance':
            now += o.ms
            break
          case 'acquire':
            t.same(await shared.tryAcquire(o.purpose), await memory.tryAcquire(o.purpose), `acquire ${o.purpose}`)
            break
          case 'pause':
            await shared.pause(now + o.inMs)
            await memory.pause(now + o.inMs)
            break
          case 'state':
            t.same(await shared.state(), await memory.state(), 'state')
        }
      }
      t.same(await shared.state(), await memory.state(), 'final state')
    }
  ), { numRuns: 60 })
  t.equal(link.health().fallbacks.quota ?? 0, 0, 'every decision came from Redis')
})

t.test('instances racing for the last slots never get more than each partition', async (t) => {
  const redis = await startRedis(t)
  const first = await startLink(t, redis)
  const others = await Promise.all([startLink(t, redis, first.prefix), startLink(t, redis, first.prefix)])
  // Partitions: poll 10, create 4, rest 6.
  const quotas = [first, ...others].map(({ link }) => new RedisQuota({ link, callsKey: 'q:calls', pauseKey: 'q:pause', limit: 20, reserve: 4, pollShare: 0.5, instances: 3 }))
  const purposes: QuotaPurpose[] = ['create', 'poll', 'rest']
  const decisions = await Promise.all(quotas.flatMap((q) => Array.from({ length: 15 }, async (_, i) => ({ purpose: purposes[i % 3] as QuotaPurpose, decision: await q.tryAcquire(purposes[i % 3] as QuotaPurpose) }))))
  const granted = (p: QuotaPurpose): number => decisions.filter((d) => d.purpose === p && d.decision.granted).length
  t.same([granted('poll'), granted('create'), granted('rest')], [10, 4, 6], 'each partition filled exactly, never more')
  const state = await (quotas[0] as RedisQuota).state()
  t.equal(state.used, 20, 'every grant counted once, cluster-wide')
  const refused = await (quotas[1] as RedisQuota).tryAcquire('create')
  t.equal(refused.granted, false)
  if (!refused.granted) t.ok(refused.retryAt > Date.now() + 23 * 3_600_000, 'retry when the oldest call leaves the 24 h window')
  for (const p of purposes) {
    t.equal(await redis.client().zcard(`${first.prefix}q:calls:${p}`), { poll: 10, create: 4, rest: 6 }[p], `one sorted set per partition (${p})`)
    t.ok(await redis.client().pttl(`${first.prefix}q:calls:${p}`) > 0, `the ${p} calls key expires`)
  }
})

t.test('an outage falls back to a share of each partition; rejoining counts those calls again', async (t) => {
  const redis = await startRedis(t)
  const { link, log, prefix } = await startLink(t, redis)
  const limit = 20
  const instances = 4
  // Partitions: poll 12, create 2, rest 6 → outage shares 3, 0, 1 per instance.
  const quota = new RedisQuota({ link, callsKey: 'q:calls', pauseKey: 'q:pause', limit, reserve: 2, pollShare: 0.6, instances })
  for (let i = 0; i < 4; i++) t.ok((await quota.tryAcquire('poll')).granted)

  await redis.stop()
  await waitFor(() => !link.up, 'the link to notice')
  // Poll share: floor(12 / 4) = 3, of which ceil(4 / 4) = 1 already spent before the outage.
  const during = []
  for (let i = 0; i < 4; i++) during.push(await quota.tryAcquire('poll'))
  t.same(during.map((d) => d.granted), [true, true, false, false], '2 polls, the outage share of the poll partition')
  t.same(await quota.tryAcquire('rest'), { granted: true }, 'rest has its own share: floor(6 / 4) = 1')
  t.equal((await quota.tryAcquire('rest')).granted, false)
  t.equal((await quota.tryAcquire('create')).granted, false, 'create: floor(2 / 4) = 0')
  const state = await quota.state()
  t.match(state, { limit: 4, used: 4, remaining: 0, partitions: { poll: { limit: 3, used: 3 }, create: { limit: 0, used: 0 }, rest: { limit: 1, used: 1 } } }, 'state shows the shares')
  t.equal(log.count('error', 'Redis is unavailable'), 1, 'the outage is logged once, not per call')
  t.ok((link.health().fallbacks.quota ?? 0) >= 7)

  // Redis restarts empty: the instance re-adds every call of its window.
  await redis.start()
  await waitFor(() => link.up, 'the link to rejoin')
  t.equal(await redis.client().zcard(`${prefix}q:calls:poll`), 6, '4 polls before + 2 during the outage')
  t.equal(await redis.client().zcard(`${prefix}q:calls:rest`), 1, 'the rest call of the outage')
  t.match(await quota.state(), { limit: 20, used: 7, remaining: 13 }, 'the shared count is used again')
  t.equal(log.count('warn', 'Redis is back'), 1)
})

t.test('an upstream pause is shared and survives an outage', async (t) => {
  const redis = await startRedis(t)
  const a = await startLink(t, redis)
  const b = await startLink(t, redis, a.prefix)
  const qa = new RedisQuota({ link: a.link, callsKey: 'q:calls', pauseKey: 'q:pause', limit: 10, reserve: 1, instances: 2 })
  const qb = new RedisQuota({ link: b.link, callsKey: 'q:calls', pauseKey: 'q:pause', limit: 10, reserve: 1, instances: 2 })
  const until = Date.now() + 60_000
  await qa.pause(until)
  t.same(await qb.tryAcquire('create'), { granted: false, retryAt: until }, 'the other instance is paused too')
  t.equal((await qb.state()).pausedUntil, until)
  const ttl = await redis.client().pttl(`${a.prefix}q:pause`)
  t.ok(ttl > 50_000 && ttl <= 60_000, 'the pause key expires when the pause ends')
  await qa.pause(until - 30_000)
  t.equal((await qb.state()).pausedUntil, until, 'a shorter pause never shortens it')

  await redis.stop()
  await waitFor(() => !a.link.up, 'the link to notice')
  t.same(await qa.tryAcquire('create'), { granted: false, retryAt: until }, 'paused during the outage too')
  await redis.start()
  await waitFor(() => a.link.up && b.link.up, 'the links to rejoin')
  t.equal((await qb.state()).pausedUntil, until, 'the pause was written back to the restarted Redis')
})
