/**
 * The demo's pay button: the poller checks at once instead of at its planned time,
 * still through the quota.
 */
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createManualClock } from '../../src/simulator/index.js'
import type { Config } from '../../src/config.js'
import type { QuotaBudget } from '../../src/state/quota/index.js'
import { MemoryQuota } from '../../src/state/quota/memory.js'
import { build } from '../helpers/build.js'
import { BTC_A, BTC_B, T0 } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'
import { isSnapshot, openRaw, withStatus } from '../helpers/sse-reader.js'
import { waitFor } from '../helpers/wait-for.js'

/** A gateway on its embedded simulator (no API key), whose pollers wait 10 minutes between checks while an order waits for its payment. */
async function demo (t: Test, config: Partial<Config> = {}, quota?: QuotaBudget): Promise<{ app: FastifyInstance, url: string }> {
  const clock = createManualClock(T0)
  return await build(t, {
    upstream: 'http://127.0.0.1:9/v1',
    clock,
    fast: true,
    config: { pollWaitingPaymentMs: 600_000, pollMaxIntervalMs: 900_000, ...config, apiKey: undefined },
    app: { logger: false, simulator: { clock }, ...(quota === undefined ? {} : { state: { quota } }) }
  })
}

/** Creates an order through the gateway (on its embedded simulator); returns its trackcode. */
async function createOrder (url: string): Promise<string> {
  const res = await request(`${url}/v1/mixer/orders`, {
    body: { addresses: [{ address: BTC_A, percent: '84.93', delay: '0' }, { address: BTC_B, percent: '15.07', delay: '120' }], amount: '1.00000000', crypto: 'btc', network: 'btc' }
  })
  if (res.status !== 200) throw new Error(`create failed: ${res.text}`)
  return res.json.trackcode as string
}

const checks = (app: FastifyInstance): number => app.simulator?.control.stats().byRoute['POST /v1/orders/check'] ?? 0

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
  // The quota of the config below, counting every slot asked for.
  const memory = new MemoryQuota({ limit: 6, reserve: 1 })
  let asked = 0
  const quota: QuotaBudget = {
    tryAcquire: async (purpose) => {
      asked++
      return await memory.tryAcquire(purpose)
    },
    pause: async (until) => { await memory.pause(until) },
    state: async () => await memory.state()
  }
  const { app, url } = await demo(t, { dailyQuota: 6, quotaReserve: 1 }, quota)
  const code = await createOrder(url)
  t.equal(await app.tracking.nudge(code), false, 'no poller: nothing to nudge')
  const paidUnfollowed = await fetch(`${url}/demo/orders/${code}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amount":"0.5"}' })
  t.equal(paidUnfollowed.status, 200, 'the payment is recorded all the same')

  const stream = await openRaw(`${url}/orders/${code}/subscribe`)
  await stream.next(isSnapshot)
  // Spend what is left of the pollers' partition (another instance's pollers, say).
  while ((await app.state.quota.tryAcquire('poll')).granted) { /* spend */ }
  const before = checks(app)
  const askedBefore = asked
  t.equal(await app.tracking.nudge(code), false, 'no check left for pollers: the regular schedule stands')
  // The pay route awaits the nudge, and a check it starts asks the quota for its slot
  // in the same turn (memory stores, no I/O on the way): had the nudge started one,
  // the quota would have been asked before the answer left the gateway.
  const paid = await fetch(`${url}/demo/orders/${code}/pay`, { method: 'POST' })
  t.equal(paid.status, 200)
  t.equal(asked, askedBefore, 'no check asked the quota for a slot')
  t.equal(checks(app), before, 'no check was made')
  t.notOk(stream.events.some((e) => e.event === 'tracking'), 'and nobody was told of a refusal')
  stream.close()
  await waitFor(() => app.tracking.stats().subscribers === 0, 'the stream to close')
})
