/**
 * The Redis bus beyond the contract (`../bus.test.ts`): the mirror hook hears other
 * instances' versions only, malformed channel messages are ignored and logged, and
 * delivery is local during an outage and cluster-wide again after it.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { RedisBus } from '../../../src/state/bus/redis.js'
import type { BusMessage, SnapshotMessage } from '../../../src/state/bus/index.js'
import { startRedis } from '../../helpers/redis-server.js'
import { startLink } from '../../helpers/redis-link.js'
import { subscribed } from '../fixtures/redis.js'
import { CODE, snapshotMessage } from '../fixtures/samples.js'
import { waitFor } from '../../helpers/wait-for.js'

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
