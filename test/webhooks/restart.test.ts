/**
 * A webhook survives a `kill -9` of the gateway between the change and the delivery:
 * a gateway process on a SQLite data directory sees an order's payment while the
 * receiver answers 503 (the event is in the outbox, its first attempts failed); the
 * process is killed with `SIGKILL`; the receiver comes back; a new gateway process on
 * the same directory delivers the event — the same `webhook-id`, verified with the
 * `standardwebhooks` library — and nothing else.
 */
import t from 'tap'
import { Webhook } from 'standardwebhooks'
import { createManualClock } from '../../src/simulator/index.js'
import { build } from '../helpers/build.js'
import { BTC_A, mixerOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'
import { openRaw, withStatus } from '../helpers/sse-reader.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { waitFor } from '../helpers/wait-for.js'
import { tempDataDir } from '../state/fixtures/sqlite.js'
import { BEARER, receiver, webhookConfig } from './fixtures.js'

t.test('an event whose delivery a kill -9 interrupted is delivered by the next process', async (t) => {
  const dataDir = await tempDataDir(t)
  // Real time in the gateways (they run in their own processes); the order moves on the simulator's manual clock.
  const s = await build(t, { clock: createManualClock(Date.now()), fast: true, instances: 0, realTime: true, config: { ...webhookConfig(), stateBackend: 'sqlite', dataDir } })
  let up = false
  const rx = await receiver(t, () => up ? 200 : 503)
  const first = await spawnGateway(t, s.configFor())

  const registered = await request(`${first.url}/webhooks`, { headers: BEARER, body: { url: rx.url, events: ['order.payment_seen'] } })
  t.equal(registered.status, 201)
  const { id, secret } = registered.json as { id: string, secret: string }
  const created = await request(`${first.url}/v1/mixer/orders`, { body: mixerOrder({ addresses: [{ address: BTC_A, percent: '100', delay: '0' }] }) })
  t.equal(created.status, 200)
  const code = (created.json as { trackcode: string }).trackcode

  const stream = await openRaw(`${first.url}/orders/${code}/subscribe`)
  await stream.next(withStatus('WaitingForPayment'))
  s.sim.control.pay(code)
  await stream.next(withStatus('Confirming'))
  stream.close()
  await waitFor(() => rx.got.length >= 1, 'a failed attempt')
  await first.kill()
  const attempted = rx.got.length
  const eventId = rx.got[0]?.headers['webhook-id']
  t.ok(rx.got.every((r) => r.headers['webhook-id'] === eventId), 'the first process only ever tried the one event')

  up = true
  const second = await spawnGateway(t, s.configFor())
  await waitFor(() => rx.got.length > attempted, 'the delivery after the restart')
  const delivered = rx.got.slice(attempted)
  const wh = new Webhook(secret)
  const event = wh.verify(delivered[0]?.body ?? '', delivered[0]?.headers as Record<string, string>) as { id: string, type: string, data: { trackcode: string, status: string } }
  t.match(event, { id: eventId, type: 'order.payment_seen', data: { trackcode: code, status: 'Confirming' } }, 'the same event, signed')
  await waitFor(async () => (await request(`${second.url}/webhooks/${id}/deliveries`, { headers: BEARER })).json.deliveries.every((d: { state: string }) => d.state === 'delivered'), 'recorded as delivered')
  const listed = await request(`${second.url}/webhooks/${id}/deliveries`, { headers: BEARER })
  t.equal(listed.json.deliveries.length, 1, 'one delivery: nothing lost, nothing doubled')
  t.equal(delivered.length, 1, 'delivered once after the restart')
})
