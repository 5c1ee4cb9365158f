/**
 * The demo's pay button: the poller checks at once instead of at its planned time,
 * still through the quota.
 */
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { createManualClock } from '../../src/simulator/index.js'
import { derivedClock } from '../../src/tracking/clock.js'
import { testConfig } from '../helpers/harness.js'
import { BTC_A, BTC_B, FAST, T0, isSnapshot, openRaw, waitFor, withStatus } from './fixtures/helpers.js'

/** A gateway on its embedded simulator (no API key), whose pollers wait 10 minutes between checks while an order waits for its payment. */
async function demo (t: Test, overrides: Record<string, unknown> = {}): Promise<{ app: Awaited<ReturnType<typeof buildApp>>, url: string }> {
  const clock = createManualClock(T0)
  const config = { ...testConfig('http://127.0.0.1:9/v1', { ...FAST, pollWaitingPaymentMs: 600_000, pollMaxIntervalMs: 900_000, ...overrides }), apiKey: undefined }
  const app = await buildApp(config, { logger: false, simulator: { clock }, tracking: { clock: derivedClock(() => clock.now()) } })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  return { app, url }
}

async function createOrder (url: string): Promise<string> {
  const res = await fetch(`${url}/v1/mixer/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ addresses: [{ address: BTC_A, percent: '84.93', delay: '0' }, { address: BTC_B, percent: '15.07', delay: '120' }], amount: '1.00000000', crypto: 'btc', network: 'btc' })
  })
  if (res.status !== 200) throw new Error(`create failed: ${await res.text()}`)
  return ((await res.json()) as { trackcode: string }).trackcode
}

const checks = (app: Awaited<ReturnType<typeof buildApp>>): number => app.simulator?.control.stats().byRoute['POST /v1/orders/check'] ?? 0

t.test('paying in the demo shows up at once, with one more check through the quota', async (t) => {
  const { app, url } = await demo(t)
  const code = await createOrder(url)
  const stream = await openRaw(`${url}/orders/${code}/subscribe`)
  await stream.next(withStatus('WaitingForPayment'))
  const before = checks(app)
  const used = (await app.state.quota.state()).used

  const paid = await fetch(`${url}/demo/orders/${code}/pay`, { method: 'POST' })
  t.equal(paid.status, 200)
  t.same(await paid.json(), { ok: true })
  // The next planned check is 10 minutes away (and the clock stands still).
  const confirming = await stream.next(withStatus('Confirming'))
  t.equal(confirming.id, '2')
  t.equal(checks(app), before + 1, 'exactly one more check')
  t.equal((await app.state.quota.state()).used, used + 1, 'and it took a quota slot')
  stream.close()
})

t.test('a nudge does nothing for an order nobody follows, or when the quota has no check left', async (t) => {
  const { app, url } = await demo(t, { dailyQuota: 6, quotaReserve: 1 })
  const code = await createOrder(url)
  t.equal(await app.tracking.nudge(code), false, 'no poller: nothing to nudge')
  const paidUnfollowed = await fetch(`${url}/demo/orders/${code}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amount":"0.5"}' })
  t.equal(paidUnfollowed.status, 200, 'the payment is recorded all the same')

  const stream = await openRaw(`${url}/orders/${code}/subscribe`)
  await stream.next(isSnapshot)
  // Spend what is left of the general quota on the REST side.
  while ((await app.state.quota.tryAcquire('rest')).granted) { /* spend */ }
  const before = checks(app)
  t.equal(await app.tracking.nudge(code), false, 'no check left for pollers: the regular schedule stands')
  await fetch(`${url}/demo/orders/${code}/pay`, { method: 'POST' })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(checks(app), before, 'no check was made')
  t.notOk(stream.events.some((e) => e.event === 'tracking'), 'and nobody was told of a refusal')
  stream.close()
  await waitFor(() => app.tracking.stats().subscribers === 0, 'the stream to close')
})
