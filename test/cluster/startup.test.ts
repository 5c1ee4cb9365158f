/**
 * Starting without Redis, and with a password-protected one: an instance never fails
 * to start because Redis is away, joins as soon as it answers, and never logs the
 * Redis password or the API key.
 */
import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { SIM_KEY } from '../helpers/harness.js'
import { createOrder, openRaw, isSnapshot } from '../tracking/fixtures/helpers.js'
import { waitFor } from '../redis/fixtures/log.js'
import { startRedis } from '../helpers/redis-server.js'
import { instanceConfig, request, startUpstream } from '../redis/fixtures/cluster.js'

const PASSWORD = 'r3dis-pa55word-XYZ'

t.test('an instance started while Redis is down serves, then joins it', async (t) => {
  const redis = await startRedis(t, { password: PASSWORD })
  await redis.stop()
  const upstream = await startUpstream(t)
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _e, done) { lines.push(String(chunk)); done() } })
  const app = await buildApp(instanceConfig(upstream, redis), { logger: { level: 'trace', stream } })
  t.teardown(async () => { await app.close() })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })

  t.equal(app.redis.health().state, 'down')
  const ready = await request(`${url}/readyz`)
  t.equal(ready.status, 200)
  t.match(ready.json.checks.redis, { ok: false, state: 'down' })
  t.equal((await request(`${url}/v1/meta/mixer`)).status, 200, 'REST served')
  const code = await createOrder(upstream.sim)
  const sub = await openRaw(`${url}/orders/${code}/subscribe`)
  t.teardown(() => { sub.close() })
  await sub.next(isSnapshot)

  await redis.start()
  await waitFor(() => app.redis.health().state === 'up', 'the instance to join Redis', 30_000)
  t.match((await request(`${url}/readyz`)).json.checks.redis, { ok: true, state: 'up' })
  await waitFor(() => app.redis.leases.holds(code), 'the poller to take the lease in Redis')
  const raw = redis.client()
  t.ok(await raw.exists(`trackgate:snap:${code}`), 'the snapshot reached Redis on rejoin')
  t.equal(lines.filter((l) => l.includes('Redis is unavailable')).length, 1, 'the failed start is logged once')
  const all = lines.join('\n')
  t.notMatch(all, PASSWORD, 'the Redis password is never logged')
  t.notMatch(all, SIM_KEY, 'nor the API key')
})

t.test('a wrong password: logged once, no secret in the logs, serving on the fallbacks', async (t) => {
  const redis = await startRedis(t, { password: PASSWORD })
  const upstream = await startUpstream(t)
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _e, done) { lines.push(String(chunk)); done() } })
  const wrong = redis.url.replace(encodeURIComponent(PASSWORD), 'not-the-password-QQQ')
  const app = await buildApp({ ...instanceConfig(upstream, redis), redisUrl: wrong }, { logger: { level: 'trace', stream } })
  t.teardown(async () => { await app.close() })
  await app.ready()
  t.equal(app.redis.health().state, 'down')
  t.equal((await app.inject({ url: '/v1/meta/mixer' })).statusCode, 200)
  const all = lines.join('\n')
  t.match(all, /Redis is unavailable/)
  t.notMatch(all, 'not-the-password-QQQ', 'the (wrong) password is never logged')
  t.notMatch(all, SIM_KEY)
})
