/**
 * The Redis lease store beyond the contract (`../leases.test.ts`): the short lease kept
 * alive in Redis by its holder, takeover from a holder that stopped renewing or died,
 * and leases during and after an outage.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { RedisLeaseStore } from '../../../src/state/leases/redis.js'
import { startRedis } from '../../helpers/redis-server.js'
import { startLink } from '../../helpers/redis-link.js'
import { CODE } from '../fixtures/samples.js'
import { waitFor } from '../../helpers/wait-for.js'

t.test('leases: one holder, renewals and releases only by the owner', async (t) => {
  const redis = await startRedis(t)
  const a = await startLink(t, redis)
  const b = await startLink(t, redis, a.prefix)
  const la = new RedisLeaseStore({ link: a.link, leaseTtlMs: 300 })
  const lb = new RedisLeaseStore({ link: b.link, leaseTtlMs: 300 })
  const raw = redis.client()
  const key = `${a.prefix}lease:${CODE}`

  t.equal(await la.acquire(CODE, 'A', 60_000), true, 'free: taken')
  t.equal(await lb.acquire(CODE, 'B', 60_000), false, 'held by A: refused')
  t.equal(await la.acquire(CODE, 'A', 60_000), true, 'A renews')
  t.equal(await raw.get(key), 'A')
  const ttl = await raw.pttl(key)
  t.ok(ttl > 0 && ttl <= 300, `short lease in Redis (${ttl} ms), whatever the poller asked`)
  t.ok(la.holds(CODE) && !lb.holds(CODE))

  await sleep(900)
  t.equal(await raw.get(key), 'A', 'kept alive by its holder past three lease TTLs')
  t.equal(await lb.acquire(CODE, 'B', 60_000), false)

  await lb.release(CODE, 'B')
  t.equal(await raw.get(key), 'A', 'a release by someone else is ignored')
  await la.release(CODE, 'A')
  t.equal(await raw.exists(key), 0, 'released by its owner')
  t.equal(await lb.acquire(CODE, 'B', 60_000), true, 'and free for the next one')
  await lb.release(CODE, 'B')
})

t.test('leases: a holder that stops renewing loses its lease within the TTL', async (t) => {
  const redis = await startRedis(t)
  const a = await startLink(t, redis)
  const b = await startLink(t, redis, a.prefix)
  const la = new RedisLeaseStore({ link: a.link, leaseTtlMs: 300 })
  const lb = new RedisLeaseStore({ link: b.link, leaseTtlMs: 300 })

  // The poller asked for 400 ms and never came back: renewals stop, the lease lapses.
  t.equal(await la.acquire(CODE, 'A', 400), true)
  await waitFor(async () => await lb.acquire(CODE, 'B', 60_000), 'B to take the abandoned lease', 5000)
  t.equal(la.holds(CODE), false, 'A stopped keeping it')

  // A holder whose process dies (its connection cut) stops renewing too.
  const c = await startLink(t, redis, a.prefix)
  const lc = new RedisLeaseStore({ link: c.link, leaseTtlMs: 300 })
  await lb.release(CODE, 'B')
  t.equal(await lc.acquire(CODE, 'C', 60_000), true)
  c.link.client.disconnect()
  c.link.subscriber.disconnect()
  const cut = Date.now()
  await waitFor(async () => await lb.acquire(CODE, 'B', 60_000), 'B to take over from the dead holder', 5000)
  t.ok(Date.now() - cut < 5000, `taken over after ${Date.now() - cut} ms (lease TTL 300 ms)`)
  await lb.close()
})

t.test('leases: always granted during an outage; settled again after it', async (t) => {
  const redis = await startRedis(t)
  const a = await startLink(t, redis)
  const b = await startLink(t, redis, a.prefix)
  const la = new RedisLeaseStore({ link: a.link, leaseTtlMs: 300 })
  const lb = new RedisLeaseStore({ link: b.link, leaseTtlMs: 300 })
  t.equal(await la.acquire(CODE, 'A', 60_000), true)
  await redis.stop()
  await waitFor(() => !a.link.up && !b.link.up, 'the links to notice')
  t.equal(await lb.acquire(CODE, 'B', 60_000), true, 'B polls on its own during the outage')
  t.equal(await la.acquire(CODE, 'A', 60_000), true, 'and so does A')
  await redis.start()
  await waitFor(() => a.link.up && b.link.up, 'the links to rejoin')
  const holders = [await la.acquire(CODE, 'A', 60_000), await lb.acquire(CODE, 'B', 60_000)]
  t.same(holders.filter(Boolean).length, 1, 'one holder again, on the restarted Redis')
})
