/**
 * `PUT` and `DELETE /tracked-orders/:trackcode`: token clients register and unregister
 * known orders; both idempotent, neither calls upstream.
 */
import t from 'tap'
import { build } from '../../helpers/build.js'
import { TOKEN_AUTH, mixerOrder } from '../../helpers/fixtures.js'
import { request } from '../../helpers/http.js'

const TRACKCODE = '6A5FB3BA8A150EC9'

t.test('PUT registers once and answers the same every time; DELETE forgets and always answers 200', async (t) => {
  const { sim, gw } = await build(t)
  const url = `${gw.url}/tracked-orders/${TRACKCODE}`
  const before = sim.control.stats().total

  const first = await request(url, { method: 'PUT', headers: TOKEN_AUTH })
  t.equal(first.status, 200)
  t.same(first.json, { ok: true, trackcode: TRACKCODE, source: 'registered' })
  const entry = await gw.app.state.orders.get(TRACKCODE)
  t.match(entry, { source: 'registered', by: 'token:test-backend' })
  const second = await request(url, { method: 'PUT', headers: TOKEN_AUTH })
  t.equal(second.text, first.text, 'PUT twice: the same answer')
  t.same(await gw.app.state.orders.get(TRACKCODE), entry, 'and the entry unchanged')

  const removed = await request(url, { method: 'DELETE', headers: TOKEN_AUTH })
  t.equal(removed.status, 200)
  t.same(removed.json, { ok: true, trackcode: TRACKCODE })
  t.equal(await gw.app.state.orders.get(TRACKCODE), undefined, 'forgotten')
  const again = await request(url, { method: 'DELETE', headers: TOKEN_AUTH })
  t.equal(again.text, removed.text, 'DELETE of an unknown order: the same 200')

  t.equal(sim.control.stats().total, before, 'no upstream call')
  const bad = await request(`${gw.url}/tracked-orders/not-a-trackcode`, { method: 'PUT', headers: TOKEN_AUTH })
  t.equal(bad.status, 400)
  t.equal(bad.json.code, 'BAD_REQUEST')
})

t.test('an order created through the gateway stays `created` when registered', async (t) => {
  const { gw } = await build(t)
  const created = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })
  const trackcode: string = created.json.trackcode
  const put = await request(`${gw.url}/tracked-orders/${trackcode}`, { method: 'PUT', headers: TOKEN_AUTH })
  t.same(put.json, { ok: true, trackcode, source: 'created' })
  t.match(await gw.app.state.orders.get(trackcode), { source: 'created', by: 'ip:127.0.0.1' })
})
