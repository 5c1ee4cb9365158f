/**
 * `POST /orders/:trackcode/token`: a token client gets the order token of an order
 * created elsewhere — no upstream call — and that token works for that order.
 */
import t from 'tap'
import { build } from '../../helpers/build.js'
import { TOKEN_AUTH, createOrder, mixerOrder } from '../../helpers/fixtures.js'
import { request } from '../../helpers/http.js'

t.test('an order created through the gateway is known until its token deletes it', async (t) => {
  const { gw, app } = await build(t)
  const created = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })
  t.equal(created.status, 200, created.text)
  const trackcode: string = created.json.trackcode
  t.match(await app.state.orders.get(trackcode), { source: 'created' }, 'known once created')
  const orderToken = created.headers.get('trackgate-order-token') ?? ''
  const deleted = await request(`${gw.url}/v1/orders/delete`, { body: { trackcode }, headers: { 'trackgate-order-token': orderToken } })
  t.equal(deleted.status, 200, deleted.text)
  t.equal(await app.state.orders.get(trackcode), undefined, 'forgotten once deleted')
})

t.test('the order token of an order created directly upstream deletes it', async (t) => {
  const { sim, gw, calls } = await build(t)
  const trackcode = await createOrder(sim)
  const before = sim.control.stats().total
  const minted = await request(`${gw.url}/orders/${trackcode}/token`, { method: 'POST', headers: TOKEN_AUTH })
  t.equal(minted.status, 200)
  t.same(Object.keys(minted.json), ['ok', 'trackcode', 'order_token'])
  t.equal(minted.json.trackcode, trackcode)
  t.match(minted.json.order_token, /^[A-Za-z0-9_-]{43}$/)
  t.equal(sim.control.stats().total, before, 'no upstream call')
  const again = await request(`${gw.url}/orders/${trackcode}/token`, { method: 'POST', headers: TOKEN_AUTH })
  t.equal(again.text, minted.text, 'the same token every time')

  const deleted = await request(`${gw.url}/v1/orders/delete`, { body: { trackcode }, headers: { 'trackgate-order-token': minted.json.order_token } })
  t.equal(deleted.status, 200, deleted.text)
  t.equal(calls('POST /v1/orders/delete'), 1)
  t.equal(sim.control.getOrder(trackcode), undefined)

  const malformed = await request(`${gw.url}/orders/6a5fb3ba8a150ec9/token`, { method: 'POST', headers: TOKEN_AUTH })
  t.equal(malformed.status, 400, 'a trackcode is upper-case hex')
})
