/**
 * Two gateway instances on one real redis-server, both running their delivery worker:
 * every event of an order's lifecycle reaches the receiver exactly once (counted by
 * `webhook-id`), in order, though both instances look for due deliveries every 20 ms.
 */
import t from 'tap'
import { createOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'
import { waitFor } from '../helpers/wait-for.js'
import { BEARER, EXPECTED, lifecycle, receiver, register, start, verified } from './fixtures.js'

t.test('two instances on one Redis deliver each event exactly once', async (t) => {
  const s = await start(t, ['127.0.0.1'], { redis: true, instances: 2 })
  const rx = await receiver(t)
  const { secret, id } = await register(s, rx.url)
  const code = await createOrder(s.sim)
  await lifecycle(s, code)
  await waitFor(async () => {
    const listed = await request(`${s.gateways[1]?.url ?? ''}/webhooks/${id}/deliveries`, { headers: BEARER })
    return listed.json.deliveries.length === EXPECTED.length && listed.json.deliveries.every((d: { state: string }) => d.state === 'delivered')
  }, 'every delivery recorded as delivered, seen from the other instance')
  const attempts = (await request(`${s.url}/webhooks/${id}/deliveries`, { headers: BEARER })).json.deliveries.reduce((n: number, d: { attempts: number }) => n + d.attempts, 0)
  t.equal(attempts, EXPECTED.length, 'one attempt each, by whichever instance claimed it')
  t.equal(rx.got.length, EXPECTED.length, 'and one request each at the receiver')
  const events = verified(secret, rx.got)
  const perId = new Map<string, number>()
  for (const e of events) perId.set(e.id, (perId.get(e.id) ?? 0) + 1)
  t.equal(perId.size, EXPECTED.length, 'one id per event')
  t.same([...perId.values()], EXPECTED.map(() => 1), 'each received exactly once')
  t.same(events.map((e) => e.type), EXPECTED, 'in order')
})
