/**
 * The per-request logger (`src/lib/lazy-child-logger.ts`): no pino child is made until
 * the request logs; then its lines are the child's (bindings, level, redaction), and an
 * app's requests log through it with their request id.
 */
import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import type { FastifyBaseLogger } from 'fastify'
import { lazyChildLoggerFactory } from '../../src/lib/lazy-child-logger.js'
import { loggerOptions } from '../../src/lib/log-privacy.js'
import { build } from '../helpers/build.js'
import { request } from '../helpers/http.js'

function capture (): { lines: Array<Record<string, unknown>>, stream: Writable } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>); done() } })
  return { lines, stream }
}

t.test('the child is made on the first line, and logs as the child would', async (t) => {
  const { lines, stream } = capture()
  const parent = pino(loggerOptions('info'), stream) as unknown as FastifyBaseLogger
  let made = 0
  const child = parent.child.bind(parent)
  parent.child = (bindings, options) => { made++; return child(bindings, options) }

  const log = lazyChildLoggerFactory(parent, { reqId: 'req-7' }, {})
  t.equal(made, 0, 'nothing made while nothing is logged')
  log.debug('below the level')
  log.info({ apiKey: 'k-secret', n: 1 }, 'first')
  log.warn('second')
  t.equal(made, 1, 'one child, made once')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(lines.length, 2, 'the debug line is dropped, as by the child')
  t.match(lines[0], { reqId: 'req-7', level: 30, apiKey: '[redacted]', n: 1, msg: 'first' })
  t.match(lines[1], { reqId: 'req-7', level: 40, msg: 'second' })
  t.equal(log.level, 'info')
  log.level = 'warn'
  t.equal(log.level, 'warn')
  t.match(log.child({ more: 1 }, {}), { info: Function })
})

t.test('an app\'s requests get it, and their own lines name the request', async (t) => {
  const { lines, stream } = capture()
  // Nothing listens upstream: the handler's error path logs `upstream failure` through request.log.
  const { gw } = await build(t, { upstream: 'http://127.0.0.1:1/v1', app: { logger: { level: 'info', stream } } })
  const res = await request(`${gw.url}/v1/meta`)
  t.ok(res.status >= 500, `an upstream failure (${res.status})`)
  await new Promise((resolve) => setImmediate(resolve))
  const own = lines.find((l) => l.msg === 'upstream failure')
  const access = lines.find((l) => l.msg === 'request completed' && (l.req as { url?: string } | undefined)?.url === '/v1/meta')
  t.ok(own !== undefined && access !== undefined, 'the request\'s own line and its access line')
  t.match(own?.reqId, /./, 'the own line names the request')
  t.equal(own?.reqId, access?.reqId, 'the same request as the access line')
})
