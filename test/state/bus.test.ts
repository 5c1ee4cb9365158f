/**
 * The bus port's contract (`src/state/bus/index.ts`), run against every backend: a
 * message reaches the listeners of its trackcode — on every instance, once, intact,
 * in the order its instance published it — and no one else; unsubscribing stops
 * delivery. (Messages of *different* instances published at the same moment may
 * arrive in either order: the publisher's own listeners hear it at once, the others
 * through Redis; the pollers never do that, one trackcode having one poller.)
 * Backend-only behaviour (the Redis channel's mirror hook, malformed messages,
 * outages) is in `redis/`. There is no SQLite backend: a single gateway's bus is the
 * in-process one (no other instance to fan out to, nothing to keep across a restart).
 *
 * Delivery may be asynchronous, so the contract waits for it; to show that nothing
 * *else* arrives, it publishes fences (from the last instance, then the first) and
 * checks what was received once every instance has the last fence: anything sent
 * earlier would have arrived before it.
 */
import t, { type Test } from 'tap'
import type { BusMessage, TrackingBus } from '../../src/state/bus/index.js'
import { MemoryBus } from '../../src/state/bus/memory.js'
import { RedisBus } from '../../src/state/bus/redis.js'
import { startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { clusterLinks, subscribed } from './fixtures/redis.js'
import { CODE, snapshotMessage, trackingMessage } from './fixtures/samples.js'

const OTHER = 'BBBBBBBBBBBBBBBB'
const FENCE = 'FFFFFFFFFFFFFFFF'

/** Three handles on one bus (three instances of a cluster; the same bus in process). */
type MakeStore = (t: Test) => Promise<[TrackingBus, TrackingBus, TrackingBus]>

/** What the listeners of one instance received, by trackcode. */
type Inbox = Map<string, BusMessage[]>

function listen (bus: TrackingBus, trackcodes: string[]): Inbox {
  const inbox: Inbox = new Map()
  for (const code of trackcodes) {
    const got: BusMessage[] = []
    inbox.set(code, got)
    bus.subscribe(code, (m) => { got.push(m) })
  }
  return inbox
}

/** Publishes fences from the last bus then the first, and waits until every inbox has both. */
async function fence (buses: TrackingBus[], inboxes: Inbox[]): Promise<void> {
  for (const [n, bus] of [buses.at(-1), buses[0]].entries()) {
    await bus?.publish(snapshotMessage(n + 1, FENCE))
    await waitFor(() => inboxes.every((inbox) => (inbox.get(FENCE)?.length ?? 0) >= n + 1), `fence ${n + 1} everywhere`)
  }
}

const versions = (messages: BusMessage[] | undefined): unknown[] => (messages ?? []).map((m) => m.kind === 'snapshot' ? m.version : m.kind)

async function contract (t: Test, makeStore: MakeStore): Promise<void> {
  t.test('every instance gets each message of its trackcodes once, in publication order, intact', async (t) => {
    const buses = await makeStore(t)
    const inboxes = buses.map((bus) => listen(bus, [CODE, OTHER, FENCE]))
    const messages: BusMessage[] = [
      ...Array.from({ length: 10 }, (_, i) => snapshotMessage(i + 1)),
      trackingMessage(),
      { ...snapshotMessage(11), status: 'Done', stopFrame: 'event: stop\ndata: {}\n\n' }
    ]
    // From several instances, one after the other (versions of an order are a poll apart).
    for (const [i, message] of messages.entries()) {
      await buses[i % 3]?.publish(message)
      await waitFor(() => inboxes.every((inbox) => (inbox.get(CODE)?.length ?? 0) >= i + 1), `message ${i + 1} everywhere`)
    }
    // A burst from one instance keeps its order too.
    const burst = Array.from({ length: 20 }, (_, i) => snapshotMessage(100 + i))
    for (const message of burst) await buses[1].publish(message)
    await fence(buses, inboxes)
    for (const [i, inbox] of inboxes.entries()) {
      t.same(inbox.get(CODE), [...messages, ...burst], `instance ${i}: each message once, in order, unchanged`)
      t.same(inbox.get(OTHER), [], `instance ${i}: other trackcodes' listeners hear nothing`)
    }
  })

  t.test('several listeners of one trackcode each get every message', async (t) => {
    const buses = await makeStore(t)
    const inboxes = [...buses.map((bus) => listen(bus, [CODE, FENCE])), listen(buses[2], [CODE])]
    await buses[0].publish(snapshotMessage(1))
    await fence(buses, inboxes.slice(0, 3))
    for (const [i, inbox] of inboxes.entries()) t.same(versions(inbox.get(CODE)), [1], `listener ${i}`)
  })

  t.test('unsubscribing stops delivery to that listener only', async (t) => {
    const buses = await makeStore(t)
    const inboxes = buses.map((bus) => listen(bus, [CODE, FENCE]))
    const gone: BusMessage[] = []
    const unsubscribe = buses[2].subscribe(CODE, (m) => { gone.push(m) })
    await buses[0].publish(snapshotMessage(1))
    await waitFor(() => gone.length === 1, 'the message before unsubscribing')
    unsubscribe()
    unsubscribe()
    await buses[0].publish(snapshotMessage(2))
    await waitFor(() => inboxes.every((inbox) => (inbox.get(CODE)?.length ?? 0) >= 2), 'message 2 everywhere')
    await buses[2].publish(snapshotMessage(3))
    await fence(buses, inboxes)
    t.same(versions(gone), [1], 'nothing after unsubscribing (twice is harmless)')
    for (const [i, inbox] of inboxes.entries()) t.same(versions(inbox.get(CODE)), [1, 2, 3], `listener ${i} still hears`)
  })
}

t.test('memory', async (t) => {
  await contract(t, async () => {
    const bus = new MemoryBus()
    return [bus, bus, bus]
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t) => {
    const links = await clusterLinks(t, redis, 3)
    const channel = `${links[0]?.prefix ?? ''}bus`
    const buses = links.map(({ link, log }) => new RedisBus({ link, channel, log: log.logger })) as [RedisBus, RedisBus, RedisBus]
    await subscribed(redis, channel, 3)
    return buses
  })
})
