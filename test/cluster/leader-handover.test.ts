/**
 * One allocator decides for the cluster: of three instances (one in its own process),
 * the leader alone checks upstream, also for orders subscribed on the other instances
 * (the interest set). The leader dies (`SIGKILL`: no resignation, no lease released):
 * a survivor leads within seconds, checks go on, no order is checked twice within a
 * refresh period across the hand-over (the new leader starts from the snapshots the
 * previous one stored), and the subscribers on the survivors keep receiving updates.
 */
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { LEADER_TTL_MS } from '../../src/tracking/index.js'
import { build, type Gateway } from '../helpers/build.js'
import { CLUSTER_LIMITS, createOrder } from '../helpers/fixtures.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { subscribe, type Client } from '../helpers/event-source-client.js'
import { waitFor } from '../helpers/wait-for.js'

t.test('the leader is killed: a survivor leads within seconds, without checking anything twice in a period', async (t) => {
  const period = 3000
  const redis = await startRedis(t)
  const cluster = await build(t, { fast: true, countUpstream: true, redis, instances: 0, config: CLUSTER_LIMITS })
  const settings = { pollIntervalMs: period, pollWaitingPaymentMs: period, pollMaxIntervalMs: 30_000 }
  const raw = redis.client()
  const leader = async (): Promise<string | null> => await raw.hget('trackgate:leader', 'owner')

  // The child starts first and leads; the two in-process instances follow.
  const child = await spawnGateway(t, cluster.configFor(settings))
  await waitFor(async () => await leader() !== null, 'the child to lead')
  const childOwner = await leader()
  const instances: Gateway[] = []
  for (let i = 0; i < 2; i++) instances.push(await cluster.gateway({ config: settings, realTime: true }))
  t.ok(instances.every((g) => !g.app.allocator.state().leader.leading), 'the others do not lead')

  // Subscribers only on the survivors: the leader tracks their orders through the interest set.
  const codes: string[] = []
  for (let i = 0; i < 4; i++) codes.push(await createOrder(cluster.sim))
  const clients: Client[] = codes.map((code, k) => subscribe(t, (instances[k % 2] as Gateway).url, code, k % 2))
  await waitFor(() => clients.every((c) => c.ids.length >= 1), 'first snapshots')
  // Each order's first check is its subscriber's; then the leader's watch takes over.
  await waitFor(() => codes.every((code) => cluster.proxy.checks(code) >= 3), 'the leader to check every order', 60_000)
  t.ok(instances.every((g) => g.app.allocator.state().checks.watch === undefined), 'no survivor\'s allocator checked')

  const before = new Map(codes.map((code) => [code, cluster.proxy.checkTimes(code)]))
  await child.kill()
  const killedAt = Date.now()
  // Redis names the new leader as soon as its campaign's script ran; the instance knows
  // it when the answer has reached it: wait for both.
  await waitFor(async () => { const o = await leader(); return o !== null && o !== childOwner && instances.some((g) => g.app.allocator.state().leader.leading) }, 'a survivor to lead', 30_000)
  const ledAt = Date.now()
  const newLeader = instances.find((g) => g.app.allocator.state().leader.leading)
  t.ok(newLeader !== undefined, 'a survivor leads')
  t.equal(instances.filter((g) => g.app.allocator.state().leader.leading).length, 1, 'one')

  for (const code of codes) cluster.sim.control.pay(code)
  await waitFor(() => clients.every((c) => c.statuses.includes('Confirming')), 'the payments, seen by the new leader', 60_000)
  const seenAt = Date.now()
  t.ok(clients.every((c) => c.opens === 1), 'the subscribers never noticed')

  const firstAfter: number[] = []
  for (const code of codes) {
    const times = cluster.proxy.checkTimes(code)
    const old = before.get(code) as number[]
    const last = old[old.length - 1] as number
    const next = times[old.length]
    t.ok(next !== undefined, `${code} checked again after the kill`)
    if (next === undefined) continue
    firstAfter.push(next)
    t.ok(next - last >= 0.9 * period, `${code}: ${next - last} ms between the last check before the kill and the first after (period ${period} ms)`)
  }
  const handover = ledAt - killedAt
  t.ok(handover < LEADER_TTL_MS + 2000, `a new leader ${handover} ms after the kill (leader TTL ${LEADER_TTL_MS} ms)`)
  t.comment(`hand-over ${handover} ms; first check after the kill ${Math.min(...firstAfter) - killedAt} ms; payments seen ${seenAt - killedAt} ms after the kill; fenced ${newLeader?.app.allocator.state().leader.fenced ?? 0}`)
})
