/**
 * The webhooks port's contract (`src/state/webhooks/index.ts`), run against every
 * backend with the snapshot store that appends to it: a version and its events are
 * stored together or not at all; fan-out makes one delivery per subscribed enabled
 * endpoint, once; only the head of an order × endpoint queue is claimable, a claim
 * excludes other claimers until it lapses; outcomes move the queue and the endpoint's
 * failure count; disabled endpoints pause and resume; replay and deletion; retention
 * (finished deliveries swept by their finish time, events with their last delivery,
 * pending ones untouched and still in order; on Redis, one sweeper per cluster).
 */
import t, { type Test } from 'tap'
import type { SnapshotStore } from '../../src/state/snapshots/index.js'
import { MemorySnapshotStore } from '../../src/state/snapshots/memory.js'
import { RedisSnapshotStore } from '../../src/state/snapshots/redis.js'
import { SqliteSnapshotStore } from '../../src/state/snapshots/sqlite.js'
import type { OutboxEvent, StoredEndpoint, WebhookEventType, WebhookStore } from '../../src/state/webhooks/index.js'
import { MemoryWebhookStore } from '../../src/state/webhooks/memory.js'
import { RedisWebhookStore } from '../../src/state/webhooks/redis.js'
import { SqliteWebhookStore } from '../../src/state/webhooks/sqlite.js'
import { startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import type { TestLink } from '../helpers/redis-link.js'
import { clusterLinks } from './fixtures/redis.js'
import { snapshot } from './fixtures/samples.js'
import { sqliteConnections } from './fixtures/sqlite.js'

const A = 'AAAAAAAAAAAAAAAA'
const B = 'BBBBBBBBBBBBBBBB'
const T = 1_700_000_000_000
const LONG = 60_000

interface Fixture {
  /** Two instances' handles on one state (the same store in process). */
  webhooks: [WebhookStore, WebhookStore]
  snapshots: [SnapshotStore, SnapshotStore]
}

let counter = 0
function event (trackcode: string, type: WebhookEventType = 'order.confirmed'): OutboxEvent {
  const id = `evt_${++counter}`
  return { id, type, trackcode, createdAt: T, body: JSON.stringify({ id, type, created_at: T / 1000, data: { trackcode } }) }
}

function endpoint (id: string, events: WebhookEventType[] = ['order.payment_seen', 'order.confirmed', 'order.completed']): StoredEndpoint {
  return { id, url: `https://${id}.example/hook`, events, enabled: true, disabledReason: null, failures: 0, failingSince: null, secret: `whsec_${id}`, previousSecret: null, previousSecretUntil: null, createdAt: T, updatedAt: T }
}

async function contract (t: Test, make: (t: Test) => Promise<Fixture>): Promise<void> {
  t.test('endpoints: created, read, listed, updated and deleted on every instance', async (t) => {
    const { webhooks: [a, b] } = await make(t)
    await a.createEndpoint(endpoint('ep1'))
    await a.createEndpoint({ ...endpoint('ep2'), createdAt: T + 1 })
    t.same(await b.getEndpoint('ep1'), endpoint('ep1'))
    t.same((await b.listEndpoints()).map((e) => e.id), ['ep1', 'ep2'])
    const updated = await b.updateEndpoint('ep1', { url: 'https://other.example/', events: ['order.gone'] }, T + 5)
    t.match(updated, { url: 'https://other.example/', events: ['order.gone'], updatedAt: T + 5, secret: 'whsec_ep1' })
    t.same(await a.getEndpoint('ep1'), updated)
    t.equal(await a.updateEndpoint('nope', { enabled: false }, T), undefined)
    t.equal(await a.deleteEndpoint('ep1'), true)
    t.equal(await b.deleteEndpoint('ep1'), false)
    t.equal(await b.getEndpoint('ep1'), undefined)
  })

  t.test('a version and its events are stored together, or neither', async (t) => {
    const { webhooks: [a, b], snapshots: [sa, sb] } = await make(t)
    await a.createEndpoint(endpoint('ep1'))
    t.ok(await sa.put(A, snapshot(1), LONG, 0, [event(A, 'order.payment_seen')]))
    // A conflicting writer (expects 0, the store has 1): no version, no event.
    t.notOk(await sb.put(A, snapshot(2), LONG, 0, [event(A, 'order.confirmed')]))
    t.equal(await b.fanOut(T, 100), 1, 'only the stored version\'s event is in the outbox')
    const claimed = await a.claimDue(T, LONG, 10)
    t.same(claimed.map((c) => c.delivery.type), ['order.payment_seen'])
    t.equal((await sb.get(A))?.order.version, 1)
  })

  t.test('fan-out: one delivery per enabled endpoint subscribed to the type, once in the cluster', async (t) => {
    const { webhooks: [a, b], snapshots: [sa] } = await make(t)
    await a.createEndpoint(endpoint('ep1'))
    await a.createEndpoint({ ...endpoint('ep2', ['order.gone']), createdAt: T + 1 })
    await a.createEndpoint({ ...endpoint('ep3'), enabled: false, createdAt: T + 2 })
    await sa.put(A, snapshot(1), LONG, 0, [event(A, 'order.payment_seen'), event(A, 'order.confirmed')])
    const [n1, n2] = await Promise.all([a.fanOut(T, 100), b.fanOut(T, 100)])
    t.equal(n1 + n2, 2, 'each event taken once')
    t.same((await a.listDeliveries('ep1', 10)).map((d) => d.type), ['order.confirmed', 'order.payment_seen'], 'newest first')
    t.same(await a.listDeliveries('ep2', 10), [])
    t.same(await b.listDeliveries('ep3', 10), [])
  })

  t.test('only the head of an order\'s queue is claimable; a claim excludes others until it lapses', async (t) => {
    const { webhooks: [a, b], snapshots: [sa] } = await make(t)
    await a.createEndpoint(endpoint('ep1'))
    await sa.put(A, snapshot(1), LONG, 0, [event(A, 'order.payment_seen'), event(A, 'order.confirmed')])
    await sa.put(B, snapshot(1, 'WaitingForPayment', T, B), LONG, 0, [event(B, 'order.payment_seen')])
    await a.fanOut(T, 100)
    const first = await a.claimDue(T, 1000, 10)
    t.same(first.map((c) => [c.delivery.trackcode, c.delivery.type]), [[A, 'order.payment_seen'], [B, 'order.payment_seen']])
    t.match(first[0], { endpoint: { id: 'ep1', secret: 'whsec_ep1' }, event: { trackcode: A, type: 'order.payment_seen' } })
    t.same(await b.claimDue(T + 999, 1000, 10), [], 'claimed: nobody else gets them, and A\'s second waits for its first')
    const again = await b.claimDue(T + 1000, 1000, 10)
    t.equal(again.length, 2, 'a lapsed claim is claimable again')
    const head = first[0]?.delivery.id as string
    await b.complete(head, { ok: true, status: 204, at: T + 1001 })
    const next = await a.claimDue(T + 1001, 1000, 10)
    t.same(next.map((c) => c.delivery.type), ['order.confirmed'], 'delivered: the next of the queue is due')
    t.match(await a.getDelivery(head), { state: 'delivered', attempts: 1, lastStatus: 204, deliveredAt: T + 1001, nextAttemptAt: null })
  })

  t.test('a failed attempt is retried at its time; giving up moves the queue; the endpoint counts failures', async (t) => {
    const { webhooks: [a, b], snapshots: [sa] } = await make(t)
    await a.createEndpoint(endpoint('ep1'))
    await sa.put(A, snapshot(1), LONG, 0, [event(A, 'order.payment_seen'), event(A, 'order.confirmed')])
    await a.fanOut(T, 100)
    const [c] = await a.claimDue(T, 1000, 10)
    const id = c?.delivery.id as string
    const ep = await a.complete(id, { ok: false, status: 500, error: 'HTTP 500', at: T + 10, retryAt: T + 5000 })
    t.match(ep, { failures: 1, failingSince: T + 10 })
    t.same(await b.claimDue(T + 4999, 1000, 10), [], 'not before its retry time')
    const [retry] = await b.claimDue(T + 5000, 1000, 10)
    t.equal(retry?.delivery.id, id)
    t.equal(retry?.delivery.attempts, 1)
    const after = await b.complete(id, { ok: false, status: null, error: 'connection refused', at: T + 5001, retryAt: null })
    t.match(after, { failures: 2, failingSince: T + 10 })
    t.match(await a.getDelivery(id), { state: 'failed', attempts: 2, lastStatus: null, lastError: 'connection refused', nextAttemptAt: null })
    const [next] = await a.claimDue(T + 5001, 1000, 10)
    t.equal(next?.delivery.type, 'order.confirmed', 'given up: the next one goes')
    t.match(await a.complete(next?.delivery.id as string, { ok: true, status: 200, at: T + 5002 }), { failures: 0, failingSince: null })
    t.match(await a.complete(id, { ok: true, status: 200, at: T + 6000 }), { failures: 0 }, 'completing a finished delivery changes nothing')
    t.match(await a.getDelivery(id), { state: 'failed' })
  })

  t.test('a disabled endpoint\'s deliveries wait; enabling resumes them at once', async (t) => {
    const { webhooks: [a, b], snapshots: [sa] } = await make(t)
    await a.createEndpoint(endpoint('ep1'))
    await sa.put(A, snapshot(1), LONG, 0, [event(A, 'order.payment_seen')])
    await a.fanOut(T, 100)
    const [c] = await a.claimDue(T, 1000, 10)
    await a.complete(c?.delivery.id as string, { ok: false, status: 503, error: 'HTTP 503', at: T, retryAt: T + 60_000 })
    const disabled = await b.updateEndpoint('ep1', { enabled: false, disabledReason: 'failing' }, T + 1)
    t.match(disabled, { enabled: false, disabledReason: 'failing' })
    t.same(await a.claimDue(T + 120_000, 1000, 10), [], 'disabled: nothing claimed')
    const enabled = await b.updateEndpoint('ep1', { enabled: true }, T + 130_000)
    t.match(enabled, { enabled: true, disabledReason: null, failures: 0, failingSince: null })
    const [resumed] = await a.claimDue(T + 130_000, 1000, 10)
    t.equal(resumed?.delivery.id, c?.delivery.id, 'the pending delivery resumes')
  })

  t.test('replay queues the event again; deleting an endpoint deletes its deliveries', async (t) => {
    const { webhooks: [a, b], snapshots: [sa] } = await make(t)
    await a.createEndpoint(endpoint('ep1'))
    await sa.put(A, snapshot(1), LONG, 0, [event(A, 'order.payment_seen')])
    await a.fanOut(T, 100)
    const [c] = await a.claimDue(T, 1000, 10)
    await a.complete(c?.delivery.id as string, { ok: true, status: 200, at: T })
    const replayed = await b.replay(c?.delivery.id as string, T + 10)
    t.match(replayed, { eventId: c?.event.id, endpointId: 'ep1', state: 'pending', attempts: 0 })
    t.not(replayed?.id, c?.delivery.id)
    const [again] = await a.claimDue(T + 10, 1000, 10)
    t.equal(again?.event.id, c?.event.id, 'the same event (same webhook-id)')
    t.equal(await b.replay('dlv_999999', T), undefined)
    t.equal(await a.deleteEndpoint('ep1'), true)
    t.same(await b.listDeliveries('ep1', 10), [])
    t.same(await b.claimDue(T + 20_000, 1000, 10), [])
  })

  t.test('retention: finished deliveries go by their finish time, their event with the last of them; pending ones keep their place', async (t) => {
    const { webhooks: [a, b], snapshots: [sa] } = await make(t)
    await a.createEndpoint(endpoint('ep1'))
    await a.createEndpoint({ ...endpoint('ep2'), createdAt: T + 1 })
    await sa.put(A, snapshot(1), LONG, 0, [event(A, 'order.payment_seen'), event(A, 'order.confirmed'), event(A, 'order.completed')])
    await a.fanOut(T, 100)
    const byEndpoint = async (id: string): Promise<string[]> => (await b.listDeliveries(id, 10)).map((d) => d.id).reverse()
    const [d1, d2, d3] = await byEndpoint('ep1')
    const [e1, e2, e3] = await byEndpoint('ep2')
    // Sorted: which endpoint's deliveries were created first is up to the backend.
    const claimHeads = async (now: number): Promise<string[]> => (await a.claimDue(now, 1, 10)).map((c) => c.delivery.id).sort()
    t.same(await claimHeads(T), [d1, e1].sort())
    await a.complete(d1 as string, { ok: true, status: 200, at: T + 10 })
    await a.complete(e1 as string, { ok: true, status: 200, at: T + 10 })
    t.same(await claimHeads(T + 11), [d2, e2].sort())
    await a.complete(d2 as string, { ok: false, status: 500, error: 'HTTP 500', at: T + 20, retryAt: null })
    await a.complete(e2 as string, { ok: false, status: 500, error: 'HTTP 500', at: T + 20, retryAt: T + 50_000 })
    t.match(await b.getDelivery(d1 as string), { state: 'delivered', finishedAt: T + 10 })
    t.match(await b.getDelivery(d2 as string), { state: 'failed', finishedAt: T + 20 })
    t.match(await b.getDelivery(e2 as string), { state: 'pending', finishedAt: null })

    t.same(await b.sweepFinished(T + 10, 100), { deliveries: 0, events: 0 }, 'finished at the limit: kept')
    t.same(await b.sweepFinished(T + 11, 1), { deliveries: 1, events: 0 }, 'at most max, oldest first; the event still has a delivery')
    t.same(await b.sweepFinished(T + 11, 100), { deliveries: 1, events: 1 }, 'the last delivery of the first event: the event goes too')
    t.equal(await a.getDelivery(d1 as string), undefined)
    t.equal(await a.getDelivery(e1 as string), undefined)
    t.equal(await a.replay(d1 as string, T + 12), undefined, 'a swept delivery cannot be replayed')
    t.same(await byEndpoint('ep1'), [d2, d3], 'listing shows what is retained')

    t.same(await b.sweepFinished(T + 21, 100), { deliveries: 1, events: 0 }, 'given up: swept by its finish time; its event is still pending for ep2')
    t.same(await byEndpoint('ep1'), [d3])
    t.same(await b.sweepFinished(T + 1e12, 100), { deliveries: 0, events: 0 }, 'pending deliveries are never swept')
    t.same(await byEndpoint('ep2'), [e2, e3])
    t.same(await claimHeads(T + 21), [d3], 'ep1\'s next delivery went when the one before it finished')
    await a.complete(d3 as string, { ok: true, status: 200, at: T + 22 })
    t.same(await claimHeads(T + 50_000), [e2], 'ep2 keeps its order: the retried head, not the one behind it')
    await a.complete(e2 as string, { ok: true, status: 200, at: T + 50_001 })
    const replayed = await b.replay(e2 as string, T + 50_002)
    t.same(await b.sweepFinished(T + 50_002, 100), { deliveries: 2, events: 0 }, 'a replay keeps its event')
    t.same(await claimHeads(T + 50_002), [e3])
    await a.complete(e3 as string, { ok: true, status: 200, at: T + 50_003 })
    const [again] = await a.claimDue(T + 50_003, 1000, 10)
    t.equal(again?.delivery.id, replayed?.id)
    t.equal(again?.event.type, 'order.confirmed', 'the replayed delivery still has its event')
  })
}

t.test('memory', async (t) => {
  await contract(t, async () => {
    const webhooks = new MemoryWebhookStore()
    const snapshots = new MemorySnapshotStore({ outbox: webhooks, now: () => T })
    return { webhooks: [webhooks, webhooks], snapshots: [snapshots, snapshots] }
  })
})

t.test('sqlite', async (t) => {
  await contract(t, async (t) => {
    const dbs = await sqliteConnections(t, 2)
    const webhooks = dbs.map((db) => new SqliteWebhookStore({ db })) as [SqliteWebhookStore, SqliteWebhookStore]
    const snapshots = dbs.map((db, i) => new SqliteSnapshotStore({ db, now: () => T, outbox: webhooks[i] })) as [SqliteSnapshotStore, SqliteSnapshotStore]
    return { webhooks, snapshots }
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  await contract(t, async (t) => {
    const links = await clusterLinks(t, redis, 2)
    const webhooks = links.map(({ link }) => new RedisWebhookStore({ link })) as [RedisWebhookStore, RedisWebhookStore]
    const snapshots = links.map(({ link }) => new RedisSnapshotStore({ link, mirrorTtlMs: LONG })) as [RedisSnapshotStore, RedisSnapshotStore]
    return { webhooks, snapshots }
  })

  t.test('with a sweep claim, one instance sweeps until its claim lapses', async (t) => {
    const links = await clusterLinks(t, redis, 2)
    const [a, b] = links.map(({ link }) => new RedisWebhookStore({ link, sweepClaimMs: 1500 })) as [RedisWebhookStore, RedisWebhookStore]
    const sa = new RedisSnapshotStore({ link: links[0]?.link as TestLink['link'], mirrorTtlMs: LONG })
    await a.createEndpoint(endpoint('ep1'))
    await sa.put(A, snapshot(1), LONG, 0, [event(A, 'order.payment_seen')])
    await sa.put(B, snapshot(1, 'WaitingForPayment', T, B), LONG, 0, [event(B, 'order.payment_seen')])
    await a.fanOut(T, 100)
    for (const c of await a.claimDue(T, 1000, 10)) await a.complete(c.delivery.id, { ok: true, status: 200, at: T + 10 })
    t.same(await a.sweepFinished(T, 100), { deliveries: 0, events: 0 }, 'a takes the claim')
    t.same(await b.sweepFinished(T + 11, 100), { deliveries: 0, events: 0 }, 'b: a holds the claim')
    t.equal((await a.listDeliveries('ep1', 10)).length, 2)
    t.same(await a.sweepFinished(T + 11, 1), { deliveries: 1, events: 1 }, 'the holder sweeps again at will')
    await waitFor(async () => (await b.sweepFinished(T + 11, 100)).deliveries === 1, 'b sweeping once a\'s claim lapsed')
    t.same(await a.listDeliveries('ep1', 10), [])
  })
})
