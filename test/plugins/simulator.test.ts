/**
 * On the embedded simulator every gateway answer says so (`Trackgate-Simulated: true`):
 * REST answers, error envelopes, the demo config and event streams; with an API key,
 * none does.
 */
import t from 'tap'
import { build } from '../helpers/build.js'
import { request } from '../helpers/http.js'
import { openRaw } from '../helpers/sse-reader.js'

t.test('on the embedded simulator: every answer carries Trackgate-Simulated: true', async (t) => {
  const { gw } = await build(t, { upstream: 'http://127.0.0.1:9/v1', config: { apiKey: undefined } })
  t.not(gw.app.simulator, null)
  const created = await request(`${gw.url}/v1/mixer/orders`, {
    body: { addresses: [{ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: '100', delay: '0' }], amount: '0.01000000', crypto: 'btc', network: 'btc' }
  })
  t.equal(created.status, 200)
  const answers = {
    'a created order': created,
    'GET /v1/meta/mixer': await request(`${gw.url}/v1/meta/mixer`),
    'a 404 envelope': await request(`${gw.url}/nowhere`),
    'a 400 envelope': await request(`${gw.url}/v1/orders/check`, { body: {} }),
    'GET /demo/config': await request(`${gw.url}/demo/config`),
    'GET /healthz': await request(`${gw.url}/healthz`)
  }
  for (const [what, res] of Object.entries(answers)) t.equal(res.headers.get('trackgate-simulated'), 'true', what)
  const stream = await openRaw(`${gw.url}/orders/${created.json.trackcode as string}/subscribe`)
  t.teardown(() => { stream.close() })
  t.equal(stream.status, 200)
  t.equal(stream.headers['trackgate-simulated'], 'true', 'the event stream')
})

t.test('with an API key: no answer carries it', async (t) => {
  const { gw } = await build(t)
  t.equal(gw.app.simulator, null)
  for (const path of ['/v1/meta/mixer', '/nowhere', '/demo/config']) t.equal((await request(`${gw.url}${path}`)).headers.get('trackgate-simulated'), null, path)
})
