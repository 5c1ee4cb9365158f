/**
 * `/v1/meta*` and `/v1/prices` through the short-TTL cache with request coalescing:
 * many clients, one upstream call per TTL; only successes are kept.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { build } from '../../helpers/build.js'
import { request } from '../../helpers/http.js'

t.test('a crowd asking for prices costs one upstream call', async (t) => {
  const { sim, gw } = await build(t)
  const answers = await Promise.all(Array.from({ length: 100 }, async () => await request(`${gw.url}/v1/prices?symbols=BTC,ETH`)))
  t.ok(answers.every((a) => a.status === 200), 'all answered')
  t.equal(new Set(answers.map((a) => a.text)).size, 1, 'all the same answer')
  t.equal(sim.control.stats().byRoute['GET /v1/prices'], 1, 'one upstream call')

  await request(`${gw.url}/v1/prices?symbols=${encodeURIComponent('eth, btc,BTC')}`)
  t.equal(sim.control.stats().byRoute['GET /v1/prices'], 1, 'another spelling of the same list shares the entry')
  await request(`${gw.url}/v1/prices?symbols=SOL`)
  await request(`${gw.url}/v1/prices`)
  t.equal(sim.control.stats().byRoute['GET /v1/prices'], 3, 'other lists are other entries')
})

t.test('meta answers are cached for META_CACHE_TTL_MS, each path on its own', async (t) => {
  const { sim, gw } = await build(t, { config: { metaCacheTtlMs: 300 } })
  for (const path of ['/v1/meta', '/v1/meta/mixer', '/v1/meta/exchange']) {
    await Promise.all([request(gw.url + path), request(gw.url + path), request(gw.url + path)])
    await request(gw.url + path)
    t.equal(sim.control.stats().byRoute[`GET ${path}`], 1, `${path}: one call while fresh`)
  }
  await sleep(450)
  await request(`${gw.url}/v1/meta/mixer`)
  t.equal(sim.control.stats().byRoute['GET /v1/meta/mixer'], 2, 'asked again once the TTL is over')
})

t.test('cached answers tell browsers how long to keep them; errors are not cached', async (t) => {
  const { sim, gw } = await build(t, { config: { pricesCacheTtlMs: 30_000 } })
  // One failure: the gateway no longer retries a 5xx (changed with issue 10).
  sim.control.fail({ mode: 'status500', count: 1, route: 'GET /v1/prices' })
  const failed = await request(`${gw.url}/v1/prices`)
  t.equal(failed.status, 500, 'upstream\'s error forwarded')
  t.equal(failed.headers.get('cache-control'), 'no-store')

  const ok = await request(`${gw.url}/v1/prices`)
  t.equal(ok.status, 200, 'the error was not kept')
  t.equal(ok.headers.get('cache-control'), 'public, max-age=30')
  t.match(ok.headers.get('age'), /^\d+$/)
  t.ok(Number(ok.headers.get('age')) <= 30)
  t.equal(sim.control.stats().byRoute['GET /v1/prices'], 2, 'one failed call, one success')

  const hit = await request(`${gw.url}/v1/prices`)
  t.equal(hit.text, ok.text)
  t.equal(sim.control.stats().byRoute['GET /v1/prices'], 2, 'then served from the cache')
})

t.test('a TTL of 0 turns the cache off', async (t) => {
  const { sim, gw } = await build(t, { config: { metaCacheTtlMs: 0 } })
  await request(`${gw.url}/v1/meta`)
  const second = await request(`${gw.url}/v1/meta`)
  t.equal(sim.control.stats().byRoute['GET /v1/meta'], 2)
  t.equal(second.headers.get('cache-control'), 'no-store')
})

t.test('unauthenticated upstream endpoints spend no quota', async (t) => {
  const { gw } = await build(t, { config: { metaCacheTtlMs: 0 } })
  await request(`${gw.url}/v1/ping`)
  await request(`${gw.url}/v1/meta`)
  t.equal((await gw.app.state.quota.state()).used, 0)
  await request(`${gw.url}/v1/meta/mixer`)
  t.equal((await gw.app.state.quota.state()).used, 1, 'the authenticated one does')
})
