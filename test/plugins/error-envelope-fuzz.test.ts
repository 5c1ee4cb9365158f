/**
 * Bad input, systematically (issue 4, point 7): fast-check throws generated malformed
 * bodies, queries, headers, trackcodes, methods and content types at every route of a
 * real gateway on its embedded simulator, and asserts:
 * - never a 5xx;
 * - every error is the envelope `{ ok: false, code, message }` (strings);
 * - input the gateway must refuse by itself costs no upstream call (the simulator's
 *   call counter does not move).
 * `inject()` where nothing streams; real HTTP for the event stream, raw framing and
 * duplicated headers. fast-check prints the seed and the shrunk counterexample when a
 * property fails; rerun with `FUZZ_SEED=<seed>`; `FUZZ_RUNS` scales every property.
 */
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { connect } from 'node:net'
import { request as undiciRequest } from 'undici'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import type { Simulator } from '../../src/simulator/index.js'
import { mixerOrder, exchangeOrder, testConfig } from '../helpers/fixtures.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 1)
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)
function params (numRuns: number): fc.Parameters<unknown> {
  return { numRuns: Math.max(1, Math.round(numRuns * RUNS)), ...(SEED === undefined ? {} : { seed: SEED }) }
}

/** A well-formed trackcode no order has. */
const UNKNOWN = 'ABCDEF0123456789'

interface Req {
  method: string
  url: string
  headers?: Record<string, string>
  payload?: string
}

interface Answer {
  status: number
  contentType: string
  text: string
}

/** The invariants of every answer; `local` adds "refused without calling upstream". */
function checkAnswer (answer: Answer, what: string, opts: { callsBefore?: number, callsAfter?: number, expect4xx?: boolean, head?: boolean } = {}): void {
  const fail = (why: string): never => { throw new Error(`${what}: ${why} (HTTP ${answer.status} ${answer.text.slice(0, 300)})`) }
  if (answer.status >= 500) fail('a 5xx')
  if (opts.expect4xx === true && (answer.status < 400 || answer.status >= 500)) fail('expected a 4xx')
  if (answer.status >= 400 && opts.head !== true) {
    if (!answer.contentType.startsWith('application/json')) fail(`content-type ${answer.contentType}`)
    let body: unknown
    try {
      body = JSON.parse(answer.text)
    } catch {
      fail('not JSON')
    }
    const { ok, code, message } = (body ?? {}) as Record<string, unknown>
    if (ok !== false || typeof code !== 'string' || code === '' || typeof message !== 'string' || message === '') fail('not the envelope')
  }
  if (opts.callsBefore !== undefined && opts.callsAfter !== opts.callsBefore) fail(`${String((opts.callsAfter ?? 0) - opts.callsBefore)} upstream call(s) for input the gateway refuses`)
}

async function inject (app: FastifyInstance, req: Req): Promise<Answer> {
  const res = await app.inject({
    method: req.method as 'GET',
    url: req.url,
    ...(req.headers === undefined ? {} : { headers: req.headers }),
    ...(req.payload === undefined ? {} : { payload: req.payload })
  })
  return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text: res.body }
}

// --- Generators -------------------------------------------------------------------------

/** Strings of every kind: ASCII, any code unit (lone surrogates too), graphemes. */
const anyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '\u0000', '\uFEFF', '１０', '١٢٣', '10,5', '1e2', '0x10', 'NaN', 'Infinity', '-0', '../../etc/passwd', '<script>', "' OR 1=1 --", '%00', '\\u0000', 'A'.repeat(5000))
)

/** JSON values of every shape, unicode included. */
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
  anyString,
  fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 5e-324, -0, 0.1 + 0.2)
)

/** Keys of fields no request schema accepts, prototype-pollution classics first. */
const unknownKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '$where', '', ' amount', 'AMOUNT'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 })
)

/** A number written in JSON text that no field accepts. */
const hugeNumberText = fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890123456789', '1' + '0'.repeat(400), '-' + '9'.repeat(300) + '.5')

/** Bodies that are not JSON at all (sent as application/json). */
const notJson = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }).filter((s) => { try { JSON.parse(s); return false } catch { return true } }),
  fc.constantFrom('{', '{"a":', '[1,2', '{"amount":"1"', "{'a':1}", '{"a":1,}', 'NaN', 'undefined', '{"a":1}{"b":2}', '\uFEFF{}', '{"a":"\\ud800"', '{"a":01}')
)

/** Nesting deep enough to hurt recursive code (still under the body limit). */
const deepJson = fc.tuple(fc.integer({ min: 50, max: 9000 }), fc.boolean()).map(([n, arrays]) => arrays
  ? '['.repeat(n) + ']'.repeat(n)
  : '{"a":'.repeat(n) + '1' + '}'.repeat(n))

/** Garbage in the place of a trackcode (path segment, already URL-encoded). */
const garbageTrackcode = fc.oneof(
  fc.constantFrom(
    UNKNOWN.toLowerCase(), UNKNOWN.slice(0, 15), `${UNKNOWN}0`, 'ABCDEF012345678G', 'ABCD%2FEF0123456789', '%2F%2F', 'ABCDEF0123456789%00',
    '%00', 'ABCDEF01%20456789', '%C0%AF', '%', '%zz', '%E0%A4%A', 'x'.repeat(150), 'ABCDEF0123456789%0A', '%252F'
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 120 }).map((s) => encodeURIComponent(s)),
  fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFabcdefGZ'), minLength: 1, maxLength: 40 }).filter((s) => !/^[0-9A-F]{16}$/.test(s))
)

/** A query string: anything, including broken percent-encoding and repeated keys. */
const garbageQuery = fc.oneof(
  fc.webQueryParameters(),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => encodeURIComponent(s)),
  fc.constantFrom('symbols=%', 'symbols=BTC&symbols=ETH', 'symbols[]=BTC', 'symbols=' + 'B'.repeat(5000), 'a=%zz', '=&=&&', 'pretty=1', 'symbols=BTC%00', '__proto__[x]=1', 'constructor[prototype][x]=1')
)

// --- The gateway under test ---------------------------------------------------------------

// The embedded simulator (no API key): the demo routes exist only then. A quota that
// valid mutants (real orders) cannot use up, however many runs.
const app = await buildApp({ ...testConfig('http://127.0.0.1:9/v1', { dailyQuota: 100_000_000, quotaReserve: 10_000_000, anonDailyAllowance: 100_000_000 }), apiKey: undefined })
t.teardown(async () => { await app.close() })
const url = await app.listen({ host: '127.0.0.1', port: 0 })
const sim = app.simulator as Simulator
const calls = (): number => sim.control.stats().total

// One real order (its signature makes a valid validate body), and the mixer meta cached.
const created = await app.inject({ method: 'POST', url: '/v1/mixer/orders', payload: mixerOrder() })
if (created.statusCode !== 200) throw new Error(`setup: could not create an order (${created.statusCode} ${created.body})`)
const order = created.json() as { trackcode: string, signature_text: string }
const spare = (await app.inject({ method: 'POST', url: '/v1/exchange/orders', payload: exchangeOrder() })).json() as { trackcode: string }

/** Every POST route with a body it accepts. */
const POST_ROUTES: ReadonlyArray<{ url: string, body: Record<string, unknown> }> = [
  { url: '/v1/mixer/orders', body: mixerOrder() },
  { url: '/v1/exchange/orders', body: exchangeOrder() },
  { url: '/v1/orders/check', body: { trackcode: order.trackcode, outputs: 'full' } },
  // Deleting: 200 once, then upstream's own 404 NOT_FOUND.
  { url: '/v1/orders/delete', body: { trackcode: spare.trackcode } },
  { url: '/v1/validate', body: { signature: order.signature_text } },
  { url: `/demo/orders/${UNKNOWN}/pay`, body: { amount: '0.5' } }
]

/** Every GET route (the event stream apart). */
const GET_ROUTES: readonly string[] = [
  '/v1/ping', '/v1/meta', '/v1/meta/mixer', '/v1/meta/exchange', '/v1/prices', `/orders/${order.trackcode}`,
  '/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/docs/json', '/docs/yaml', '/demo/config',
  '/', '/web/app.js', '/web/style.css', '/web/favicon.svg', '/client/trackgate-client.js', '/client/trackgate-client.d.ts'
]

const postRoute = fc.constantFrom(...POST_ROUTES)

/** A body every route refuses, as JSON text. */
const refusedBody = fc.oneof(
  // Not an object.
  fc.oneof(fc.array(anyJson, { maxLength: 4 }), anyString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null)).map((v) => ({ label: 'not an object', text: (route: { body: unknown }) => { void route; return JSON.stringify(v) } })),
  // A valid body plus a field nobody accepts (incl. __proto__ / constructor).
  fc.tuple(unknownKey, anyJson).map(([key, value]) => ({
    label: `extra field ${JSON.stringify(key)}`,
    text: (route: { body: Record<string, unknown> }) => {
      const text = JSON.stringify(route.body)
      return `${text.slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}}`
    }
  })),
  // A valid body with one field's value replaced by a number no field takes.
  fc.tuple(fc.nat(), hugeNumberText).map(([i, num]) => ({
    label: `huge number ${num.slice(0, 12)}`,
    text: (route: { body: Record<string, unknown> }) => {
      const keys = Object.keys(route.body)
      const key = keys[i % keys.length] as string
      return JSON.stringify({ ...route.body, [key]: '__HUGE__' }).replace('"__HUGE__"', num)
    }
  })),
  notJson.map((text) => ({ label: 'not JSON', text: () => text })),
  deepJson.map((text) => ({ label: `deep nesting (${text.length} bytes)`, text: () => text })),
  fc.constant({ label: 'empty', text: () => '' })
)

t.test('garbage JSON bodies on every POST route: 4xx envelope, no upstream call', async (t) => {
  await fc.assert(fc.asyncProperty(postRoute, refusedBody, async (route, body) => {
    const before = calls()
    const answer = await inject(app, { method: 'POST', url: route.url, headers: { 'content-type': 'application/json' }, payload: body.text(route) })
    checkAnswer(answer, `POST ${route.url} with ${body.label}`, { expect4xx: true, callsBefore: before, callsAfter: calls() })
  }), params(250))
  t.pass('no counterexample')
})

t.test('a required field wrong-typed, or missing, on every POST route: 4xx envelope, no upstream call', async (t) => {
  const wrong = fc.oneof(anyJson, fc.constant(undefined))
  await fc.assert(fc.asyncProperty(postRoute.filter((r) => !r.url.startsWith('/demo/')), wrong, async (route, value) => {
    // The field every schema requires first, replaced by something it cannot be.
    const required: Record<string, string> = { '/v1/mixer/orders': 'addresses', '/v1/exchange/orders': 'to_address', '/v1/orders/check': 'trackcode', '/v1/orders/delete': 'trackcode', '/v1/validate': 'signature' }
    const key = required[route.url] as string
    const current = route.body[key]
    // Any Base64-looking string is a signature for the gateway: only upstream can say it is not one.
    fc.pre(JSON.stringify(value) !== JSON.stringify(current) && !(key === 'signature' && typeof value === 'string'))
    const body: Record<string, unknown> = { ...route.body }
    if (value === undefined) delete body[key]
    else body[key] = value
    const before = calls()
    const answer = await inject(app, { method: 'POST', url: route.url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
    checkAnswer(answer, `POST ${route.url} with ${key}=${JSON.stringify(value)?.slice(0, 60) ?? 'missing'}`, { expect4xx: true, callsBefore: before, callsAfter: calls() })
  }), params(200))
  t.pass('no counterexample')
})

t.test('mutated order bodies: never a 5xx, errors in the envelope, refusals local unless only upstream can judge', async (t) => {
  // What only upstream can judge: the exchange pair's USD limits (live prices), and
  // whether it serves a coin/network at all (the gateway's mixer meta may be stale).
  const COIN_FIELDS = new Set(['crypto', 'network', 'from_coin', 'from_network', 'to_coin', 'to_network'])
  const upstreamJudged = (route: string, path: string, code: string, message: string): boolean =>
    (COIN_FIELDS.has(path) && code === 'BAD_REQUEST' && / is not supported/.test(message)) ||
    (route === '/v1/exchange/orders' && path === 'amount' && (code === 'AMOUNT_TOO_LOW' || code === 'AMOUNT_TOO_HIGH'))
  const mixerPaths = ['amount', 'crypto', 'network', 'service_fee', 'qrcode', 'partner', 'addresses', 'addresses.0.address', 'addresses.0.percent', 'addresses.0.delay', 'addresses.0.destination_tag', 'addresses.1.percent', 'addresses.1.delay']
  const exchangePaths = ['amount', 'from_coin', 'from_network', 'to_coin', 'to_network', 'to_address', 'service_fee', 'qrcode', 'partner', 'destination_tag', 'memo']
  const mutant = fc.oneof(
    fc.tuple(fc.constant('/v1/mixer/orders'), fc.constantFrom(...mixerPaths)),
    fc.tuple(fc.constant('/v1/exchange/orders'), fc.constantFrom(...exchangePaths))
  )
  const value = fc.oneof(anyJson, fc.constant(undefined), fc.constantFrom('100', '100.00', '50.005', '0.00000001', '99999999999', '2880', '2881', '48h 0m', '48h 1m', '0h 0m', 'btc', 'BTC', 'eth', 'erc20', 'xrp', 'ton', 'T' + 'A'.repeat(33), '0x' + 'a'.repeat(40), '0.10', '5.00', '5.01', 1, 0, '1'))
  let forwarded = 0
  await fc.assert(fc.asyncProperty(mutant, value, async ([route, path], v) => {
    const body = structuredClone(route === '/v1/mixer/orders' ? mixerOrder() : exchangeOrder()) as Record<string, unknown>
    const steps = path.split('.')
    let holder: Record<string, unknown> = body
    for (const step of steps.slice(0, -1)) holder = holder[step] as Record<string, unknown>
    const last = steps[steps.length - 1] as string
    if (v === undefined) delete holder[last]
    else holder[last] = v
    const before = calls()
    const answer = await inject(app, { method: 'POST', url: route, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
    const after = calls()
    const what = `POST ${route} with ${path}=${JSON.stringify(v)?.slice(0, 80) ?? 'deleted'}`
    checkAnswer(answer, what, {})
    if (after !== before) forwarded++
    if (answer.status >= 400 && after !== before) {
      const { code, message } = JSON.parse(answer.text) as { code: string, message: string }
      if (!upstreamJudged(route, path, code, message)) {
        throw new Error(`${what}: the gateway let through input upstream refused (${answer.status} ${answer.text.slice(0, 200)})`)
      }
    }
  }), params(200))
  t.ok(forwarded > 0, 'some mutants were valid and reached upstream (the property is not vacuous)')
})

t.test('garbage trackcodes: 4xx envelope, no upstream call', async (t) => {
  const json = { 'content-type': 'application/json' }
  const place = fc.constantFrom<(tc: string) => Req>(
    (tc) => ({ method: 'GET', url: `/orders/${tc}` }),
  (tc) => ({ method: 'HEAD', url: `/orders/${tc}` }),
  (tc) => ({ method: 'POST', url: `/demo/orders/${tc}/pay`, headers: json, payload: '{}' }),
  (tc) => ({ method: 'POST', url: '/v1/orders/check', headers: json, payload: JSON.stringify({ trackcode: decodeSafely(tc) }) }),
  (tc) => ({ method: 'POST', url: '/v1/orders/delete', headers: json, payload: JSON.stringify({ trackcode: decodeSafely(tc) }) })
  )
  await fc.assert(fc.asyncProperty(garbageTrackcode, place, async (tc, at) => {
    const req = at(tc)
    const before = calls()
    const answer = await inject(app, req)
    checkAnswer(answer, `${req.method} ${req.url} ${req.payload ?? ''}`, { expect4xx: true, callsBefore: before, callsAfter: calls(), head: req.method === 'HEAD' })
  }), params(300))
  t.pass('no counterexample')
})

t.test('garbage trackcodes on the event stream (real HTTP): 4xx envelope before any stream, no upstream call', async (t) => {
  await fc.assert(fc.asyncProperty(garbageTrackcode, async (tc) => {
    const before = calls()
    const res = await undiciRequest(`${url}/orders/${tc}/subscribe`, { headersTimeout: 10_000, bodyTimeout: 10_000 })
    const text = await res.body.text()
    checkAnswer({ status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text }, `GET /orders/${tc}/subscribe`, { expect4xx: true, callsBefore: before, callsAfter: calls() })
  }), params(60))
  t.pass('no counterexample')
})

t.test('garbage query strings on every GET route: never a 5xx, errors in the envelope, refusals local', async (t) => {
  await fc.assert(fc.asyncProperty(fc.constantFrom(...GET_ROUTES), garbageQuery, async (path, query) => {
    const before = calls()
    const answer = await inject(app, { method: 'GET', url: `${path}?${query}` })
    const after = calls()
    checkAnswer(answer, `GET ${path}?${query.slice(0, 100)}`, answer.status >= 400 ? { callsBefore: before, callsAfter: after } : {})
  }), params(250))
  t.pass('no counterexample')
})

t.test('odd methods and paths: 404/405 in the envelope', async (t) => {
  const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD')
  const path = fc.oneof(
    fc.constantFrom(...GET_ROUTES, ...POST_ROUTES.map((r) => r.url), '/v1', '/v1/', '/v1/orders', '/orders', '/orders/', '/docs/static/x', '/docs/../../etc/passwd', '/%2e%2e/%2e%2e', '//v1//ping', '/V1/PING'),
    fc.webPath()
  )
  await fc.assert(fc.asyncProperty(method, path, async (m, p) => {
    const before = calls()
    const answer = await inject(app, { method: m, url: p.startsWith('/') ? p : `/${p}` })
    checkAnswer(answer, `${m} ${p}`, { head: m === 'HEAD', ...(answer.status >= 400 ? { callsBefore: before, callsAfter: calls() } : {}) })
  }), params(250))
  t.pass('no counterexample')
})

t.test('wrong content types on every POST route: 415 envelope without an upstream call, or accepted as JSON', async (t) => {
  const contentType = fc.oneof(
    fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json-patch+json',
      'application/json; charset=latin1', 'application/json;;', 'APPLICATION/JSON', 'application/jsonx', 'json', '*/*', '', ' ', 'application/json, text/plain', 'text/html; charset=utf-8'),
    fc.string({ unit: 'binary-ascii', maxLength: 60 }).filter((s) => /^[\x20-\x7e]*$/.test(s))
  )
  await fc.assert(fc.asyncProperty(postRoute, contentType, async (route, type) => {
    const before = calls()
    const answer = await inject(app, { method: 'POST', url: route.url, headers: { 'content-type': type }, payload: JSON.stringify(route.body) })
    // Accepted as JSON, the body is valid: upstream judges it (a deleted order's 404 is upstream's).
    checkAnswer(answer, `POST ${route.url} as ${JSON.stringify(type)}`, answer.status === 415 ? { callsBefore: before, callsAfter: calls() } : {})
  }), params(150))
  t.pass('no counterexample')
})

t.test('odd headers (huge, unicode-ish, invalid Idempotency-Key): never a 5xx, errors in the envelope', async (t) => {
  const headerName = fc.oneof(
    fc.constantFrom('idempotency-key', 'last-event-id', 'if-none-match', 'accept', 'accept-encoding', 'origin', 'x-forwarded-for', 'authorization', 'cookie', 'range', 'expect', 'te', 'x-http-method-override'),
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_!#$%&\'*+.^`|~'), minLength: 1, maxLength: 30 })
  ).filter((n) => !['content-length', 'transfer-encoding', 'host', 'connection', 'content-type'].includes(n))
  const headerValue = fc.oneof(
    fc.string({ unit: 'binary-ascii', maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e\t]/g, '')),
    fc.integer({ min: 1000, max: 60_000 }).map((n) => 'v'.repeat(n)),
    fc.constantFrom('', ' ', 'short', 'k'.repeat(256), '0d5f7c9e-3b1a-4c2e-9f6d-8a7b6c5d4e3f, 0d5f7c9e-3b1a-4c2e-9f6d-8a7b6c5d4e3f', 'bytes=0-1', '100-continue', '"1"', '*', 'null', 'gzip;q=0')
  )
  const target = fc.oneof(
    postRoute.map((r) => ({ method: 'POST', url: r.url, payload: JSON.stringify({ ...r.body, __refused__: true }) })),
    fc.constantFrom(...GET_ROUTES).map((p) => ({ method: 'GET', url: p, payload: undefined }))
  )
  await fc.assert(fc.asyncProperty(target, fc.array(fc.tuple(headerName, headerValue), { minLength: 1, maxLength: 4 }), async (req, pairs) => {
    const headers: Record<string, string> = Object.fromEntries(pairs)
    if (req.payload !== undefined) headers['content-type'] = 'application/json'
    const before = calls()
    const answer = await inject(app, { method: req.method, url: req.url, headers, ...(req.payload === undefined ? {} : { payload: req.payload }) })
    const refusedBody = req.payload !== undefined
    checkAnswer(answer, `${req.method} ${req.url} with ${JSON.stringify(pairs).slice(0, 200)}`, refusedBody ? { expect4xx: true, callsBefore: before, callsAfter: calls() } : {})
  }), params(200))
  t.pass('no counterexample')
})

t.test('over real HTTP: duplicated headers, oversized headers, broken framing → envelope, no crash', async (t) => {
  // Duplicated Idempotency-Key: Node joins the values with ", ": not a valid key.
  const before = calls()
  const dup = await undiciRequest(`${url}/v1/mixer/orders`, {
    method: 'POST',
    headers: ['content-type', 'application/json', 'idempotency-key', '0d5f7c9e-3b1a-4c2e-9f6d-8a7b6c5d4e3f', 'idempotency-key', '1d5f7c9e-3b1a-4c2e-9f6d-8a7b6c5d4e3f'],
    body: JSON.stringify(mixerOrder())
  })
  checkAnswer({ status: dup.statusCode, contentType: String(dup.headers['content-type']), text: await dup.body.text() }, 'duplicated Idempotency-Key', { expect4xx: true, callsBefore: before, callsAfter: calls() })
  t.equal(dup.statusCode, 400)

  // Raw requests Node's HTTP parser refuses before Fastify sees them.
  const raws: Array<[string, string]> = [
    ['oversized headers', `GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['two different Content-Lengths', 'POST /v1/orders/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{}'],
    ['garbage request line', 'HELLO\r\n\r\n'],
    ['a NUL in a header', 'GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n'],
    ['bad chunked framing', 'POST /v1/orders/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n']
  ]
  for (const [what, raw] of raws) {
    const response = await rawHttp(url, raw)
    const m = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(response)
    t.ok(m, `${what}: an HTTP answer`)
    if (m === null) continue
    const contentType = /content-type: *([^\r\n]*)/i.exec(m[2] ?? '')?.[1] ?? ''
    checkAnswer({ status: Number(m[1]), contentType, text: m[3] ?? '' }, what, { expect4xx: true })
    t.pass(`${what}: HTTP ${m[1]} in the envelope`)
  }
  t.equal(calls(), before, 'none reached upstream')
  const after = await inject(app, { method: 'GET', url: '/healthz' })
  t.equal(after.status, 200, 'the gateway still serves')
})

/** Sends `raw` on a fresh connection and returns everything the server wrote back. */
async function rawHttp (base: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(base)
  return await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    const chunks: Buffer[] = []
    socket.setTimeout(10_000, () => { socket.destroy(new Error('no answer')) })
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', (err) => { if (chunks.length > 0) resolve(Buffer.concat(chunks).toString('latin1')); else reject(err) })
    socket.on('close', () => { resolve(Buffer.concat(chunks).toString('latin1')) })
    socket.write(raw)
  })
}

/** `decodeURIComponent`, or the text itself when it is not valid percent-encoding. */
function decodeSafely (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

t.test('after all that, the gateway still creates orders and serves', async (t: Test) => {
  const res = await inject(app, { method: 'POST', url: '/v1/exchange/orders', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(exchangeOrder()) })
  t.equal(res.status, 200)
  t.equal((await inject(app, { method: 'GET', url: '/v1/ping' })).status, 200)
})
