/**
 * The Redis quota beyond the contract (`../quota.test.ts`): the same decisions as the
 * in-process quota on random sequences, instances racing on a real 24 h window (key
 * layout and expiry), a conservative share during an outage, the calls of the outage
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

t.test('makes the same decisions as MemoryQuota (rolling window, reserve, pause)', async (t) => {
  const redis = await startRedis(t)
  const { link } = await startLink(t, redis)
  // Redis expires keys on its own clock: the manual clock stays ahead of real time and
  // the window long enough that no key expires early, however slow the machine.
  const windowMs = 60_000
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 1, max: 6 }).chain((limit) => fc.record({ limit: fc.constant(limit), reserve: fc.integer({ min: 0, max: limit - 1 }) })),
    fc.array(op, { minLength: 1, maxLength: 40 }),
    async ({ limit, reserve }, ops) => {
      let now = Date.now() + 120_000
      const id = randomUUID()
      const memory = new MemoryQuota({ limit, reserve, windowMs, now: () => now })
      const shared = new RedisQuota({ link, callsKey: `q:${id}:calls`, pauseKey: `q:${id}:pause`, limit, reserve, windowMs, instances: 3, now: () => now })
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

t.test('instances racing for the last slots never get more than the limit', async (t) => {
  const redis = await startRedis(t)
  const first = await startLink(t, redis)
  const others = await Promise.all([startLink(t, redis, first.prefix), startLink(t, redis, first.prefix)])
  const quotas = [first, ...others].map(({ link }) => new RedisQuota({ link, callsKey: 'q:calls', pauseKey: 'q:pause', limit: 20, reserve: 4, instances: 3 }))
  const decisions = await Promise.all(quotas.flatMap((q) => Array.from({ length: 15 }, async (_, i) => await q.tryAcquire(i % 5 === 0 ? 'create' : 'poll'))))
  const granted = decisions.filter((d) => d.granted).length
  t.ok(granted >= 16 && granted <= 20, `${granted} of 45 granted`)
  const state = await (quotas[0] as RedisQuota).state()
  t.equal(state.used, granted, 'every grant counted once, cluster-wide')
  t.ok(state.used <= 20, 'the limit holds')
  // Fill the reserve with creates: exactly the limit, never more.
  const creates = await Promise.all(quotas.flatMap((q) => Array.from({ length: 5 }, async () => await q.tryAcquire('create'))))
  t.equal(granted + creates.filter((d) => d.granted).length, 20, 'creates may use the reserve, up to the limit exactly')
  const refused = await (quotas[1] as RedisQuota).tryAcquire('create')
  t.equal(refused.granted, false)
  if (!refused.granted) t.ok(refused.retryAt > Date.now() + 23 * 3_600_000, 'retry when the oldest call leaves the 24 h window')
  t.equal(await redis.client().zcard(`${first.prefix}q:calls`), 20)
  t.ok(await redis.client().pttl(`${first.prefix}q:calls`) > 0, 'the calls key expires')
})

t.test('an outage falls back to a share of what was left; rejoining counts those calls again', async (t) => {
  const redis = await startRedis(t)
  const { link, log, prefix } = await startLink(t, redis)
  const limit = 20
  const instances = 4
  const quota = new RedisQuota({ link, callsKey: 'q:calls', pauseKey: 'q:pause', limit, reserve: 0, instances })
  for (let i = 0; i < 8; i++) t.ok((await quota.tryAcquire('poll')).granted)

  await redis.stop()
  await waitFor(() => !link.up, 'the link to notice')
  // Share: floor(20 / 4) = 5, of which ceil(8 / 4) = 2 already spent before the outage.
  const during = []
  for (let i = 0; i < 6; i++) during.push(await quota.tryAcquire('poll'))
  t.same(during.map((d) => d.granted), [true, true, true, false, false, false], '3 calls, the outage share')
  const state = await quota.state()
  t.match(state, { limit: 5, used: 5, remaining: 0 }, 'state shows the share')
  t.equal(log.count('error', 'Redis is unavailable'), 1, 'the outage is logged once, not per call')
  t.ok((link.health().fallbacks.quota ?? 0) >= 7)

  // Redis restarts empty: the instance re-adds every call of its window.
  await redis.start()
  await waitFor(() => link.up, 'the link to rejoin')
  t.equal(await redis.client().zcard(`${prefix}q:calls`), 11, '8 before + 3 during the outage')
  t.match(await quota.state(), { limit: 20, used: 11, remaining: 9 }, 'the shared count is used again')
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
