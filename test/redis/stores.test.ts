/**
 * The shared stores against a real redis-server: leases, snapshots, the bus, the
 * response cache and idempotency records — each with its outage fallback and rejoin —
 * plus the key layout (namespaced, every key expiring).
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { RedisBus } from '../../src/state/bus/redis.js'
import { RedisCacheStore, upstreamResultCodec } from '../../src/state/cache/redis.js'
import { RedisIdempotencyStore } from '../../src/state/idempotency/redis.js'
import { RedisLeaseStore } from '../../src/state/leases/redis.js'
import { RedisQuota } from '../../src/state/quota/redis.js'
import { RedisSnapshotStore } from '../../src/state/snapshots/redis.js'
import { type StoredSnapshot } from '../../src/state/snapshots/index.js'
import { MemorySnapshotStore } from '../../src/state/snapshots/memory.js'
import type { BusMessage, SnapshotMessage } from '../../src/state/bus/index.js'
import type { TrackedOrder } from '../../src/tracking/status.js'
import type { UpstreamResult } from '../../src/upstream/client.js'
import { startRedis, type RedisServer } from '../helpers/redis-server.js'
import { startLink } from './fixtures/link.js'
import { waitFor } from './fixtures/log.js'

const CODE = '6A5FB3BA8A150EC9'

function snapshot (version: number, status = 'WaitingForPayment', checkedAt = Date.now()): StoredSnapshot {
  const order = { trackcode: CODE, version, status } as unknown as TrackedOrder
  return { order, json: JSON.stringify(order), checkedAt }
}

function snapshotMessage (version: number): SnapshotMessage {
  const s = snapshot(version)
  return { kind: 'snapshot', trackcode: CODE, version, status: s.order.status, json: s.json, frame: `id: ${version}\ndata: ${s.json}\n\n` }
}

/** Waits until `count` connections listen on `channel`. */
async function subscribed (redis: RedisServer, channel: string, count: number): Promise<void> {
  const raw = redis.client()
  await waitFor(async () => (await raw.pubsub('NUMSUB', channel))[1] === count, `${count} subscribers on the channel`)
}

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

t.test('snapshots: compare-and-set versions, expiry, not-found answers', async (t) => {
  const redis = await startRedis(t)
  const { link, prefix } = await startLink(t, redis)
  const other = await startLink(t, redis, prefix)
  const store = new RedisSnapshotStore({ link, mirrorTtlMs: 60_000 })
  const peer = new RedisSnapshotStore({ link: other.link, mirrorTtlMs: 60_000 })
  const memory = new MemorySnapshotStore()
  const raw = redis.client()

  t.equal(await store.get(CODE), undefined)
  // The same sequence of writes on both: same answers.
  const writes: Array<[StoredSnapshot, number]> = [[snapshot(1), 0], [snapshot(2), 0], [snapshot(2), 1], [snapshot(3), 1], [snapshot(3, 'Confirming'), 2], [snapshot(4), 3]]
  for (const [s, expected] of writes) {
    t.equal(await store.put(CODE, s, 60_000, expected), await memory.put(CODE, s, 60_000, expected), `put v${s.order.version} expecting v${expected}`)
  }
  t.same(await peer.get(CODE), await memory.get(CODE), 'another instance reads the same snapshot')
  t.equal((await peer.get(CODE))?.order.version, 4)
  const ttl = await raw.pttl(`${prefix}snap:${CODE}`)
  t.ok(ttl > 55_000 && ttl <= 60_000, 'the snapshot expires')

  // Two writers racing for version 5: exactly one wins.
  const race = await Promise.all([store.put(CODE, snapshot(5, 'Confirming'), 60_000, 4), peer.put(CODE, snapshot(5, 'Done'), 60_000, 4)])
  t.same(race.filter(Boolean).length, 1, 'one writer of version 5')

  t.equal(await peer.isNotFound('FFFFFFFFFFFFFFFF'), false)
  await store.markNotFound('FFFFFFFFFFFFFFFF', 60_000)
  t.equal(await peer.isNotFound('FFFFFFFFFFFFFFFF'), true, 'a 404 is remembered cluster-wide')
  t.ok(await raw.pttl(`${prefix}nf:FFFFFFFFFFFFFFFF`) > 0)
  await store.put(CODE, snapshot(6), 0, 5)
  t.equal(await store.get(CODE), undefined, 'a zero TTL stores nothing')
})

t.test('snapshots: the mirror answers during an outage and is merged back (higher versions only)', async (t) => {
  const redis = await startRedis(t)
  const { link, prefix } = await startLink(t, redis)
  const other = await startLink(t, redis, prefix)
  const store = new RedisSnapshotStore({ link, mirrorTtlMs: 60_000 })
  const second = new RedisSnapshotStore({ link: other.link, mirrorTtlMs: 60_000 })
  t.equal(await store.put(CODE, snapshot(1), 60_000, 0), true)
  // A version another instance published reaches the mirror through the bus.
  await store.remember(snapshotMessage(3))
  t.equal(await second.put('AAAAAAAAAAAAAAAA', snapshot(7), 60_000, 0), true)

  await redis.stop()
  await waitFor(() => !link.up && !other.link.up, 'the links to notice')
  t.equal((await store.get(CODE))?.order.version, 3, 'the latest version seen, from the mirror')
  t.equal(await store.put(CODE, snapshot(4), 60_000, 3), true, 'versions go on from there')
  t.equal(await store.put(CODE, snapshot(4), 60_000, 2), false, 'compare-and-set holds on the mirror too')
  t.equal((await second.get('AAAAAAAAAAAAAAAA'))?.order.version, 7)

  await redis.start()
  await waitFor(() => link.up && other.link.up, 'the links to rejoin')
  t.equal((await second.get(CODE))?.order.version, 4, 'the restarted Redis got the outage\'s version back')
  t.equal((await store.get('AAAAAAAAAAAAAAAA'))?.order.version, 7)
  // A lower mirrored version never overwrites a higher shared one.
  t.equal(await second.put(CODE, snapshot(5), 60_000, 4), true)
  await redis.stop()
  await waitFor(() => !link.up, 'the link to notice')
  await redis.start()
  await waitFor(() => link.up, 'the link to rejoin')
  t.equal((await second.get(CODE))?.order.version, 5, 'merge kept the higher version')
})

t.test('bus: each instance delivers each message once, its own included', async (t) => {
  const redis = await startRedis(t)
  const a = await startLink(t, redis)
  const b = await startLink(t, redis, a.prefix)
  const c = await startLink(t, redis, a.prefix)
  const channel = `${a.prefix}bus`
  const remembered: SnapshotMessage[] = []
  const buses = [a, b, c].map(({ link, log }, i) => new RedisBus({ link, channel, log: log.logger, ...(i === 1 ? { onRemoteSnapshot: (m: SnapshotMessage) => { remembered.push(m) } } : {}) }))
  await subscribed(redis, channel, 3)
  const got: BusMessage[][] = [[], [], []]
  const other: BusMessage[] = []
  buses.forEach((bus, i) => bus.subscribe(CODE, (m) => { got[i]?.push(m) }))
  const unsubscribe = (buses[2] as RedisBus).subscribe('BBBBBBBBBBBBBBBB', (m) => { other.push(m) })
  // Versions of one order are a poll interval apart: each reaches everyone before the next.
  await (buses[0] as RedisBus).publish(snapshotMessage(1))
  await waitFor(() => got.every((g) => g.length >= 1), 'every instance to get the first message')
  await (buses[1] as RedisBus).publish(snapshotMessage(2))
  await waitFor(() => got.every((g) => g.length >= 2), 'every instance to get the second message')
  await (buses[2] as RedisBus).publish({ kind: 'tracking', trackcode: CODE, state: { state: 'degraded', reason: 'UPSTREAM_TIMEOUT', message: 'slow', next_check_at: 1 }, frame: 'event: tracking\ndata: {}\n\n' })
  await waitFor(() => got.every((g) => g.length >= 3), 'every instance to get every message')
  await sleep(100)
  for (const [i, g] of got.entries()) {
    t.same(g.map((m) => m.kind === 'snapshot' ? m.version : m.kind), [1, 2, 'tracking'], `instance ${i}: each message once, in order`)
  }
  t.same(remembered.map((m) => m.version), [1], 'the mirror hook hears versions of other instances only')
  t.same(other, [], 'other trackcodes\' listeners hear nothing')
  unsubscribe()

  // Garbage on the channel is ignored (and logged), never delivered.
  await redis.client().publish(channel, '{"origin":"x","message":{"kind":"snapshot","trackcode":"' + CODE + '"}}')
  await redis.client().publish(channel, 'not json')
  await waitFor(() => a.log.count('warn', 'malformed') === 2, 'the malformed messages to be noticed')
  t.equal(got[0]?.length, 3)
})

t.test('bus: local only during an outage, resubscribed after it', async (t) => {
  const redis = await startRedis(t)
  const a = await startLink(t, redis)
  const b = await startLink(t, redis, a.prefix)
  const channel = `${a.prefix}bus`
  const ba = new RedisBus({ link: a.link, channel, log: a.log.logger })
  const bb = new RedisBus({ link: b.link, channel, log: b.log.logger })
  await subscribed(redis, channel, 2)
  const atA: number[] = []
  const atB: number[] = []
  ba.subscribe(CODE, (m) => { if (m.kind === 'snapshot') atA.push(m.version) })
  bb.subscribe(CODE, (m) => { if (m.kind === 'snapshot') atB.push(m.version) })
  await redis.stop()
  await waitFor(() => !a.link.up && !b.link.up, 'the links to notice')
  await ba.publish(snapshotMessage(1))
  t.same(atA, [1], 'delivered locally during the outage')
  await redis.start()
  await waitFor(() => a.link.up && b.link.up, 'the links to rejoin')
  await ba.publish(snapshotMessage(2))
  await waitFor(() => atB.includes(2), 'the other instance to hear again')
  t.same(atA, [1, 2])
  t.same(atB, [2])
})

t.test('cache: upstream answers byte for byte, with their TTL, and a local twin for outages', async (t) => {
  const redis = await startRedis(t)
  const a = await startLink(t, redis)
  const b = await startLink(t, redis, a.prefix)
  const ca = new RedisCacheStore<UpstreamResult>({ link: a.link, codec: upstreamResultCodec })
  const cb = new RedisCacheStore<UpstreamResult>({ link: b.link, codec: upstreamResultCodec })
  // Odd spacing, unicode and an escaped line feed: only the exact bytes will do.
  const raw = Buffer.from('{ "ok":true,\n  "symbol" : "₿", "note":"a\\nb" ,"n":1.50}', 'utf8')
  const value: UpstreamResult = { statusCode: 200, raw, body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, retryAfter: '7' }
  t.equal(await cb.get('GET /meta/mixer'), undefined)
  await ca.set('GET /meta/mixer', value, 60_000)
  const hit = await cb.get('GET /meta/mixer')
  t.ok(hit?.raw.equals(raw), 'raw bytes unchanged')
  t.same(hit, value, 'status, parsed body and Retry-After too')
  const ttl = await redis.client().pttl(`${a.prefix}cache:GET /meta/mixer`)
  t.ok(ttl > 55_000 && ttl <= 60_000, 'expires with the route\'s TTL')
  await ca.set('GET /prices', value, 0)
  t.equal(await cb.get('GET /prices'), undefined, 'a zero TTL caches nothing')
  await redis.client().set(`${a.prefix}cache:GET /bad`, 'garbage')
  t.equal(await cb.get('GET /bad'), undefined, 'unreadable entries are misses')

  await redis.stop()
  await waitFor(() => !a.link.up && !b.link.up, 'the links to notice')
  t.same(await ca.get('GET /meta/mixer'), value, 'the writer still has it during the outage')
  t.equal(await cb.get('GET /meta/mixer'), undefined, 'the other instance misses (and asks upstream)')
})

t.test('idempotency: shared claims and answers, binary-safe; outage answers written back', async (t) => {
  const redis = await startRedis(t)
  const a = await startLink(t, redis)
  const b = await startLink(t, redis, a.prefix)
  const sa = new RedisIdempotencyStore({ link: a.link })
  const sb = new RedisIdempotencyStore({ link: b.link })
  const body = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x0a, 0x7d])
  const response = { statusCode: 201, contentType: 'application/json; charset=utf-8', body }

  t.same(await sa.begin('k1', 'f1', 60_000), { state: 'new' })
  t.same(await sb.begin('k1', 'f1', 60_000), { state: 'running' }, 'claimed cluster-wide')
  t.same(await sb.begin('k1', 'f2', 60_000), { state: 'mismatch' })
  const lock = await redis.client().pttl(`${a.prefix}idem:k1`)
  t.ok(lock > 0 && lock <= 60_000, 'a claim lapses after the lock time')
  await sa.complete('k1', 'f1', response, 3_600_000)
  const replay = await sb.begin('k1', 'f1', 60_000)
  t.same(replay, { state: 'done', response }, 'the other instance replays the answer')
  if (replay.state === 'done') t.ok(replay.response.body.equals(body), 'byte for byte')
  t.ok(await redis.client().pttl(`${a.prefix}idem:k1`) > 3_500_000, 'kept for the replay TTL')

  t.same(await sa.begin('k2', 'f', 60_000), { state: 'new' })
  await sa.abandon('k2')
  t.same(await sb.begin('k2', 'f', 60_000), { state: 'new' }, 'an abandoned key can be used again')
  await sb.complete('k2', 'f', response, 3_600_000)
  await sa.abandon('k2')
  t.same((await sa.begin('k2', 'f', 60_000)).state, 'done', 'abandon never drops an answer')

  // Claimed before the outage, answered during it: written back on rejoin.
  t.same(await sa.begin('k3', 'f', 60_000), { state: 'new' })
  await redis.stop('SIGTERM')
  await waitFor(() => !a.link.up, 'the link to notice')
  await sa.complete('k3', 'f', response, 3_600_000)
  t.same((await sa.begin('k3', 'f', 60_000)).state, 'done', 'this instance replays it during the outage')
  await redis.start()
  await waitFor(() => a.link.up && b.link.up, 'the links to rejoin')
  t.same(await sb.begin('k3', 'f', 60_000), { state: 'done', response }, 'the outage\'s answer reached Redis')
})

t.test('keys: namespaced, and every one of them expires', async (t) => {
  const redis = await startRedis(t)
  const { link, prefix, log } = await startLink(t, redis)
  const leases = new RedisLeaseStore({ link, leaseTtlMs: 5000 })
  await leases.acquire(CODE, 'A', 60_000)
  await new RedisSnapshotStore({ link, mirrorTtlMs: 60_000 }).put(CODE, snapshot(1), 60_000, 0)
  await new RedisSnapshotStore({ link, mirrorTtlMs: 60_000 }).markNotFound('FFFFFFFFFFFFFFFF', 60_000)
  await new RedisCacheStore<UpstreamResult>({ link, codec: upstreamResultCodec }).set('GET /prices', { statusCode: 200, raw: Buffer.from('{}'), body: {} }, 60_000)
  await new RedisIdempotencyStore({ link }).begin('k', 'f', 60_000)
  const quota = new RedisQuota({ link, callsKey: 'quota:x:calls', pauseKey: 'quota:x:pause', limit: 10, reserve: 1, instances: 2 })
  await quota.tryAcquire('poll')
  await quota.pause(Date.now() + 60_000)
  const bus = new RedisBus({ link, channel: `${prefix}bus`, log: log.logger })
  await bus.publish(snapshotMessage(1))
  const raw = redis.client()
  const keys = await raw.keys('*')
  t.equal(keys.length, 7, keys.join(', '))
  for (const key of keys) {
    t.ok(key.startsWith(prefix), `${key} is namespaced`)
    t.ok(await raw.pttl(key) > 0, `${key} expires`)
  }
  await leases.close()
})
