/**
 * The browser client over real HTTP, with the `eventsource` package as its EventSource:
 * against a real gateway + simulator (an order followed to Done, an unknown order,
 * the polling fallback), and against a hand-made SSE server that drops the connection.
 */
import t, { type Test } from 'tap'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { EventSource } from 'eventsource'
import { trackOrder, type TrackedOrder, type TrackingError, type TrackingStop } from '../../web/client/trackgate-client.js'
import { build } from '../helpers/build.js'
import { SIM_KEY, createOrder } from '../helpers/fixtures.js'
import { waitFor } from '../helpers/wait-for.js'
import type { Config } from '../../src/config.js'
import { trackedOrder, TRACKCODE } from '../helpers/browser-client-fakes.js'

/** Gateway timings that make a simulated order finish within seconds. */
const FAST: Partial<Config> = {
  // The default 1000 calls/day would stretch polling to ~90 s per order.
  dailyQuota: 10_000_000,
  pollIntervalMs: 50,
  pollWaitingPaymentMs: 50,
  pollMaxIntervalMs: 500,
  pollerGraceMs: 100,
  sseRetryMs: 200,
  sseHeartbeatMs: 1000
}
const FAST_SIM = { timing: { confirmMs: 200, outputConfirmMs: 200 } }

/** Records what one tracking session reports. */
function recorder () {
  const updates: TrackedOrder[] = []
  const stops: TrackingStop[] = []
  const errors: TrackingError[] = []
  return {
    updates,
    stops,
    errors,
    callbacks: {
      onUpdate: (order: TrackedOrder) => { updates.push(order) },
      onStop: (stop: TrackingStop) => { stops.push(stop) },
      onError: (error: TrackingError) => { errors.push(error) }
    }
  }
}

/** An EventSource class counting its connections. */
function countingEventSource (): { EventSource: typeof EventSource, count: () => number } {
  let n = 0
  class Counting extends EventSource {
    constructor (url: string | URL) {
      super(url)
      n++
    }
  }
  return { EventSource: Counting, count: () => n }
}

const RANK = ['WaitingForPayment', 'Confirming', 'WaitingForDelivery', 'Done']

/** Checks the sequence a subscriber saw: versions increase, status never goes back, ends Done. */
function checkLifecycle (t: Test, updates: TrackedOrder[], trackcode: string): void {
  t.ok(updates.length >= 2, `several updates (${updates.map((o) => o.status).join(' → ')})`)
  t.equal(updates[0]?.status, 'WaitingForPayment', 'starts waiting for payment')
  t.equal(updates.at(-1)?.status, 'Done', 'ends Done')
  for (let i = 1; i < updates.length; i++) {
    const prev = updates[i - 1] as TrackedOrder
    const cur = updates[i] as TrackedOrder
    t.ok(cur.version > prev.version, `version ${prev.version} → ${cur.version} increases`)
    t.ok(RANK.indexOf(cur.status) >= RANK.indexOf(prev.status), `${prev.status} → ${cur.status} never goes back`)
  }
  t.ok(updates.every((o) => o.trackcode === trackcode))
  const done = updates.at(-1) as TrackedOrder
  t.ok(done.outputs.length > 0 && done.outputs.every((o) => o.state === 2 && o.confirm === 1 && o.tx !== ''), 'every output sent and confirmed')
}

t.test('follows a real order from WaitingForPayment to Done over SSE, then stops', async (t) => {
  const stack = await build(t, { config: FAST, sim: FAST_SIM })
  const trackcode = await createOrder(stack.sim, SIM_KEY, [0, 0])
  const seen = recorder()
  const es = countingEventSource()
  const unsubscribe = trackOrder(trackcode, { baseUrl: stack.gw.url, EventSource: es.EventSource, ...seen.callbacks })
  t.teardown(unsubscribe)

  await waitFor(() => seen.updates.length > 0, 'the first snapshot', 30_000)
  t.equal(seen.updates[0]?.status, 'WaitingForPayment')
  stack.sim.control.pay(trackcode)
  await waitFor(() => seen.stops.length > 0, 'the stop event', 30_000)

  checkLifecycle(t, seen.updates, trackcode)
  t.same(seen.stops, [{ trackcode, status: 'Done', version: seen.updates.at(-1)?.version }])
  t.same(seen.errors, [], 'no error on the way')
  t.equal(es.count(), 1, 'one connection was enough')
})

t.test('an unknown order: the refused stream is probed and reported as NOT_FOUND', async (t) => {
  const stack = await build(t, { config: FAST, sim: FAST_SIM })
  const seen = recorder()
  const es = countingEventSource()
  const unsubscribe = trackOrder('0123456789ABCDEF', { baseUrl: stack.gw.url, EventSource: es.EventSource, ...seen.callbacks })
  t.teardown(unsubscribe)
  await waitFor(() => seen.errors.length > 0, 'the error', 30_000)
  t.equal(seen.errors[0]?.code, 'NOT_FOUND')
  t.equal(seen.errors[0]?.status, 404)
  t.equal(seen.errors[0]?.fatal, true)
  t.type(seen.errors[0]?.message, 'string')
  t.same(seen.updates, [])
  t.equal(es.count(), 1, 'not retried')
})

t.test('without EventSource the client polls the fallback route to Done', async (t) => {
  const stack = await build(t, { config: FAST, sim: FAST_SIM })
  const trackcode = await createOrder(stack.sim, SIM_KEY, [0, 0])
  const seen = recorder()
  const unsubscribe = trackOrder(trackcode, { baseUrl: stack.gw.url, EventSource: null, ...seen.callbacks })
  t.teardown(unsubscribe)
  await waitFor(() => seen.updates.length > 0, 'the first poll', 30_000)
  stack.sim.control.pay(trackcode)
  await waitFor(() => seen.stops.length > 0, 'Done by polling', 30_000)
  checkLifecycle(t, seen.updates, trackcode)
  t.equal(seen.stops[0]?.status, 'Done')
  t.same(seen.errors, [])
})

t.test('a dropped stream is reconnected with backoff; the replayed snapshot is not delivered twice', async (t) => {
  const connections: ServerResponse[] = []
  const server = createServer((req, res) => {
    if (req.url !== `/orders/${TRACKCODE}/subscribe`) {
      res.writeHead(404).end()
      return
    }
    connections.push(res)
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.write('retry: 60000\n\n')
    res.write(`id: 1\ndata: ${JSON.stringify(trackedOrder({ version: 1, status: 'Confirming' }))}\n\n`)
    if (connections.length === 1) {
      // First connection: drop it right after the snapshot.
      res.socket?.destroy()
      return
    }
    res.write(`id: 2\ndata: ${JSON.stringify(trackedOrder({ version: 2, status: 'Done' }))}\n\n`)
    res.write(`event: stop\ndata: ${JSON.stringify({ trackcode: TRACKCODE, status: 'Done', version: 2 })}\n\n`)
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const { port } = server.address() as AddressInfo

  const seen = recorder()
  const es = countingEventSource()
  const unsubscribe = trackOrder(TRACKCODE, {
    baseUrl: `http://127.0.0.1:${port}`,
    EventSource: es.EventSource,
    backoff: { initialMs: 50, maxMs: 400 },
    ...seen.callbacks
  })
  t.teardown(unsubscribe)
  await waitFor(() => seen.stops.length > 0, 'the stop after reconnecting', 30_000)
  t.same(seen.updates.map((o) => o.version), [1, 2], 'version 1 delivered once')
  t.equal(seen.errors.length, 1)
  t.equal(seen.errors[0]?.code, 'DISCONNECTED')
  t.equal(seen.errors[0]?.fatal, false)
  t.ok((seen.errors[0]?.retryInMs ?? 0) >= 50 && (seen.errors[0]?.retryInMs ?? 0) <= 75, 'first delay: initialMs plus jitter, not the server\'s retry: 60000')
  t.equal(es.count(), 2)
  t.equal(connections.length, 2)
})
