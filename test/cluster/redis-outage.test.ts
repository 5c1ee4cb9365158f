/**
 * Redis goes away and comes back (restarted empty, as without persistence): the three
 * instances keep serving REST and every stream (each polling on its own, within its
 * share of the quota), say so in `/readyz`, `/metrics` and once in their logs, and
 * rejoin — one poller again, fan-out through the resubscribed channel, and the quota
 * counted in Redis again, including the calls made during the outage.
 */
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { apiKeyId } from '../../src/state/redis/keys.js'
import { build, type Gateway } from '../helpers/build.js'
import { CLUSTER_LIMITS, SIM_KEY, MIN, createOrder } from '../helpers/fixtures.js'
import { subscribe, type Client } from '../helpers/event-source-client.js'
import { request } from '../helpers/http.js'
import { waitFor } from '../helpers/wait-for.js'

/** Each of 4 instances' outage share of the FAST quota (10 000 000, reserve 10): a quarter of each partition, rounded down. */
const OUTAGE_SHARE = Math.floor(5_000_000 / 4) + Math.floor(10 / 4) + Math.floor(4_999_990 / 4)

const holders = (instances: Gateway[], code: string): number => instances.filter((g) => g.app.redis.leases.holds(code)).length

/** A sample of `/metrics`, by exact series name. */
async function metric (url: string, series: string): Promise<number | undefined> {
  const text = (await request(`${url}/metrics`)).text
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

t.test('stopping Redis degrades every instance; restarting it rejoins them', async (t) => {
  const redis = await startRedis(t)
  const cluster = await build(t, { clock: 'manual', fast: true, countUpstream: true, redis, instances: 0, logs: true, config: CLUSTER_LIMITS })
  const settings = { pollIntervalMs: 100, pollWaitingPaymentMs: 100, pollMaxIntervalMs: 400, clusterMaxInstances: 4 }
  const instances: Gateway[] = []
  for (let i = 0; i < 3; i++) instances.push(await cluster.gateway({ config: settings }))
  const code = await createOrder(cluster.sim)
  const clients: Client[] = []
  for (let k = 0; k < 30; k++) clients.push(subscribe(t, (instances[k % 3] as Gateway).url, code, k % 3))
  await waitFor(() => clients.every((c) => c.ids.length >= 1), 'first snapshots')
  await waitFor(() => holders(instances, code) === 1, 'one poller')
  for (const g of instances) t.equal(await metric(g.url, 'trackgate_redis_up'), 1)

  // --- Redis stops ---------------------------------------------------------
  await redis.stop()
  await waitFor(() => instances.every((g) => g.app.redis.health().state === 'down'), 'every instance to notice')
  const checksAtOutage = instances.map((g) => g.app.tracking.stats().checks)
  for (const g of instances) {
    const ready = await request(`${g.url}/readyz`)
    t.equal(ready.status, 200, 'still ready: it serves on its fallbacks')
    t.match(ready.json.checks, { redis: { ok: false, state: 'down', outages: 1 }, quota: { limit: OUTAGE_SHARE } }, 'readyz shows Redis down and the quota share')
    t.equal(await metric(g.url, 'trackgate_redis_up'), 0)
    t.equal(await metric(g.url, 'trackgate_redis_outages_total'), 1)
    t.equal((await request(`${g.url}/v1/prices?symbols=BTC`)).status, 200, 'REST served')
    t.equal((await request(`${g.url}/v1/orders/check`, { body: { trackcode: code } })).status, 200)
  }
  cluster.sim.control.pay(code)
  await waitFor(() => clients.every((c) => c.statuses.includes('Confirming')), 'the next status on every stream, during the outage', 30_000)
  instances.forEach((g, i) => {
    t.ok(g.app.tracking.stats().checks > (checksAtOutage[i] as number), `instance ${i} polls on its own`)
    t.equal(g.logs.filter((l) => l.msg.includes('Redis is unavailable')).length, 1, `instance ${i} logged the outage once`)
  })
  for (const g of instances) t.match(await metric(g.url, 'trackgate_redis_fallback_operations_total{store="lease"}'), Number, 'fallbacks are counted')

  // --- Redis is back (empty) ------------------------------------------------
  await redis.start()
  await waitFor(() => instances.every((g) => g.app.redis.health().state === 'up'), 'every instance to rejoin', 30_000)
  const callsBefore = cluster.proxy.authenticated()
  for (const g of instances) {
    const ready = await request(`${g.url}/readyz`)
    t.match(ready.json.checks, { redis: { ok: true, state: 'up' }, quota: { limit: 10_000_000 } })
    t.equal(await metric(g.url, 'trackgate_redis_up'), 1)
    t.equal(g.logs.filter((l) => l.msg.includes('Redis is back')).length, 1, 'and logged its return once')
  }
  // A call an instance decided in-process after its rejoin's re-count, before its link was
  // up again, reaches Redis with that instance's next shared decision
  // (src/state/quota/redis.ts): until then the others' count is one short of it. Each
  // round causes one on every instance — its /readyz reads the quota through Redis, which
  // first adds such calls — then takes every instance's count. They must reach upstream's
  // count taken as the round starts (every call was decided before it reached upstream);
  // calls lost in the outage would keep them short for good, and the wait would time out.
  let calls = callsBefore
  let shared: number[] = []
  await waitFor(async () => {
    calls = cluster.proxy.authenticated()
    for (const g of instances) await request(`${g.url}/readyz`)
    shared = []
    for (const g of instances) shared.push((await request(`${g.url}/readyz`)).json.checks.quota.used as number)
    return shared.every((used) => used >= calls)
  }, 'every instance\'s shared count to include every call made, the outage\'s too')
  shared.forEach((used, i) => {
    t.ok(used >= callsBefore, `instance ${i}: the shared count includes the outage's calls (${used} ≥ ${callsBefore}; ${calls} made by then)`)
  })
  let counted = 0
  for (const partition of ['poll', 'create', 'rest']) counted += await redis.client().zcard(`trackgate:quota:${apiKeyId(SIM_KEY)}:calls:${partition}`)
  t.ok(counted >= callsBefore, 'the restarted Redis counts every call of the window')

  await waitFor(() => holders(instances, code) === 1, 'one poller again')
  const holder = instances.findIndex((g) => g.app.redis.leases.holds(code))
  const checksAtRejoin = instances.map((g) => g.app.tracking.stats().checks)
  cluster.clock.advance(2 * MIN)
  await waitFor(() => clients.every((c) => c.statuses.includes('WaitingForDelivery')), 'the next status on every stream, after the rejoin', 30_000)
  instances.forEach((g, i) => {
    if (i !== holder) t.equal(g.app.tracking.stats().checks, checksAtRejoin[i], `instance ${i} got it through the channel, without polling`)
  })
  const ids = (clients[0] as Client).ids
  t.same(ids.slice(0, 3), ['1', '2', '3'])
  t.same(ids, Array.from({ length: ids.length }, (_, i) => String(i + 1)), 'one version after the other, none twice, none skipped')
  t.ok(clients.every((c) => JSON.stringify(c.ids) === JSON.stringify(ids)), 'every subscriber saw the same sequence through it all')
  t.ok(clients.every((c) => c.opens === 1 && c.errors === 0), 'no subscriber was lost or had to reconnect')
})
