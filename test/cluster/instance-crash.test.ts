/**
 * The polling instance dies (`SIGKILL`: no shutdown, its lease never released): another
 * instance takes its trackcode over within about a lease TTL (the leader's, as it led
 * the allocator too) and a poll interval — not
 * after the much longer time the dead poller had planned to sleep.
 */
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { MIN_LEASE_TTL_MS } from '../../src/state/redis/cluster.js'
import { LEADER_TTL_MS } from '../../src/tracking/index.js'
import { createManualClock } from '../../src/simulator/index.js'
import { build, type Gateway } from '../helpers/build.js'
import { CLUSTER_LIMITS, createOrder } from '../helpers/fixtures.js'
import { openRaw } from '../helpers/sse-reader.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { subscribe, type Client } from '../helpers/event-source-client.js'
import { waitFor } from '../helpers/wait-for.js'

t.test('a killed polling instance is replaced within a lease TTL and a poll interval', async (t) => {
  const pollIntervalMs = 200
  const redis = await startRedis(t)
  // Real time everywhere: the killed instance runs in its own process.
  const cluster = await build(t, { clock: createManualClock(Date.now()), fast: true, countUpstream: true, redis, instances: 0, logs: true, config: CLUSTER_LIMITS })
  // A dead poller had planned to sleep up to 30 s: a lease as long as its plans would hand over after a minute.
  const settings = { pollIntervalMs, pollWaitingPaymentMs: pollIntervalMs, pollMaxIntervalMs: 30_000 }

  const child = await spawnGateway(t, cluster.configFor(settings))
  const childUrl = child.url

  const code = await createOrder(cluster.sim)
  const lease = `trackgate:lease:${code}`
  const raw = redis.client()
  // The child's subscriber comes first: its poller takes the lease.
  const first = await openRaw(`${childUrl}/orders/${code}/subscribe`)
  t.equal(first.status, 200)
  await waitFor(async () => await raw.exists(lease) === 1, 'the child to take the lease')
  const childOwner = await raw.get(lease)

  const instances: Gateway[] = []
  for (let i = 0; i < 2; i++) instances.push(await cluster.gateway({ config: settings, realTime: true }))
  const clients: Client[] = []
  for (let k = 0; k < 20; k++) clients.push(subscribe(t, (instances[k % 2] as Gateway).url, code, k % 2))
  await waitFor(() => clients.every((c) => c.ids.length >= 1), 'first snapshots')
  t.equal(await raw.get(lease), childOwner, 'the child polls; the others relay')
  t.ok(instances.every((g) => !g.app.redis.leases.holds(code)))

  first.close()
  await child.kill()
  const killedAt = Date.now()
  cluster.sim.control.pay(code)
  await waitFor(() => clients.every((c) => c.statuses.includes('Confirming')), 'the next status from a new poller', 60_000)
  const handover = Date.now() - killedAt
  // The child also led the allocator: a survivor must first take the leader lease (it lapses with the poller lease).
  const bound = Math.max(MIN_LEASE_TTL_MS, LEADER_TTL_MS * 4 / 3) + 2 * pollIntervalMs + 2000
  t.ok(handover < bound, `taken over ${handover} ms after the kill (lease TTL ${MIN_LEASE_TTL_MS} ms, leader TTL ${LEADER_TTL_MS} ms, poll interval ${pollIntervalMs} ms; bound with slack ${bound} ms)`)
  // Polled, not sampled: a survivor stalled past its lease TTL may briefly overlap its successor.
  await waitFor(() => instances.filter((g) => g.app.redis.leases.holds(code)).length === 1, 'one survivor to hold the lease')
  t.equal(instances.filter((g) => g.app.redis.leases.holds(code)).length, 1, 'one survivor holds the lease')
  t.not(await raw.get(lease), childOwner)
  t.ok(clients.every((c) => c.opens === 1), 'the survivors\' subscribers never noticed')
})
