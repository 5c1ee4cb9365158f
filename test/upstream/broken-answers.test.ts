/**
 * Upstream misbehaving (issue 4, point 7), over real HTTP: for a GET, a check and a
 * create, every way an answer can be broken — JSON that does not parse, an HTML error
 * page, a body cut short, a trickle past the deadline, a reset, JSON that is not an
 * object, a body over the size limit — gives a clear 502/504 envelope; the gateway keeps
 * serving (the next request succeeds) and nothing rejects unhandled.
 *
 * `test/routes/v1/upstream-failures.test.ts` covers retries, the quota and upstream's 5xx
 * and 429 against the simulator; the hand-made upstream here can also answer what the
 * simulator never does (arrays, strings, `null`, huge bodies).
 */
import t from 'tap'
import type { ServerResponse } from 'node:http'
import { Writable } from 'node:stream'
import { sendJson, startFakeUpstream } from '../helpers/fake-upstream.js'
import { build } from '../helpers/build.js'
import { exchangeOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
process.on('unhandledRejection', onUnhandled)

const TIMEOUT_MS = 1000
/** Bigger than the client's 5 MiB limit. */
const HUGE_BYTES = 6 * 1024 * 1024

/** How upstream answers, and which 5xx envelope codes the client may then see. */
const MISBEHAVIOURS: Record<string, { answer: (res: ServerResponse) => void, status: number, codes: readonly string[] }> = {
  'malformed JSON (200)': {
    answer: (res) => sendJson(res, 200, 'PHP Warning:  Undefined index: trackcode in /var/www/api.php on line 7\n{"ok":true}'),
    status: 502,
    codes: ['UPSTREAM_BAD_RESPONSE']
  },
  'an HTML error page (502)': {
    answer: (res) => {
      res.writeHead(502, { 'content-type': 'text/html' })
      res.end('<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>')
    },
    status: 502,
    codes: ['UPSTREAM_BAD_RESPONSE']
  },
  'a truncated body': {
    answer: (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' })
      res.write('{"ok":true,"trackcode":"6A5FB3BA8A150EC9","deposit":{"addr', () => res.socket?.destroy())
    },
    status: 502,
    codes: ['UPSTREAM_UNAVAILABLE', 'UPSTREAM_BAD_RESPONSE']
  },
  'a slow trickle past the deadline': {
    answer: (res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const parts = ['{"ok":', 'true,', '"slow":', 'true', '}']
      const timer = setInterval(() => {
        const part = parts.shift()
        if (part === undefined || res.destroyed) {
          clearInterval(timer)
          if (!res.destroyed) res.end()
          return
        }
        res.write(part)
      }, TIMEOUT_MS / 2)
      res.on('close', () => { clearInterval(timer) })
    },
    status: 504,
    codes: ['UPSTREAM_TIMEOUT']
  },
  'a connection reset': {
    answer: (res) => { res.socket?.destroy() },
    status: 502,
    codes: ['UPSTREAM_UNAVAILABLE']
  },
  'a JSON array (200)': {
    answer: (res) => sendJson(res, 200, '[{"ok":true}]'),
    status: 502,
    codes: ['UPSTREAM_BAD_RESPONSE']
  },
  'a JSON string (200)': {
    answer: (res) => sendJson(res, 200, '"ok"'),
    status: 502,
    codes: ['UPSTREAM_BAD_RESPONSE']
  },
  'JSON null (200)': {
    answer: (res) => sendJson(res, 200, 'null'),
    status: 502,
    codes: ['UPSTREAM_BAD_RESPONSE']
  },
  'an empty body (200)': {
    answer: (res) => sendJson(res, 200, ''),
    status: 502,
    codes: ['UPSTREAM_BAD_RESPONSE']
  },
  'a huge body (200)': {
    answer: (res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      let sent = 0
      const write = (): void => {
        while (sent < HUGE_BYTES && !res.destroyed) {
          sent += chunk.length
          if (!res.write(chunk)) {
            res.once('drain', write)
            return
          }
        }
        if (!res.destroyed) res.end('{}')
      }
      res.write('{"ok":true,"pad":"')
      write()
    },
    status: 502,
    codes: ['UPSTREAM_BAD_RESPONSE']
  }
}

/** The three kinds of call, with what a good upstream answers them. */
const CALLS = [
  { name: 'a GET (/v1/ping)', method: 'GET', path: '/v1/ping', upstream: 'GET /v1/ping', good: '{"ok":true,"service":"SecretCryptos API","version":"1.2.6","ts":1723800000}' },
  { name: 'a check', method: 'POST', path: '/v1/orders/check', body: { trackcode: '6A5FB3BA8A150EC9' }, upstream: 'POST /v1/orders/check', good: '{"ok":true,"type":"mixer","trackcode":"6A5FB3BA8A150EC9","deposit":{"confirm_status":0}}' },
  { name: 'a create', method: 'POST', path: '/v1/exchange/orders', body: exchangeOrder(), upstream: 'POST /v1/exchange/orders', good: '{"ok":true,"type":"exchange","trackcode":"D391FC08747E7B04"}' }
] as const

t.test('broken upstream answers → a clear 502/504 envelope, then the gateway serves on', async (t) => {
  let broken: ((res: ServerResponse) => void) | undefined
  const upstream = await startFakeUpstream((req, res) => {
    const call = CALLS.find((c) => `${req.method} ${req.url}` === c.upstream)
    if (call === undefined) return sendJson(res, 404, '{"ok":false,"code":"NOT_FOUND","message":"no such endpoint"}')
    if (broken !== undefined) return broken(res)
    sendJson(res, 200, call.good)
  })
  t.teardown(() => upstream.close())
  const { gw } = await build(t, { upstream: upstream.baseUrl, config: { upstreamTimeoutMs: TIMEOUT_MS, createSettleTimeoutMs: 3 * TIMEOUT_MS, anonDailyAllowance: 10_000 } })

  const send = async (call: typeof CALLS[number]): Promise<{ status: number, json: Record<string, unknown> }> => {
    const res = await fetch(`${gw.url}${call.path}`, {
      method: call.method,
      ...('body' in call ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(call.body) } : {})
    })
    const text = await res.text()
    let json: Record<string, unknown>
    try {
      json = JSON.parse(text) as Record<string, unknown>
    } catch {
      json = { unparsable: text.slice(0, 200) }
    }
    return { status: res.status, json }
  }

  for (const [what, misbehaviour] of Object.entries(MISBEHAVIOURS)) {
    for (const call of CALLS) {
      t.test(`${call.name}, upstream sending ${what}`, async (t) => {
        broken = misbehaviour.answer
        const failed = await send(call)
        t.equal(failed.status, misbehaviour.status, `HTTP ${misbehaviour.status}`)
        t.equal(failed.json.ok, false, 'the envelope')
        t.ok(misbehaviour.codes.includes(String(failed.json.code)), `code ${String(failed.json.code)}`)
        t.type(failed.json.message, 'string')
        t.match(failed.json.message, /SecretCryptos/, 'the message says upstream failed')
        if (call.path.endsWith('/orders') && failed.status === 504) t.match(failed.json.message, /unknown/, 'a create\'s timeout says its outcome is unknown')

        broken = undefined
        const next = await send(call)
        t.equal(next.status, 200, 'the next request is served')
        t.equal(next.json.ok, true)
      })
    }
  }
})

t.test('an upstream failure is logged once, at warn, with its code and reason', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const { sim, gw } = await build(t, { config: { logLevel: 'info' }, app: { logger: { level: 'info', stream } } })
  sim.control.fail({ mode: 'html', route: 'GET /v1/ping', count: 1 })
  t.equal((await request(`${gw.url}/v1/ping`)).status, 502)
  const failures = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'upstream failure')
  t.equal(failures.length, 1)
  t.equal(failures[0]?.level, 40)
  t.equal(failures[0]?.code, 'UPSTREAM_BAD_RESPONSE')
  t.match(failures[0]?.reason, /^SecretCryptos answered HTTP 502 with a body that is not a JSON object$/, 'the error message under its own key, not a second "msg"')
})

t.test('no promise rejected unhandled', async (t) => {
  // The gateway is closed by now (the previous test's teardown), which ends any call
  // still settling in the background; let its last callbacks run.
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  process.off('unhandledRejection', onUnhandled)
  t.same(unhandled, [], 'no unhandledRejection')
})
