/**
 * How streams end without `stop`: a reader that stalls is cut, streams rotate at their
 * maximum lifetime, and a shutdown says farewell — always so that a browser's
 * EventSource reconnects by itself, with `Last-Event-ID` and without a duplicate.
 */
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { EventSource } from 'eventsource'
import { MemoryBus } from '../../src/state/bus/memory.js'
import { snapshotFrame } from '../../src/tracking/frames.js'
import { FAREWELL_JITTER_MS, FAREWELL_RETRY_MS } from '../../src/tracking/hub/farewell.js'
import { MemorySnapshotStore } from '../../src/state/snapshots/memory.js'
import { build } from '../helpers/build.js'
import { T0, createOrder } from '../helpers/fixtures.js'
import { isSnapshot, openRaw, withStatus, type SseEvent } from '../helpers/sse-reader.js'
import { waitFor } from '../helpers/wait-for.js'
import { createManualClock } from '../../src/simulator/index.js'

const isFarewell = (e: SseEvent): boolean => e.event === 'retry' && (e.retry ?? 0) >= FAREWELL_RETRY_MS && (e.retry ?? 0) <= FAREWELL_RETRY_MS + FAREWELL_JITTER_MS

/** A reader that keeps only the last event id it saw (the test sends it tens of MB). */
async function leanReader (t: Test, url: string): Promise<{ lastId: () => string | undefined }> {
  let lastId: string | undefined
  let tail = ''
  await new Promise<void>((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        const text = tail + chunk
        for (const m of text.matchAll(/(?:^|\n)id: (\d+)\n/g)) lastId = m[1]
        tail = text.slice(-32)
      })
      resolve()
    })
    req.on('error', reject)
    t.teardown(() => { req.destroy() })
  })
  return { lastId: () => lastId }
}

t.test('a subscriber that stops reading is cut, without holding back the others', async (t) => {
  const bus = new MemoryBus()
  const s = await build(t, { clock: 'manual', fast: true, app: { state: { bus }, tracking: { stallTimeoutMs: 300 } } })
  const code = await createOrder(s.sim)
  const reader = await leanReader(t, `${s.url}/orders/${code}/subscribe`)
  await waitFor(() => reader.lastId() === '1', 'the reader\'s first snapshot')
  const stalled = net.connect(Number(new URL(s.url).port), '127.0.0.1')
  t.teardown(() => stalled.destroy())
  stalled.write(`GET /orders/${code}/subscribe HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`)
  stalled.pause()
  await waitFor(() => s.app.tracking.stats().subscribers === 2, 'both subscribers')

  // Large versions, as fast as the bus takes them: more than a socket buffer holds.
  const pad = 'x'.repeat(64 * 1024)
  const last = 512
  for (let v = 2; v <= last; v++) {
    const json = JSON.stringify({ trackcode: code, status: 'WaitingForPayment', version: v, pad })
    await bus.publish({ kind: 'snapshot', trackcode: code, version: v, status: 'WaitingForPayment', json, frame: snapshotFrame(v, json) })
    await new Promise((resolve) => setImmediate(resolve))
  }
  await waitFor(() => s.app.tracking.stats().streamsStalled === 1, 'the stalled subscriber to be cut')
  // The cut is counted when it is decided; the stream leaves its topic when its socket closes.
  await waitFor(() => s.app.tracking.stats().subscribers <= 1, 'the cut stream to leave its topic')
  t.equal(s.app.tracking.stats().subscribers, 1, 'only the reader is left')
  await waitFor(() => reader.lastId() === String(last), 'the reader to get the latest version')
  t.pass('the reader got every version up to the latest, unhindered')
})

t.test('a stream is rotated at its maximum lifetime; EventSource resumes without a duplicate', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { sseMaxLifetimeMs: 1000, pollerGraceMs: 5000 } })
  const code = await createOrder(s.sim)

  const raw = await openRaw(`${s.url}/orders/${code}/subscribe`)
  const opened = Date.now()
  await raw.next(isSnapshot)
  await waitFor(() => raw.ended(), 'the stream to be rotated', 10_000)
  t.ok(Date.now() - opened >= 700, 'not before 80 % of the lifetime (less scheduling slack)')
  t.ok(raw.endedCleanly(), 'a clean end, not a cut')
  t.same(raw.events.map((e) => e.event), ['retry', 'message', 'retry'])
  t.ok(isFarewell(raw.events[2] as SseEvent), `a short retry: (${raw.events[2]?.retry ?? 0} ms)`)
  await waitFor(() => raw.socketClosed(), 'the connection to be closed too')
  t.ok(s.app.tracking.stats().streamsRotated >= 1)

  const es = new EventSource(`${s.url}/orders/${code}/subscribe`)
  t.teardown(() => { es.close() })
  let opens = 0
  const ids: string[] = []
  es.addEventListener('open', () => { opens++ })
  es.addEventListener('message', (e) => { ids.push(e.lastEventId) })
  await waitFor(() => opens >= 3, 'two rotations', 15_000)
  t.same(ids, ['1'], 'the snapshot once: each reconnection sent Last-Event-ID 1 and got no duplicate')
  s.sim.control.pay(code)
  await waitFor(() => ids.length === 2, 'the next change on the rotated stream')
  t.same(ids, ['1', '2'])
})

t.test('shutdown: every stream gets a short retry: and ends normally; later subscriptions too (never 503)', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const code = await createOrder(s.sim)
  const streams = [await openRaw(`${s.url}/orders/${code}/subscribe`), await openRaw(`${s.url}/orders/${code}/subscribe`)]
  for (const st of streams) await st.next(isSnapshot)

  // A subscription whose first check is still running when the shutdown starts.
  const other = await createOrder(s.sim)
  s.sim.control.fail({ mode: 'hang', count: 1, route: '/v1/orders/check' })
  const checks = s.checks()
  const pending = openRaw(`${s.url}/orders/${other}/subscribe`)
  await waitFor(() => s.checks() > checks, 'its first check to reach upstream')

  // What the lifecycle's shutdown handler does (before it waits for in-flight requests).
  s.app.tracking.close()
  const caught = await pending
  await waitFor(() => caught.ended(), 'the pending subscription to end')
  t.equal(caught.status, 200, 'its aborted check is no error of the client\'s: a farewell, not an envelope')
  t.same(caught.events.map((e) => e.event), ['retry'])
  t.ok(isFarewell(caught.events[0] as SseEvent))
  for (const st of streams) {
    await waitFor(() => st.ended(), 'the stream to end')
    t.ok(st.endedCleanly(), 'ended normally: EventSource reconnects')
    t.ok(isFarewell(st.events.at(-1) as SseEvent), `its last frame is a short retry: (${st.events.at(-1)?.retry ?? 0} ms)`)
    await waitFor(() => st.socketClosed(), 'the connection to be closed, so the browser reconnects elsewhere')
  }

  const late = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await waitFor(() => late.ended(), 'the late stream to end')
  t.equal(late.status, 200, 'a subscription while shutting down: 200, not 503')
  t.equal(late.headers['content-type'], 'text/event-stream')
  t.same(late.events.map((e) => e.event), ['retry'])
  t.ok(isFarewell(late.events[0] as SseEvent))
  t.ok(late.endedCleanly())
  t.equal(s.app.tracking.stats().streamsFarewelled, 4)
  t.equal(s.app.tracking.stats().pollers, 0)
})

t.test('a graceful shutdown of one of two gateways: EventSource reconnects to the other, without a duplicate', async (t) => {
  const clock = createManualClock(T0)
  // Two gateways sharing snapshots and fan-out (as through Redis).
  const store = new MemorySnapshotStore({ now: () => clock.now() })
  const bus = new MemoryBus()
  const { sim, gateways: both } = await build(t, { clock, fast: true, instances: 2, app: { logger: false, state: { snapshots: store, bus } } })
  const gateways = both.map((g) => ({ app: g.app, port: Number(new URL(g.url).port) }))
  const [a, b] = gateways as [typeof gateways[0], typeof gateways[0]]

  // A load balancer: each connection goes to the first gateway that accepts it.
  const proxy = net.createServer((client) => {
    const attempt = (ports: number[]): void => {
      const [port, ...rest] = ports
      const upstream = net.connect(port as number, '127.0.0.1')
      upstream.once('connect', () => {
        upstream.on('error', () => { client.destroy() })
        client.on('error', () => { upstream.destroy() })
        client.pipe(upstream).pipe(client)
      })
      upstream.once('error', () => {
        if (rest.length > 0) attempt(rest)
        else client.destroy()
      })
    }
    attempt([a.port, b.port])
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { proxy.close() })
  const front = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`

  const code = await createOrder(sim)
  const es = new EventSource(`${front}/orders/${code}/subscribe`)
  t.teardown(() => { es.close() })
  let opens = 0
  let errors = 0
  const ids: string[] = []
  es.addEventListener('open', () => { opens++ })
  es.addEventListener('error', () => { errors++ })
  es.addEventListener('message', (e) => { ids.push(e.lastEventId) })
  await waitFor(() => ids.length === 1, 'the first snapshot, from gateway A')
  t.equal(a.app.tracking.stats().subscribers, 1)

  await a.app.lifecycle.shutdown({ timeoutMs: 10_000 })
  t.equal(a.app.server.listening, false, 'gateway A is gone')
  await waitFor(() => opens === 2, 'EventSource to reconnect (through the balancer, to B)')
  await waitFor(() => b.app.tracking.stats().subscribers === 1, 'the stream to be on gateway B')
  t.equal(es.readyState, EventSource.OPEN)
  t.same(ids, ['1'], 'Last-Event-ID 1 was sent: no duplicate snapshot')
  t.ok(errors >= 1, 'the end of the first stream was seen as such')

  sim.control.pay(code)
  await waitFor(() => ids.length === 2, 'the next change, from gateway B')
  t.same(ids, ['1', '2'])
  const raw = await openRaw(`${front}/orders/${code}/subscribe`)
  t.equal((await raw.next(withStatus('Confirming'))).id, '2', 'gateway B serves the versions gateway A\'s subscribers knew')
  raw.close()
})
