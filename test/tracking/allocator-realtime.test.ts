/**
 * The poll allocator in real time (not virtual time): the simulator, refreshing its
 * order data every PERIOD on the real clock, and one gateway tracking on the real clock
 * with `POLL_INTERVAL_MS` = PERIOD, a counting proxy between them (when each check
 * reached upstream) and a real EventSource subscriber (when each update arrived).
 *
 * Timing assertions are only the documented bounds of docs/quota.md ("How soon a
 * change is seen"), each with MACHINE_SLACK for a loaded machine; every wait is for a
 * condition, with a deadline.
 */
import t, { type Test } from 'tap'
import { build, type Built } from '../helpers/build.js'
import { subscribe } from '../helpers/event-source-client.js'
import { createOrder } from '../helpers/fixtures.js'
import { waitFor } from '../helpers/wait-for.js'

/** Upstream's refresh period, and the gateway's `pollIntervalMs`. */
const PERIOD = 1000
/** The allocator's slack after a refresh tick (`defaultSettings`: min(1 s, period ÷ 20)). */
const ALLOCATOR_SLACK = Math.min(1000, PERIOD / 20)
/** Check round trip, SSE delivery and timer lateness on a loaded machine. */
const MACHINE_SLACK = 500
/** Probes of an appointment while the refresh phase is unknown: log2 of its 4 candidate phases. */
const PHASE_PROBES = 2

interface Snapshot {
  status: string
  deposit: { funding?: { can_start?: boolean } }
  outputs: Array<{ state: number, send_at: number | null }>
}

async function world (t: Test): Promise<Built> {
  return await build(t, {
    realTime: true,
    countUpstream: true,
    // Payment confirmed 2 periods after it is made; quotas that never run out, so the
    // watch has credit every round (its pace at the default quota is another matter: docs).
    sim: { refreshIntervalMs: PERIOD, dailyQuota: 10_000_000, timing: { confirmMs: 2 * PERIOD } },
    config: { pollIntervalMs: PERIOD, dailyQuota: 10_000_000 }
  })
}

/** The refresh tick at which upstream publishes what happened at `at` (the simulator's ticks are multiples of PERIOD). */
const tickAfter = (at: number): number => Math.ceil(at / PERIOD) * PERIOD

t.test('a funded order is not polled before its send, checked just after it, and the update reaches the subscriber within a period', async (t) => {
  const w = await world(t)
  // Both outputs due 1 min after the deposit is confirmed (the simulator's delays are whole minutes).
  const code = await createOrder(w.sim, undefined, [1, 1])
  const client = subscribe(t, w.url, code, 0)
  await waitFor(() => client.ids.length >= 1, 'the first snapshot')
  w.sim.control.pay(code)
  const snapshots = client.snapshots as Snapshot[]
  await waitFor(() => snapshots.some((s) => s.outputs[0]?.state === 2), 'the send, at the subscriber', 120_000)

  const sendAt = w.sim.control.getOrder(code)?.outputs[0]?.sendAt as number
  const published = tickAfter(sendAt)
  const funded = snapshots.findIndex((s) => s.deposit.funding?.can_start === true)
  const sent = snapshots.findIndex((s) => s.outputs[0]?.state === 2)
  t.ok(funded >= 0 && funded < sent, 'the subscriber saw the order funded before it was sent')
  const planned = (snapshots[funded]?.outputs[0]?.send_at as number) * 1000
  const checks = w.proxy.checkTimes(code)
  // The check that showed the funding: the last one to reach upstream before its update arrived.
  const fundedCheck = checks.filter((at) => at <= (client.times[funded] as number)).at(-1) as number
  t.ok(planned - fundedCheck > 30_000, `funded ${planned - fundedCheck} ms before the planned send`)

  // A funded order waiting for its send has no hazard (nothing but the send can change;
  // its safety check is 24 × POLL_MAX_INTERVAL_MS away): the watch leaves it alone.
  t.same(checks.filter((at) => at > fundedCheck && at < planned), [], 'no check between the funding seen and the planned send')
  // The send time is known to the second and the phase of upstream's refresh is not
  // known yet: the appointment may look before the refresh that publishes the send,
  // at most once per candidate phase it rules out.
  const early = checks.filter((at) => at >= planned && at < published)
  t.ok(early.length <= PHASE_PROBES, `${early.length} look(s) before the refresh that published the send (at most ${PHASE_PROBES})`)
  const after = checks.filter((at) => at >= published)
  t.ok(after.length >= 1, 'checked after the send was published')
  const look = after[0] as number
  t.ok(look - published <= PERIOD + ALLOCATOR_SLACK + MACHINE_SLACK, `checked ${look - published} ms after the refresh that published the send`)
  const arrived = client.times[sent] as number
  t.ok(arrived - published <= PERIOD + ALLOCATOR_SLACK + MACHINE_SLACK, `the update reached the subscriber ${arrived - published} ms after the refresh that published the send (${arrived - sendAt} ms after the send)`)
  t.equal(checks.filter((at) => at >= planned && at <= look).length, early.length + 1, 'one look at the send, beyond the phase probes')
})

t.test('an unpaid order\'s payment reaches the subscriber within the documented bound', async (t) => {
  const w = await world(t)
  const code = await createOrder(w.sim)
  const client = subscribe(t, w.url, code, 0)
  // Pay a few seconds after creation, once the watch has looked at the order on its own.
  await waitFor(() => w.proxy.checks(code) >= 3, 'two watch checks of the unpaid order', 20_000)
  const paidAt = Date.now()
  w.sim.control.pay(code)
  await waitFor(() => client.statuses.includes('Confirming'), 'the payment, at the subscriber', 20_000)
  const seen = (client.times[client.statuses.indexOf('Confirming')] as number) - paidAt
  // docs/quota.md: published at most one period after it is made, then the watch's next
  // check of an order just shown its address comes at most two periods later.
  const bound = 3 * PERIOD + ALLOCATOR_SLACK
  t.ok(seen <= bound + MACHINE_SLACK, `payment seen ${seen} ms after it was made (bound ${bound} ms + ${MACHINE_SLACK} ms slack)`)
  t.equal(w.app.allocator.state().checks.nudge, undefined, 'seen by the watch, not by a nudge')
})
