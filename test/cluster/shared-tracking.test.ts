/**
 * Three gateway instances behind one Redis behave like one gateway: hundreds of
 * EventSource subscribers spread over them cost one instance's polling per trackcode,
 * all see the same sequence, the polling instance's trackcodes are handed over when it
 * goes, and a small daily quota holds for the cluster as a whole.
 */
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { build, type Gateway } from '../helpers/build.js'
import { CLUSTER_LIMITS, SIM_KEY, MIN, createOrder, mixerOrder, TOKEN_AUTH } from '../helpers/fixtures.js'
import { subscribe, type Client } from '../helpers/event-source-client.js'
import { request } from '../helpers/http.js'
import { waitFor } from '../helpers/wait-for.js'

const INSTANCES = 3
const CODES = 3
const PER_CODE = 102 // 306 subscribers in all

/** Which instances hold `code`'s lease right now. */
const holders = (instances: Gateway[], code: string): number[] => instances.flatMap((g, i) => !g.closed && g.app.redis.leases.holds(code) ? [i] : [])

t.test(`${CODES * PER_CODE} subscribers on ${INSTANCES} instances: one poller per trackcode, one sequence for all`, async (t) => {
  const pollIntervalMs = 100
  const redis = await startRedis(t)
  const cluster = await build(t, { clock: 'manual', fast: true, countUpstream: true, redis, instances: 0, logs: true, config: CLUSTER_LIMITS })
  const instances: Gateway[] = []
  for (let i = 0; i < INSTANCES; i++) instances.push(await cluster.gateway({ config: { pollIntervalMs, pollWaitingPaymentMs: pollIntervalMs, pollMaxIntervalMs: 4 * pollIntervalMs } }))
  const codes: string[] = []
  for (let i = 0; i < CODES; i++) codes.push(await createOrder(cluster.sim))
  cluster.proxy.reset()

  const clients: Client[] = []
  for (let k = 0; k < PER_CODE; k++) {
    for (const [c, code] of codes.entries()) {
      const i = (k + c) % INSTANCES
      clients.push(subscribe(t, (instances[i] as Gateway).url, code, i))
    }
  }
  const allHave = async (n: number, what: string): Promise<void> => {
    await waitFor(() => clients.every((c) => c.ids.length >= n), what, 60_000)
  }
  await allHave(1, 'every client\'s first snapshot')
  for (const g of instances) t.equal(g.app.tracking.stats().subscribers, CODES * PER_CODE / INSTANCES, 'subscribers spread evenly')
  for (const code of codes) await waitFor(() => holders(instances, code).length === 1, `one lease holder of ${code}`)

  // While the orders wait for payment, one poller checks each every interval. Three
  // pollers (one per instance) would reach 20 checks in a third of the time.
  cluster.proxy.reset()
  const steadyFrom = Date.now()
  await waitFor(() => codes.every((code) => cluster.proxy.checks(code) >= 20), '20 checks of every order', 60_000)
  const steady = Date.now() - steadyFrom
  for (const code of codes) {
    const checks = cluster.proxy.checks(code)
    const bound = Math.floor(steady / pollIntervalMs) + 1
    t.ok(checks <= bound, `${code}: ${checks} checks in ${steady} ms, at most one per ${pollIntervalMs} ms interval (bound ${bound})`)
  }

  cluster.proxy.reset()
  const started = Date.now()
  for (const code of codes) cluster.sim.control.pay(code)
  await allHave(2, 'Confirming everywhere')
  cluster.clock.advance(2 * MIN)
  await allHave(3, 'the start everywhere')
  // (Polled, not sampled: a holder stalled past its lease TTL may briefly overlap its successor.)
  for (const code of codes) await waitFor(() => holders(instances, code).length === 1, `still one poller of ${code}`)
  cluster.clock.advance(MIN)
  await allHave(4, 'output 1 confirmed everywhere')
  cluster.clock.advance(119 * MIN)
  await allHave(5, 'output 2 sent everywhere')
  cluster.clock.advance(MIN)
  await waitFor(() => clients.every((c) => c.stop !== undefined), 'stop everywhere', 60_000)
  const elapsed = Date.now() - started

  for (const code of codes) {
    const mine = clients.filter((c) => c.code === code)
    const first = mine[0] as Client
    // Six versions, one per change — or seven when a check in flight straddled a jump of
    // the simulator's manual clock (its countdown base moved: a real, if artificial, change).
    const n = first.ids.length
    t.ok(n === 6 || n === 7, `${code}: ${n} versions`)
    t.same(first.ids, Array.from({ length: n }, (_, i) => String(i + 1)), 'versions 1, 2, 3… without gaps')
    t.same([...new Set(first.statuses)], ['WaitingForPayment', 'Confirming', 'WaitingForDelivery', 'Done'], 'every stage, in order')
    t.same(first.stop, { trackcode: code, status: 'Done', version: n })
    const differing = mine.filter((c) => JSON.stringify([c.ids, c.statuses, c.stop]) !== JSON.stringify([first.ids, first.statuses, first.stop]))
    t.equal(differing.length, 0, `${code}: all ${mine.length} subscribers, on every instance, saw the same sequence`)
    // Over the whole run too: at most one check per interval.
    const checks = cluster.proxy.checks(code)
    const bound = Math.floor(elapsed / pollIntervalMs) + 1
    t.ok(checks <= bound, `${code}: ${checks} upstream checks in ${elapsed} ms (bound ${bound} for one poller)`)
  }
  t.ok(clients.every((c) => c.opens === 1), 'no client had to reconnect')
  const pollingInstances = instances.filter((g) => g.app.tracking.stats().checks > INSTANCES).length
  t.ok(pollingInstances >= 1 && pollingInstances <= CODES, `${pollingInstances} instance(s) did the polling`)
  await waitFor(() => instances.every((g) => g.app.tracking.stats().subscribers === 0), 'streams to close')
  await waitFor(() => codes.every((code) => holders(instances, code).length === 0), 'leases to be released')
})

t.test('when the polling instance closes, another one takes its trackcode over', async (t) => {
  const pollIntervalMs = 200
  const redis = await startRedis(t)
  const cluster = await build(t, { clock: 'manual', fast: true, countUpstream: true, redis, instances: 0, logs: true, config: CLUSTER_LIMITS })
  // A long maximum interval: a lease that lived as long as the poller's plans would hand over only after a minute.
  const settings = { pollIntervalMs, pollWaitingPaymentMs: pollIntervalMs, pollMaxIntervalMs: 30_000 }
  const instances: Gateway[] = []
  for (let i = 0; i < INSTANCES; i++) instances.push(await cluster.gateway({ config: settings }))
  const code = await createOrder(cluster.sim)
  const clients: Client[] = []
  for (let k = 0; k < 30; k++) clients.push(subscribe(t, (instances[k % INSTANCES] as Gateway).url, code, k % INSTANCES))
  await waitFor(() => clients.every((c) => c.ids.length >= 1), 'first snapshots')
  await waitFor(() => holders(instances, code).length === 1, 'one lease holder')
  cluster.sim.control.pay(code)
  await waitFor(() => clients.every((c) => c.ids.length >= 2), 'Confirming everywhere')

  const holder = holders(instances, code)[0] as number
  const survivors = clients.filter((c) => c.instance !== holder)
  const before = instances.map((g) => g.app.tracking.stats().checks)
  const closedAt = Date.now()
  await (instances[holder] as Gateway).close()
  cluster.clock.advance(2 * MIN)
  await waitFor(() => survivors.every((c) => c.statuses.includes('WaitingForDelivery')), 'the next status on the other instances', 30_000)
  const handover = Date.now() - closedAt
  // Polled, not sampled (as in the first test): a holder stalled past its lease TTL may briefly overlap its successor.
  await waitFor(() => holders(instances, code).length === 1, 'one new holder')
  const next = holders(instances, code)
  t.equal(next.length, 1, 'one new holder')
  t.not(next[0], holder)
  t.ok((instances[next[0] as number] as Gateway).app.tracking.stats().checks > (before[next[0] as number] as number), 'the new holder checks upstream')
  // Released on close, so taken at the next attempt: about one poll interval (2 s of slack for a busy machine).
  t.ok(handover < 2 * pollIntervalMs + 2000, `handed over in ${handover} ms (poll interval ${pollIntervalMs} ms)`)
  const ids = (survivors[0] as Client).ids
  t.same(ids.slice(0, 3), ['1', '2', '3'], 'versions go on from where the closed instance left them')
  t.same(ids, Array.from({ length: ids.length }, (_, i) => String(i + 1)), 'without gaps')
  t.ok(survivors.every((c) => JSON.stringify(c.ids) === JSON.stringify(ids)), 'the survivors\' subscribers saw the same sequence')
})

t.test('a cluster-wide quota of 20 is never exceeded, partition by partition', async (t) => {
  const redis = await startRedis(t)
  const cluster = await build(t, { clock: 'manual', fast: true, countUpstream: true, redis, instances: 0, logs: true, config: CLUSTER_LIMITS })
  // Partitions: poll 2, create 2, rest 16. One client (127.0.0.1) makes every call: its
  // allowance is not what this test is about.
  const quota = { dailyQuota: 20, quotaReserve: 2, quotaPollShare: 0.1, anonDailyAllowance: 1000 }
  const instances: Gateway[] = []
  for (let i = 0; i < INSTANCES; i++) instances.push(await cluster.gateway({ config: quota }))
  const code = await createOrder(cluster.sim)
  const usedBefore = cluster.sim.control.stats().quotaUsed[SIM_KEY] ?? 0
  cluster.proxy.reset()

  // 45 checks through the REST pass-through, 15 per instance, all at once.
  const checks = await Promise.all(Array.from({ length: 45 }, async (_, k) => await request(`${(instances[k % INSTANCES] as Gateway).url}/v1/orders/check`, { body: { trackcode: 'ABCDEF0123456789' } })))
  const forwarded = checks.filter((r) => r.status !== 429).length
  t.equal(forwarded, 16, 'the rest partition\'s checks reached upstream, once for the cluster')
  t.ok(checks.filter((r) => r.status === 429).every((r) => r.json?.code === 'TOO_MANY_REQUESTS'), 'the others were refused by the gateway')
  t.equal(cluster.proxy.authenticated(), 16)

  // Deletions use the rest partition too (changed with issue 10: they took the reserve).
  const deletes = await Promise.all(Array.from({ length: 9 }, async (_, k) => await request(`${(instances[k % INSTANCES] as Gateway).url}/v1/orders/delete`, { body: { trackcode: 'ABCDEF0123456789' }, headers: TOKEN_AUTH })))
  t.equal(deletes.filter((r) => r.status !== 429).length, 0, 'no delete takes the reserve')
  // The order is unknown to the gateways: its first check is the client's, out of `rest`: refused too.
  const stream = await request(`${(instances[0] as Gateway).url}/orders/${code}`)
  t.equal(stream.status, 429)
  t.equal(cluster.proxy.authenticated(), 16, 'upstream received exactly the rest partition, never more')
  t.equal((cluster.sim.control.stats().quotaUsed[SIM_KEY] ?? 0) - usedBefore, 16, 'the simulator counted 16 calls of the gateways')
  for (const g of instances) {
    const ready = await request(`${g.url}/readyz`)
    t.match(ready.json?.checks, { quota: { limit: 20, used: 16, remaining: 4, remaining_general: 0 }, redis: { ok: true, state: 'up' } }, 'every instance sees the shared count')
    t.same((await g.app.state.quota.state()).partitions, { poll: { limit: 2, used: 0, remaining: 2 }, create: { limit: 2, used: 0, remaining: 2 }, rest: { limit: 16, used: 16, remaining: 0 } })
  }
})

t.test('the response cache and Idempotency-Key records are shared', async (t) => {
  const redis = await startRedis(t)
  const cluster = await build(t, { clock: 'manual', fast: true, countUpstream: true, redis, instances: 0, logs: true, config: CLUSTER_LIMITS })
  const instances: Gateway[] = []
  for (let i = 0; i < INSTANCES; i++) instances.push(await cluster.gateway())
  cluster.proxy.reset()

  // Prices asked on every instance in turn: one upstream call for the cluster.
  const prices: Array<Awaited<ReturnType<typeof request>>> = []
  for (const g of instances) prices.push(await request(`${g.url}/v1/prices?symbols=BTC,ETH`))
  t.ok(prices.every((p) => p.status === 200 && p.text === prices[0]?.text), 'the same answer everywhere')
  t.equal(cluster.proxy.authenticated(), 2, 'fetched once (with the exchange meta that names the supported tickers), then served from Redis')

  // A create retried on another instance with the same key is replayed, not repeated.
  const body = JSON.stringify(mixerOrder())
  const key = 'c1d4e0f2-0b7e-4d55-9a8e-3f1f3b2a6c77'
  const post = async (g: Gateway): Promise<Response> => await fetch(`${g.url}/v1/mixer/orders`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body })
  const first = await post(instances[0] as Gateway)
  const firstText = await first.text()
  t.equal(first.status, 200)
  const creates = (): number => cluster.sim.control.listOrders().length
  const ordersAfterFirst = creates()
  const retry = await post(instances[1] as Gateway)
  t.equal(retry.status, 200)
  t.equal(retry.headers.get('idempotent-replayed'), 'true', 'replayed by another instance')
  t.equal(await retry.text(), firstText, 'byte for byte')
  t.equal(creates(), ordersAfterFirst, 'no second order upstream')
})
