/**
 * Errors the framework and Node's HTTP parser produce come in the envelope with the
 * right status: a text/plain body (415: no text/plain parser), oversized headers (431),
 * a bad URL (400), an overlong path segment (414); none reaches upstream.
 */
import t from 'tap'
import { connect } from 'node:net'
import { build } from '../helpers/build.js'
import { mixerOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'

/** Sends `raw` on a fresh connection; resolves with everything written back. */
async function rawHttp (base: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(base)
  return await new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    let out = ''
    socket.on('data', (c: Buffer) => { out += c.toString('latin1') })
    socket.on('error', () => { /* the answer is what counts */ })
    socket.on('close', () => { resolve(out) })
    socket.write(raw)
  })
}

const POST_ROUTES = ['/v1/mixer/orders', '/v1/exchange/orders', '/v1/orders/check', '/v1/orders/delete', '/v1/validate']

t.test('a text/plain body: 415 UNSUPPORTED_MEDIA_TYPE on every POST route, no upstream call', async (t) => {
  const { gw, sim } = await build(t)
  const before = sim.control.stats().byRoute
  for (const path of POST_ROUTES) {
    const res = await request(`${gw.url}${path}`, { body: JSON.stringify(mixerOrder()), headers: { 'content-type': 'text/plain' } })
    t.equal(res.status, 415, path)
    // /v1/validate's envelope also carries `error` (upstream's key on that endpoint).
    t.same({ ...res.json, error: undefined }, { ok: false, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json', error: undefined }, path)
  }
  t.same(sim.control.stats().byRoute, before, 'nothing reached upstream')
  const json = await request(`${gw.url}/v1/orders/check`, { body: { trackcode: 'ABCDEF0123456789' } })
  t.not(json.status, 415, 'application/json is still accepted')
})

t.test('oversized request headers: 431 HEADERS_TOO_LARGE in the envelope', async (t) => {
  const { gw } = await build(t)
  const answer = await rawHttp(gw.url, `GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  const m = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(answer)
  t.equal(m?.[1], '431')
  t.match(m?.[2], /content-type: application\/json/i)
  t.same(JSON.parse(m?.[3] ?? 'null'), { ok: false, code: 'HEADERS_TOO_LARGE', message: 'Request headers are too large' })
})

t.test('router errors: a bad URL (400) and an overlong path segment (414) in the envelope', async (t) => {
  const { gw } = await build(t)
  const bad = await request(`${gw.url}/orders/%E0%A4%A/subscribe`)
  t.equal(bad.status, 400)
  t.same(bad.json, { ok: false, code: 'BAD_REQUEST', message: 'The URL is not valid percent-encoded text' })
  const long = await request(`${gw.url}/orders/${'A'.repeat(200)}`)
  t.equal(long.status, 414)
  t.equal(long.json.code, 'URI_TOO_LONG')
})
