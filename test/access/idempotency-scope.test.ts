/**
 * `Idempotency-Key` is scoped per caller: the same key from two callers — two client
 * addresses (loopback has the whole 127/8), or a gateway token and an anonymous client
 * — is two requests and two orders, never a replay of someone else's order.
 */
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { build } from '../helpers/build.js'
import { TOKEN_AUTH, mixerOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'

interface Created { status: number, trackcode: string, replayed: boolean, orderToken: string | undefined }

/** A create sent from `localAddress` (node:http: its `localAddress` binds the client socket). */
async function createFrom (url: string, localAddress: string, key: string): Promise<Created> {
  const payload = JSON.stringify(mixerOrder())
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      localAddress,
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'idempotency-key': key }
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { trackcode: string }
        const token = res.headers['trackgate-order-token']
        resolve({ status: res.statusCode ?? 0, trackcode: body.trackcode, replayed: res.headers['idempotent-replayed'] === 'true', orderToken: typeof token === 'string' ? token : undefined })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

t.test('the same key from two client addresses makes two orders', async (t) => {
  const { gw, calls } = await build(t)
  const key = randomUUID()
  const a = await createFrom(`${gw.url}/v1/mixer/orders`, '127.0.0.1', key)
  const b = await createFrom(`${gw.url}/v1/mixer/orders`, '127.0.0.2', key)
  t.equal(a.status, 200)
  t.equal(b.status, 200)
  t.not(b.trackcode, a.trackcode, 'another order, not a replay of the first')
  t.notOk(b.replayed)
  t.equal(calls('POST /v1/mixer/orders'), 2)
  const again = await createFrom(`${gw.url}/v1/mixer/orders`, '127.0.0.2', key)
  t.ok(again.replayed, 'each caller still gets its own replay')
  t.equal(again.trackcode, b.trackcode)
  t.equal(again.orderToken, b.orderToken)
  t.equal((await gw.app.state.orders.get(b.trackcode))?.by, 'ip:127.0.0.2', 'remembered as the second caller\'s')
  t.equal(calls('POST /v1/mixer/orders'), 2)
})

t.test('the same key from a gateway token and an anonymous client makes two orders', async (t) => {
  const { gw, calls } = await build(t)
  const key = randomUUID()
  const anonymous = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key } })
  const token = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { ...TOKEN_AUTH, 'idempotency-key': key } })
  t.equal(anonymous.status, 200)
  t.equal(token.status, 200)
  t.not(token.json.trackcode, anonymous.json.trackcode)
  t.equal(token.headers.get('idempotent-replayed'), null)
  t.equal((await gw.app.state.orders.get(token.json.trackcode))?.by, 'token:test-backend')
  t.equal(calls('POST /v1/mixer/orders'), 2)
})

t.test('the docs UI pre-fills no Idempotency-Key', async (t) => {
  const { gw } = await build(t)
  const doc = (await request(`${gw.url}/openapi.json`)).json
  for (const path of ['/v1/mixer/orders', '/v1/exchange/orders']) {
    const header = (doc.paths[path].post.parameters as Array<Record<string, any>>).find((p) => p.name === 'idempotency-key')
    t.ok(header, `${path} documents the header`)
    t.equal(header?.example, undefined, `${path}: no example`)
    t.equal(header?.schema?.examples, undefined, `${path}: no schema example`)
    t.equal(header?.schema?.default, undefined, `${path}: no default`)
  }
})
