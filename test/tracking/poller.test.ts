/**
 * Poller lifecycle: started by the first subscriber, stopped after the last one left
 * (grace period), stopped on shutdown, and only run by the lease holder.
 */
import t from 'tap'
import type { LeaseStore } from '../../src/state/leases/index.js'
import { MemoryLeaseStore } from '../../src/state/leases/memory.js'
import { build } from '../helpers/build.js'
import { createOrder } from '../helpers/fixtures.js'
import { isSnapshot, openRaw } from '../helpers/sse-reader.js'
import { waitFor } from '../helpers/wait-for.js'

t.test('the poller stops within the grace period after the last subscriber leaves', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { pollerGraceMs: 300 } })
  const code = await createOrder(s.sim)
  const a = await openRaw(`${s.url}/orders/${code}/subscribe`)
  const b = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await a.next(isSnapshot)
  await b.next(isSnapshot)
  t.same([s.app.tracking.stats().pollers, s.app.tracking.stats().subscribers], [1, 2])

  a.close()
  await waitFor(() => s.app.tracking.stats().subscribers === 1, 'a to be gone')
  const before = s.checks()
  await waitFor(() => s.checks() >= before + 3, 'polling to go on for the remaining subscriber')
  t.equal(s.app.tracking.stats().pollers, 1)

  b.close()
  const left = Date.now()
  await waitFor(() => s.app.tracking.stats().pollers === 0, 'the poller to stop')
  t.ok(Date.now() - left >= 250, 'not before the grace period')
  t.equal(s.app.tracking.stats().topics, 0)
  const after = s.checks()
  // Several poll intervals later, still no new check.
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.equal(s.checks(), after, 'no check after the poller stopped')
})

t.test('a subscriber returning within the grace period finds the poller running', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { pollerGraceMs: 60_000, pollIntervalMs: 100, pollWaitingPaymentMs: 60_000 } })
  const code = await createOrder(s.sim)
  const first = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await first.next(isSnapshot)
  first.close()
  await waitFor(() => s.app.tracking.stats().subscribers === 0, 'the subscriber to leave')
  const checks = s.checks()
  const again = await openRaw(`${s.url}/orders/${code}/subscribe`, { 'last-event-id': '1' })
  t.equal(again.status, 200)
  t.equal(s.checks(), checks, 'served from the running poller, no new check')
  t.same(s.app.tracking.stats().pollers, 1, 'still one poller')
  await again.next((e) => e.event === 'retry')
  t.same(again.events.map((e) => e.event), ['retry'], 'and, resuming at the current version, no duplicate snapshot')
  again.close()
})

t.test('app.close() ends open streams and stops every poller', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const codes = [await createOrder(s.sim), await createOrder(s.sim)]
  const streams = await Promise.all(codes.map(async (c) => await openRaw(`${s.url}/orders/${c}/subscribe`)))
  for (const st of streams) await st.next(isSnapshot)
  t.equal(s.app.tracking.stats().pollers, 2)
  await s.app.close()
  await waitFor(() => streams.every((st) => st.ended()), 'every stream to end')
  t.same([s.app.tracking.stats().pollers, s.app.tracking.stats().subscribers, s.app.tracking.stats().topics], [0, 0, 0])
  const checks = s.checks()
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(s.checks(), checks, 'no check after close')
})

t.test('only the lease holder polls', async (t) => {
  // Another gateway holds every lease: this one serves its subscribers' first
  // snapshot but leaves the polling to the other one (which publishes on the bus).
  const other = new MemoryLeaseStore()
  const lease: LeaseStore = {
    acquire: async (trackcode, _owner, ttl) => await other.acquire(trackcode, 'other-gateway', ttl) && false,
    release: async () => {}
  }
  const s = await build(t, { clock: 'manual', fast: true, app: { state: { leases: lease } } })
  const code = await createOrder(s.sim)
  const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await stream.next(isSnapshot)
  const checks = s.checks()
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(s.checks(), checks, 'no check without the lease')
  t.equal(s.app.tracking.stats().pollers, 1, 'the poller waits for the lease')
  stream.close()
})

t.test('a client leaving during the first check leaves nothing behind', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const code = await createOrder(s.sim)
  // The first check takes a while: the answer is trickled out.
  s.sim.control.fail({ mode: 'slow', count: 1, route: '/v1/orders/check', delayMs: 60 })
  const controller = new AbortController()
  const pending = fetch(`${s.url}/orders/${code}/subscribe`, { headers: { accept: 'text/event-stream' }, signal: controller.signal }).catch(() => 'aborted')
  await waitFor(() => s.checks() === 1, 'the first check to start')
  controller.abort()
  t.equal(await pending, 'aborted')
  await waitFor(() => s.app.tracking.stats().pollers === 0 && s.app.tracking.stats().topics === 0, 'nothing to be left running', 5000)
  t.equal(s.app.tracking.stats().subscribers, 0, 'no stream registered for the gone client')
  t.equal(s.app.tracking.stats().streamsOpened, 0)
})

t.test('HEAD is not a way to open a stream', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const code = await createOrder(s.sim)
  const res = await fetch(`${s.url}/orders/${code}/subscribe`, { method: 'HEAD' })
  t.equal(res.status, 404)
  t.equal(s.checks(), 0)
})
