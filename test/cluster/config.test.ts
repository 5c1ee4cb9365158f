/**
 * The Redis settings: parsed and checked like every other setting, credentials never
 * echoed back, and no Redis at all unless `REDIS_URL` is set.
 */
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { describeRedisUrl } from '../../src/state/redis/link.js'
import { build } from '../helpers/build.js'

t.test('defaults: no Redis, the trackgate: namespace, 4 instances', async (t) => {
  const c = loadConfig({})
  t.equal(c.redisUrl, undefined)
  t.equal(c.redisKeyPrefix, 'trackgate:')
  t.equal(c.clusterMaxInstances, 4)
})

t.test('reads the Redis settings', async (t) => {
  // Order tokens must verify on every instance: a cluster needs ORDER_TOKEN_SECRET (test/access/order-token.test.ts).
  const c = loadConfig({ REDIS_URL: 'rediss://:s3cret@cache.internal:6380/2', REDIS_KEY_PREFIX: 'shop-a:', CLUSTER_MAX_INSTANCES: '6', ORDER_TOKEN_SECRET: 'x'.repeat(32) })
  t.equal(c.redisUrl, 'rediss://:s3cret@cache.internal:6380/2')
  t.equal(c.redisKeyPrefix, 'shop-a:')
  t.equal(c.clusterMaxInstances, 6)
})

t.test('bad values are named, and a password is never echoed', async (t) => {
  const err = t.throws(() => loadConfig({
    REDIS_URL: 'http://:hunter2@cache.internal:6379',
    REDIS_KEY_PREFIX: 'has spaces',
    CLUSTER_MAX_INSTANCES: '0'
  })) as ConfigError
  t.equal(err.problems.length, 3)
  t.match(err.message, /REDIS_URL: expected a redis:\/\/ or rediss:\/\/ URL/)
  t.match(err.message, /REDIS_KEY_PREFIX: expected 1 to 64 letters/)
  t.match(err.message, /CLUSTER_MAX_INSTANCES: expected 1\.\.1000, got 0/)
  t.notMatch(err.message, /hunter2/)
  t.throws(() => loadConfig({ REDIS_URL: 'redis://' }), /REDIS_URL/)
  t.throws(() => loadConfig({ REDIS_URL: ':hunter2@nowhere' }), /REDIS_URL: not a URL/)
})

t.test('logs name the Redis server without credentials', async (t) => {
  t.equal(describeRedisUrl('redis://user:hunter2@cache.internal:6380/1'), 'redis://cache.internal:6380/1')
  t.equal(describeRedisUrl('rediss://:hunter2@cache.internal'), 'rediss://cache.internal:6379')
})

t.test('without REDIS_URL nothing of the Redis layer is set up', async (t) => {
  const { gw } = await build(t)
  t.equal(gw.app.hasDecorator('redis'), false)
  const ready = await gw.app.inject({ url: '/readyz' })
  t.notOk('redis' in (ready.json() as { checks: Record<string, unknown> }).checks, 'no redis check in /readyz')
  t.notMatch((await gw.app.inject({ url: '/metrics' })).body, /trackgate_redis_/)
})
