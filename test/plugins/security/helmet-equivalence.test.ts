/**
 * The security headers the gateway sets as one precomputed block
 * (`src/plugins/security.ts`) are exactly those `@fastify/helmet` sets with the same
 * options: same names, same values, nothing missing, nothing added — for the API's
 * policy and for the one of `/docs`.
 */
import Fastify from 'fastify'
import helmet from '@fastify/helmet'
import t from 'tap'
import { CSP_DIRECTIVES, DOCS_CSP_DIRECTIVES, HELMET_EQUIVALENT_OPTIONS } from '../../../src/plugins/security.js'
import { build } from '../../helpers/build.js'
import { request } from '../../helpers/http.js'

/** Headers of any answer that are not security headers. */
const OTHER = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'cache-control', 'etag', 'age', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'accept-ranges', 'last-modified', 'vary', 'x-trackgate-simulated'])

async function helmetHeaders (directives: Readonly<Record<string, string[]>>): Promise<Record<string, string>> {
  const app = Fastify()
  await app.register(helmet, { ...HELMET_EQUIVALENT_OPTIONS, contentSecurityPolicy: { useDefaults: false, directives: { ...directives } } })
  app.get('/', async () => ({ ok: true }))
  const res = await app.inject('/')
  await app.close()
  return security(Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])))
}

function plain (headers: Headers): Record<string, string> {
  const out: Record<string, string> = {}
  headers.forEach((value, name) => { out[name] = value })
  return out
}

function security (headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !OTHER.has(k)).sort(([a], [b]) => a.localeCompare(b)))
}

t.test('the API\'s answers carry helmet\'s headers, byte for byte', async (t) => {
  const { gw } = await build(t)
  const res = await request(`${gw.url}/v1/ping`)
  t.equal(res.status, 200)
  const expected = await helmetHeaders(CSP_DIRECTIVES)
  t.equal(Object.keys(expected).length, 12, 'helmet sets twelve headers')
  t.same(security(plain(res.headers)), expected)
})

t.test('/docs carries helmet\'s headers under its own policy', async (t) => {
  const { gw } = await build(t)
  const res = await request(`${gw.url}/docs/static/index.html`)
  t.equal(res.status, 200)
  t.same(security(plain(res.headers)), await helmetHeaders(DOCS_CSP_DIRECTIVES))
})

t.test('an unmatched URL and an error answer carry them too', async (t) => {
  const { gw } = await build(t)
  const expected = await helmetHeaders(CSP_DIRECTIVES)
  const res = await request(`${gw.url}/nothing/here`)
  t.equal(res.status, 404)
  t.same(security(plain(res.headers)), expected)
})
