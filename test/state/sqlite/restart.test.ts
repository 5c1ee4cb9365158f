/**
 * State on the SQLite backend survives a `kill -9`: a gateway process on a data
 * directory creates an order with an `Idempotency-Key` (so it knows the order) and
 * tracks it to `Done`; it is killed with `SIGKILL` (no shutdown, no close, no
 * checkpoint); a new gateway on the same directory replays the creation's answer and
 * serves the final snapshot without any upstream call (the simulator's counters),
 * still knows the order, and still counts every upstream call the first one made
 * against the quota and against the caller's allowance.
 */
import t from 'tap'
import { createManualClock } from '../../../src/simulator/index.js'
import { build } from '../../helpers/build.js'
import { BTC_A, MIN, mixerOrder } from '../../helpers/fixtures.js'
import { request } from '../../helpers/http.js'
import { isStop, openRaw, withStatus } from '../../helpers/sse-reader.js'
import { spawnGateway } from '../../helpers/spawn-gateway.js'
import { tempDataDir } from '../fixtures/sqlite.js'

const CREATE_ROUTE = 'POST /v1/mixer/orders'

t.test('after a kill -9, the idempotent replay, the final snapshot, the known order and the calls spent are still there', async (t) => {
  const dataDir = await tempDataDir(t)
  // Real time in the gateways (one runs in its own process); the order moves on the simulator's manual clock.
  const s = await build(t, { clock: createManualClock(Date.now()), fast: true, instances: 0, realTime: true, config: { stateBackend: 'sqlite', dataDir } })
  const first = await spawnGateway(t, s.configFor())

  // One output, sent as soon as the deposit is confirmed.
  const body = mixerOrder({ addresses: [{ address: BTC_A, percent: '100', delay: '0' }] })
  const headers = { 'idempotency-key': 'restart-test-key-1' }
  const created = await request(`${first.url}/v1/mixer/orders`, { headers, body })
  t.equal(created.status, 200, 'created')
  const code = (created.json as { trackcode: string }).trackcode
  t.equal(s.calls(CREATE_ROUTE), 1)

  const stream = await openRaw(`${first.url}/orders/${code}/subscribe`)
  await stream.next(withStatus('WaitingForPayment'))
  s.sim.control.pay(code)
  await stream.next(withStatus('Confirming'))
  s.clock.advance(2 * MIN) // confirmed: the output (no delay) is sent
  await stream.next(withStatus('WaitingForDelivery'))
  s.clock.advance(MIN) // the output confirmed
  const done = await stream.next(withStatus('Done'))
  await stream.next(isStop)
  stream.close()

  await first.kill()
  const upstreamCalls = s.sim.control.stats().total
  // The creation, the pollers' checks, and the REST calls the creation made (its meta lookup).
  const checks = s.checks()
  const rest = upstreamCalls - checks - s.calls(CREATE_ROUTE)

  const second = await s.gateway()
  const replay = await request(`${second.url}/v1/mixer/orders`, { headers, body })
  t.equal(replay.status, 200)
  t.equal(replay.text, created.text, 'the first answer, byte for byte')
  t.equal(s.calls(CREATE_ROUTE), 1, 'no second creation upstream')

  const final = await request(`${second.url}/orders/${code}`)
  t.equal(final.status, 200)
  t.equal(final.text, done.data, 'the final snapshot as it was streamed')
  const resumed = await openRaw(`${second.url}/orders/${code}/subscribe`)
  t.equal((await resumed.next(withStatus('Done'))).data, done.data, 'and to a new subscriber')
  await resumed.next(isStop)
  resumed.close()

  t.match(await second.app.state.orders.get(code), { source: 'created', by: 'ip:127.0.0.1' }, 'the order the first process created is still known')
  const quota = await second.app.state.quota.state()
  t.ok(checks >= 1, `the first process made ${upstreamCalls} upstream calls, ${checks} of them checks`)
  t.equal(quota.used, upstreamCalls, 'every call spent before the kill still counts against the quota')
  t.same({ poll: quota.partitions.poll.used, create: quota.partitions.create.used, rest: quota.partitions.rest.used }, { poll: checks, create: 1, rest }, 'each in its partition')
  t.equal(await second.app.state.allowances.used('ip:127.0.0.1'), 1 + rest, 'and what the client caused against its allowance')
  t.equal(s.sim.control.stats().total, upstreamCalls, 'not one upstream call since the restart')
})
