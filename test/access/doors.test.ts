/**
 * The doors of issue 10's table, replayed with the **default settings** (only the
 * per-IP request rate limits are off, as in every test: they are another guard) by one
 * anonymous client (127.0.0.1), with the upstream calls counted at the simulator:
 *
 * - subscribing to random trackcodes costs one check each until `ANON_DAILY_ALLOWANCE`,
 *   then 429 before any check, and never the pollers' partition; a remembered 404 costs
 *   nothing;
 * - the polling fallback the same;
 * - `POST /v1/orders/check` of random codes: `ANON_DAILY_ALLOWANCE` calls, then 429;
 * - random `/v1/prices` symbol lists: one upstream call per canonical set;
 * - a flood of all of these while an order's live tracking keeps getting its updates
 *   (its poller keeps its partition, and pays no one's allowance).
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { createManualClock } from '../../src/simulator/index.js'
import { defaultConfig } from '../../src/config.js'
import type { Clock } from '../../src/tracking/clock.js'
import { build, type Built } from '../helpers/build.js'
import { CHECK_ROUTE, T0, createOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'
import { isSnapshot, openRaw, withStatus } from '../helpers/sse-reader.js'
import { VirtualClock } from '../helpers/virtual-clock.js'
import { waitFor } from '../helpers/wait-for.js'

const ANON = defaultConfig().anonDailyAllowance
const ME = 'ip:127.0.0.1'
const SUPPORTED = ['BTC', 'ETH', 'USDT']

const randomCode = (): string => randomBytes(8).toString('hex').toUpperCase()
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T

/** The gateway, default settings, its pollers' timers moved by the test only. */
async function gateway (t: Parameters<typeof build>[0]): Promise<{ s: Built, timers: VirtualClock }> {
  const clock = createManualClock(T0)
  const timers = new VirtualClock(0)
  const tracking: Clock = { now: () => clock.now(), setTimeout: (fn, ms) => timers.setTimeout(fn, ms), clearTimeout: (handle) => { timers.clearTimeout(handle) } }
  const s = await build(t, { clock, app: { tracking: { clock: tracking } } })
  return { s, timers }
}

/** Upstream calls the simulator received for everything a client can make the gateway ask. */
function upstreamCalls (s: Built): number {
  return s.checks() + s.calls('GET /v1/prices') + s.calls('GET /v1/meta/exchange') + s.calls('GET /v1/meta/mixer')
}

t.test(`one client subscribing to random trackcodes stops costing after ${ANON} checks`, async (t) => {
  const { s } = await gateway(t)
  const first = randomCode()
  t.equal((await request(`${s.url}/orders/${first}/subscribe`)).status, 404, 'an unknown order: one check, 404')
  t.equal(s.checks(), 1)
  const again = await request(`${s.url}/orders/${first}/subscribe`)
  t.equal(again.status, 404, 'remembered')
  t.equal(s.checks(), 1, 'a remembered 404 makes no check')
  t.equal(await s.app.state.allowances.used(ME), 1, 'and costs no allowance')

  const statuses: number[] = []
  for (let i = 0; i < ANON + 10; i++) statuses.push((await request(`${s.url}/orders/${randomCode()}/subscribe`)).status)
  t.same(statuses.slice(0, ANON - 1), Array(ANON - 1).fill(404), 'every unknown code costs one check while the allowance lasts')
  t.same(statuses.slice(ANON - 1), Array(11).fill(429), 'then 429')
  t.equal(s.checks(), ANON, `exactly ${ANON} checks reached upstream`)
  const refused = await request(`${s.url}/orders/${randomCode()}/subscribe`)
  t.equal(refused.status, 429)
  t.match(refused.json, { ok: false, code: 'TOO_MANY_REQUESTS', message: /Daily allowance/ })
  t.ok(Number(refused.headers.get('retry-after')) > 23 * 3600, 'Retry-After: when the first charged check leaves the 24 h window')
  t.equal((await request(`${s.url}/orders/${first}/subscribe`)).status, 404, 'a remembered 404 is still answered, free')
  const { partitions } = await s.app.state.quota.state()
  t.equal(partitions.poll.used, 0, 'the pollers\' partition untouched')
  t.equal(partitions.rest.used, ANON)
})

t.test('the polling fallback: random trackcodes cost the caller, then 429 without a check', async (t) => {
  const { s } = await gateway(t)
  const statuses: number[] = []
  for (let i = 0; i < ANON + 5; i++) statuses.push((await request(`${s.url}/orders/${randomCode()}`)).status)
  t.same(statuses, [...Array(ANON).fill(404), ...Array(5).fill(429)])
  t.equal(s.checks(), ANON)
  t.equal((await s.app.state.quota.state()).partitions.poll.used, 0)
})

t.test('POST /v1/orders/check of random codes: the allowance, then 429 before upstream', async (t) => {
  const { s } = await gateway(t)
  const statuses: number[] = []
  for (let i = 0; i < ANON + 5; i++) statuses.push((await request(`${s.url}/v1/orders/check`, { body: { trackcode: randomCode() } })).status)
  t.same(statuses, [...Array(ANON).fill(404), ...Array(5).fill(429)])
  t.equal(s.calls(CHECK_ROUTE), ANON)
})

t.test('random /v1/prices symbol lists: one upstream call per canonical set', async (t) => {
  const { s } = await gateway(t)
  const sets = new Set<string>()
  for (let i = 0; i < 60; i++) {
    // Random case, spaces, duplicates and unsupported tickers.
    const tickers = Array.from({ length: 1 + Math.floor(Math.random() * 5) }, () => pick([...SUPPORTED, 'NOPE', 'ZZZ1']))
    const list = tickers.map((x) => pick([x, x.toLowerCase(), ` ${x} `])).join(',')
    const canonical = [...new Set(tickers.filter((x) => SUPPORTED.includes(x)))].sort().join(',')
    const res = await request(`${s.url}/v1/prices?symbols=${encodeURIComponent(list)}`)
    t.equal(res.status, 200, list)
    t.same(Object.keys(res.json.prices as object).sort(), canonical === '' ? [] : canonical.split(','), `${list} → ${canonical}`)
    if (canonical !== '') sets.add(canonical)
  }
  t.equal(s.calls('GET /v1/prices'), sets.size, `${sets.size} sets, ${sets.size} calls`)
  t.equal(s.calls('GET /v1/meta/exchange'), 1, 'the supported tickers come from the cached exchange meta')
  const before = upstreamCalls(s)
  const unsupported = await request(`${s.url}/v1/prices?symbols=nope,ZZZ1`)
  t.match(unsupported.json, { ok: true, base: 'USD', prices: {} }, 'only unsupported tickers: answered locally')
  t.equal(upstreamCalls(s), before, 'without an upstream call')
  t.equal((await request(`${s.url}/v1/prices?symbols=,,,`)).status, 400, 'a list of nothing is refused as before')
  t.equal(await s.app.state.allowances.used(ME), sets.size + 1, 'each miss was charged to the caller, hits to no one')
})

t.test('a flood of every door while an order\'s live tracking keeps getting its updates', async (t) => {
  const { s, timers } = await gateway(t)
  const code = await createOrder(s.sim)
  const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await stream.next(isSnapshot)
  t.equal(await s.app.state.allowances.used(ME), 1, 'the order was unknown: its first check was the subscriber\'s')
  const before = upstreamCalls(s)

  const doors = [
    async () => (await request(`${s.url}/orders/${randomCode()}/subscribe`)).status,
    async () => (await request(`${s.url}/orders/${randomCode()}`)).status,
    async () => (await request(`${s.url}/v1/orders/check`, { body: { trackcode: randomCode() } })).status,
    async () => (await request(`${s.url}/v1/prices?symbols=${pick(SUPPORTED)},${pick(SUPPORTED)},${randomCode().slice(0, 4)}`)).status
  ]
  const answers: Array<{ door: number, status: number }> = []
  for (let i = 0; i < 3 * ANON; i++) {
    const door = Math.floor(Math.random() * doors.length)
    answers.push({ door, status: await (doors[door] as () => Promise<number>)() })
  }
  t.equal(upstreamCalls(s) - before, ANON - 1, `the flood cost what was left of the allowance (${ANON - 1} calls), not one more`)
  const last = answers.slice(-ANON)
  t.ok(last.every((a) => a.status === 429 || (a.door === 3 && a.status === 200)), 'its last requests were refused, but for prices already cached (free)')
  t.equal(await s.app.state.allowances.used(ME), ANON)

  // The order moves on: its poller checks out of the poll partition, charged to no one.
  s.sim.control.pay(code)
  await waitFor(async () => {
    if (stream.events.some(withStatus('Confirming'))) return true
    await timers.runUntil(timers.now() + s.app.config.pollWaitingPaymentMs)
    return false
  }, 'the paid order\'s update on the stream', 30_000)
  const { partitions } = await s.app.state.quota.state()
  t.ok(partitions.poll.used >= 1, `the poller checked in its own partition (${partitions.poll.used})`)
  t.equal(await s.app.state.allowances.used(ME), ANON, 'and cost the subscriber nothing')
  stream.close()
})
