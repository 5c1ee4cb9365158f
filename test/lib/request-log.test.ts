/**
 * The access log (`src/lib/request-log.ts`): one line per answered request at `info`,
 * holding only what the privacy helpers produce although it skips pino's redaction —
 * and every other line is still redacted.
 */
import { Writable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import t from 'tap'
import { loggerOptions } from '../../src/lib/log-privacy.js'
import { AccessLine, loggedResponseTime } from '../../src/lib/request-log.js'
import { build } from '../helpers/build.js'
import { request } from '../helpers/http.js'

const TRACKCODE = '6A5FB3BA8A150EC9'

t.test('one access line per request: its shape, nothing secret', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter((l) => l !== '')); done() } })
  const { gw } = await build(t, { app: { logger: { level: 'info', stream } } })

  const res = await request(`${gw.url}/orders/${TRACKCODE}?key=k-secret-1`, {
    headers: { cookie: 'session=c-secret-2', 'x-api-key': 'x-secret-3', accept: 'application/json' }
  })
  t.equal(res.status, 404)
  const health = await request(`${gw.url}/healthz`)
  t.equal(health.status, 200)
  gw.app.log.info({ trackcode: TRACKCODE, apiKey: 'a-secret-4' }, 'another line')

  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  t.equal(parsed.filter((l) => l.msg === 'incoming request').length, 0, 'no line when a request comes in')
  const completed = parsed.filter((l) => l.msg === 'request completed')
  t.equal(completed.length, 2, 'one line per answer')
  const [outLine, healthLine] = completed as [Record<string, unknown>, Record<string, unknown>]
  t.same(Object.keys(outLine), ['level', 'time', 'pid', 'hostname', 'reqId', 'req', 'res', 'responseTime', 'msg'], 'the keys and their order')
  t.equal(outLine.level, 30)
  t.not(outLine.reqId, healthLine.reqId, 'each line names its request')
  t.same(Object.keys(outLine.req as object), ['method', 'url', 'ip'], 'no header is logged')
  t.match(outLine.req, { method: 'GET', url: /^\/orders\/6A5F…[0-9a-f]{8}\?key=\[redacted\]$/, ip: '127.0.0.0' })
  t.same(outLine.res, { statusCode: 404 })
  t.ok(typeof outLine.responseTime === 'number')
  for (const line of completed) t.equal(line.responseTime, Math.round((line.responseTime as number) * 1000) / 1000, 'responseTime in ms, to the microsecond')
  t.same(healthLine.req, { method: 'GET', url: '/healthz', ip: '127.0.0.0' })
  t.same(healthLine.res, { statusCode: 200 })

  const all = lines.join('\n')
  for (const secret of [TRACKCODE, 'k-secret-1', 'c-secret-2', 'x-secret-3', 'a-secret-4']) t.notOk(all.includes(secret), `no ${secret} in the logs`)
  const other = parsed.find((l) => l.msg === 'another line')
  t.match(other, { trackcode: /^6A5F…[0-9a-f]{8}$/, apiKey: '[redacted]' }, 'other lines are still redacted')
})

t.test('the line put together is the line pino writes for the same fields', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter((l) => l !== '')); done() } })
  const log = pino({ ...loggerOptions('info'), timestamp: () => ',"time":42' }, stream) as unknown as FastifyBaseLogger
  const req = { method: 'GET', url: '/orders/6A5F…0123abcd?x="q"\\', ip: '203.0.113.0' }
  const access = new AccessLine(log)
  t.ok(access.direct, 'the line is put together here, not by pino')
  access.write('req-1', req, 200, 0.25)
  log.child({}, { redact: { paths: [] }, serializers: { req: (v: unknown) => v, res: (v: unknown) => v } })
    .info({ reqId: 'req-1', req, res: { statusCode: 200 }, responseTime: 0.25 }, 'request completed')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(lines.length, 2)
  t.equal(lines[0], lines[1], 'byte for byte')

  // Below its level, nothing; with a mixin (which changes the bytes), pino writes it.
  lines.length = 0
  new AccessLine(pino({ ...loggerOptions('warn') }, stream) as unknown as FastifyBaseLogger).write('req-2', req, 200, 1)
  const mixed = new AccessLine(pino({ ...loggerOptions('info'), mixin: () => ({ zone: 'a' }) }, stream) as unknown as FastifyBaseLogger)
  t.notOk(mixed.direct, 'a mixin: pino writes it')
  mixed.write('req-3', req, 404, 1)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(lines.length, 1)
  t.match(JSON.parse(lines[0] as string), { reqId: 'req-3', zone: 'a', req, res: { statusCode: 404 }, msg: 'request completed' })
})

t.test('responseTime is logged to the microsecond', async (t) => {
  t.equal(loggedResponseTime(0.41234599995613), 0.412)
  t.equal(loggedResponseTime(12.0005), 12.001)
  t.equal(loggedResponseTime(3), 3)
  t.equal(loggedResponseTime(0.0004), 0)
})
