/**
 * The per-request log lines (`src/lib/request-log.ts`): written for every request at
 * `info`, in Fastify's shape, holding only the privacy serializers' output although they
 * skip pino's redaction — and every other line is still redacted.
 */
import { Writable } from 'node:stream'
import t from 'tap'
import { build } from '../helpers/build.js'
import { request } from '../helpers/http.js'

const TRACKCODE = '6A5FB3BA8A150EC9'

t.test('incoming request / request completed: Fastify\'s shape, nothing secret', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter((l) => l !== '')); done() } })
  const { gw } = await build(t, { app: { logger: { level: 'info', stream } } })

  const res = await request(`${gw.url}/orders/${TRACKCODE}?key=k-secret-1`, {
    headers: { cookie: 'session=c-secret-2', 'x-api-key': 'x-secret-3', accept: 'application/json' }
  })
  t.equal(res.status, 404)
  gw.app.log.info({ trackcode: TRACKCODE, apiKey: 'a-secret-4' }, 'another line')

  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  const incoming = parsed.filter((l) => l.msg === 'incoming request')
  const completed = parsed.filter((l) => l.msg === 'request completed')
  t.equal(incoming.length, 1, 'one line when the request comes in')
  t.equal(completed.length, 1, 'one when it is answered')
  const [inLine, outLine] = [incoming[0] as Record<string, unknown>, completed[0] as Record<string, unknown>]
  t.same(Object.keys(inLine), ['level', 'time', 'pid', 'hostname', 'reqId', 'req', 'msg'], 'the keys and order of Fastify\'s own line')
  t.same(Object.keys(outLine), ['level', 'time', 'pid', 'hostname', 'reqId', 'res', 'responseTime', 'msg'])
  t.equal(inLine.level, 30)
  t.equal(inLine.reqId, outLine.reqId, 'both lines name the same request')
  t.match(inLine.req, { method: 'GET', url: /^\/orders\/6A5F…[0-9a-f]{8}\?key=\[redacted\]$/, ip: '127.0.0.0', headers: { accept: 'application/json' } })
  t.same(Object.keys((inLine.req as { headers: object }).headers), ['accept'], 'only allow-listed headers')
  t.same(outLine.res, { statusCode: 404 })
  t.ok(typeof outLine.responseTime === 'number')

  const all = lines.join('\n')
  for (const secret of [TRACKCODE, 'k-secret-1', 'c-secret-2', 'x-secret-3', 'a-secret-4']) t.notOk(all.includes(secret), `no ${secret} in the logs`)
  const other = parsed.find((l) => l.msg === 'another line')
  t.match(other, { trackcode: /^6A5F…[0-9a-f]{8}$/, apiKey: '[redacted]' }, 'other lines are still redacted')
})
