/**
 * Many browsers, one poller: 200 EventSource clients (the `eventsource` npm client,
 * which behaves like a browser's) follow one order through its whole lifecycle.
 *
 * The gateway reads the simulator's time, but its timers (the poller's plans among
 * them) fire only when the test moves them on by one poll interval: the number of
 * checks is bounded by the number of intervals, however fast the machine is.
 */
import t from 'tap'
import { EventSource } from 'eventsource'
import { createManualClock } from '../../src/simulator/index.js'
import type { Clock } from '../../src/tracking/clock.js'
import { build } from '../helpers/build.js'
import { MIN, T0, createOrder } from '../helpers/fixtures.js'
import { VirtualClock } from '../helpers/virtual-clock.js'
import { waitFor } from '../helpers/wait-for.js'

const CLIENTS = 200

interface Seen {
  ids: string[]
  statuses: string[]
  stop: unknown
  opens: number
  es: EventSource
}

t.test(`${CLIENTS} subscribers share one poller and all see the same sequence`, async (t) => {
  const pollIntervalMs = 100
  const timers = new VirtualClock(0)
  let intervals = 0
  /** Moves the gateway's timers on by one poll interval. */
  const tick = async (): Promise<void> => {
    intervals++
    await timers.runUntil(timers.now() + pollIntervalMs)
  }
  const clock = createManualClock(T0)
  const tracking: Clock = { now: () => clock.now(), setTimeout: (fn, ms) => timers.setTimeout(fn, ms), clearTimeout: (handle) => { timers.clearTimeout(handle) } }
  const s = await build(t, { clock, fast: true, config: { pollIntervalMs, pollWaitingPaymentMs: pollIntervalMs, pollMaxIntervalMs: 4 * pollIntervalMs }, app: { tracking: { clock: tracking } } })
  const code = await createOrder(s.sim)
  s.sim.control.resetStats()

  const clients: Seen[] = []
  for (let i = 0; i < CLIENTS; i++) {
    const es = new EventSource(`${s.url}/orders/${code}/subscribe`)
    const seen: Seen = { ids: [], statuses: [], stop: undefined, opens: 0, es }
    es.addEventListener('open', () => { seen.opens++ })
    es.addEventListener('message', (e) => {
      seen.ids.push(e.lastEventId)
      seen.statuses.push((JSON.parse(e.data) as { status: string }).status)
    })
    es.addEventListener('stop', (e) => {
      seen.stop = JSON.parse(e.data)
      es.close()
    })
    clients.push(seen)
  }
  t.teardown(() => { for (const c of clients) c.es.close() })

  /** Ticks until `done` holds. */
  const tickUntil = async (done: () => boolean, what: string): Promise<void> => {
    await waitFor(async () => {
      if (done()) return true
      await tick()
      return false
    }, what, 30_000)
  }
  const allHave = async (n: number, what: string): Promise<void> => {
    await tickUntil(() => clients.every((c) => c.ids.length >= n), what)
  }
  await allHave(1, 'every client\'s first snapshot')
  t.equal(s.app.tracking.stats().subscribers, CLIENTS)
  t.equal(s.app.tracking.stats().pollers, 1, 'one poller for all of them')

  s.sim.control.pay(code)
  await allHave(2, 'Confirming everywhere')
  s.clock.advance(2 * MIN)
  await allHave(3, 'the start everywhere')
  s.clock.advance(MIN)
  await allHave(4, 'output 1 confirmed everywhere')
  s.clock.advance(119 * MIN)
  await allHave(5, 'output 2 sent everywhere')
  s.clock.advance(MIN)
  await tickUntil(() => clients.every((c) => c.stop !== undefined), 'stop everywhere')
  const checks = s.checks()

  const expected = clients[0] as Seen
  t.same(expected.ids, ['1', '2', '3', '4', '5', '6'])
  t.same(expected.statuses, ['WaitingForPayment', 'Confirming', 'WaitingForDelivery', 'WaitingForDelivery', 'WaitingForDelivery', 'Done'])
  t.same(expected.stop, { trackcode: code, status: 'Done', version: 6 })
  const differing = clients.filter((c) => JSON.stringify([c.ids, c.statuses, c.stop]) !== JSON.stringify([expected.ids, expected.statuses, expected.stop]))
  t.equal(differing.length, 0, 'every client saw exactly the same sequence')
  t.ok(clients.every((c) => c.opens === 1), 'no client had to reconnect')

  // Checks are bounded by time, not by subscribers: at most one per poll interval
  // (plus the first one), whereas one check per subscriber would be ≥ 200.
  const bound = intervals + 1
  t.ok(checks <= bound, `${checks} upstream checks in ${intervals} poll intervals (bound ${bound})`)
  t.ok(checks < CLIENTS, 'far fewer checks than subscribers')
  await waitFor(() => s.app.tracking.stats().subscribers === 0, 'streams to close')
  t.equal(s.app.tracking.stats().pollers, 0)
})
