/**
 * The security headers the gateway sets as precomputed blocks (`src/plugins/security.ts`):
 * on pages, exactly those `@fastify/helmet` sets with the same options (same names, same
 * values, nothing missing, nothing added), under the pages' policy and under `/docs`'s;
 * on every other answer, the API's lean block — and nothing else.
 */
import Fastify from 'fastify'
import helmet from '@fastify/helmet'
import t from 'tap'
import { API_HEADERS, CSP_DIRECTIVES, DOCS_CSP_DIRECTIVES, HELMET_EQUIVALENT_OPTIONS } from '../../../src/plugins/security.js'
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

t.test('pages carry helmet\'s headers, byte for byte', async (t) => {
  const { gw } = await build(t)
  const expected = await helmetHeaders(CSP_DIRECTIVES)
  t.equal(Object.keys(expected).length, 12, 'helmet sets twelve headers')
  for (const path of ['/web/style.css', '/web/app.js', '/client/trackgate-client.js']) {
    const res = await request(`${gw.url}${path}`)
    t.equal(res.status, 200)
    const headers = security(plain(res.headers))
    // The client module may be imported from any origin (src/routes/web.ts).
    delete headers['access-control-allow-origin']
    t.same(headers, expected, path)
  }
})

t.test('/docs carries helmet\'s headers under its own policy', async (t) => {
  const { gw } = await build(t)
  const res = await request(`${gw.url}/docs/static/index.html`)
  t.equal(res.status, 200)
  t.same(security(plain(res.headers)), await helmetHeaders(DOCS_CSP_DIRECTIVES))
})

t.test('the API\'s answers, errors and unmatched URLs carry the API block, and only it', async (t) => {
  const { gw } = await build(t)
  const expected = security({ ...API_HEADERS })
  t.same(Object.keys(expected), ['content-security-policy', 'cross-origin-resource-policy', 'referrer-policy', 'strict-transport-security', 'x-content-type-options', 'x-frame-options'])
  for (const [path, status] of [['/v1/ping', 200], ['/healthz', 200], ['/openapi.json', 200], ['/v1/nothing', 404], ['/nothing/here', 404]] as const) {
    const res = await request(`${gw.url}${path}`)
    t.equal(res.status, status, path)
    t.same(security(plain(res.headers)), expected, path)
  }
})
