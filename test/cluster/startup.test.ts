/**
 * Starting without Redis, and with a password-protected one: an instance never fails
 * to start because Redis is away, joins as soon as it answers, and never logs the
 * Redis password or the API key.
 */
import { Writable } from 'node:stream'
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { build } from '../helpers/build.js'
import { CLUSTER_LIMITS, SIM_KEY, createOrder } from '../helpers/fixtures.js'
import { openRaw, isSnapshot } from '../helpers/sse-reader.js'
import { request } from '../helpers/http.js'
import { waitFor } from '../helpers/wait-for.js'

const PASSWORD = 'r3dis-pa55word-XYZ'

t.test('an instance started while Redis is down serves, then joins it', async (t) => {
  const redis = await startRedis(t, { password: PASSWORD })
  await redis.stop()
  const cluster = await build(t, { clock: 'manual', fast: true, countUpstream: true, redis, instances: 0, logs: true, config: CLUSTER_LIMITS })
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _e, done) { lines.push(String(chunk)); done() } })
  const { app, url } = await cluster.gateway({ realTime: true, logs: false, app: { logger: { level: 'trace', stream } } })

  t.equal(app.redis.health().state, 'down')
  const ready = await request(`${url}/readyz`)
  t.equal(ready.status, 200)
  t.match(ready.json.checks.redis, { ok: false, state: 'down' })
  t.equal((await request(`${url}/v1/meta/mixer`)).status, 200, 'REST served')
  const code = await createOrder(cluster.sim)
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
  const cluster = await build(t, { clock: 'manual', fast: true, countUpstream: true, redis, instances: 0, logs: true, config: CLUSTER_LIMITS })
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _e, done) { lines.push(String(chunk)); done() } })
  const wrong = redis.url.replace(encodeURIComponent(PASSWORD), 'not-the-password-QQQ')
  const { app } = await cluster.gateway({ realTime: true, logs: false, config: { redisUrl: wrong }, app: { logger: { level: 'trace', stream } } })
  t.equal(app.redis.health().state, 'down')
  t.equal((await app.inject({ url: '/v1/meta/mixer' })).statusCode, 200)
  const all = lines.join('\n')
  t.match(all, /Redis is unavailable/)
  t.notMatch(all, 'not-the-password-QQQ', 'the (wrong) password is never logged')
  t.notMatch(all, SIM_KEY)
})
