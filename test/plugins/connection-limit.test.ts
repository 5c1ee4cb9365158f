/**
 * MAX_CONNECTIONS_PER_IP: one client network cannot hold more sockets than the cap —
 * the one over it is closed on arrival — while other clients (another loopback
 * address) are still served, also during a small-scale slow-body attack; connections
 * from TRUST_PROXY proxies are not capped.
 */
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { request as httpRequest } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { build } from '../helpers/build.js'
import { slowPost, type SlowClient } from '../helpers/slow-client.js'
import { waitFor } from '../helpers/wait-for.js'

const CAP = 5

/** GET `path` over a fresh connection from `localAddress`; resolves with the status, or the error's code. */
async function getFrom (base: string, path: string, localAddress: string): Promise<number | string> {
  return await new Promise((resolve) => {
    const req = httpRequest(`${base}${path}`, { localAddress, agent: false }, (res) => {
      res.resume()
      res.on('end', () => { resolve(res.statusCode ?? 0) })
    })
    req.on('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? err.message) })
    req.end()
  })
}

/** Resolves once a raw connection from `localAddress` is open (`connect` event). */
async function openSocket (base: string, localAddress: string): Promise<Socket> {
  const { hostname, port } = new URL(base)
  const socket = connect({ port: Number(port), host: hostname, localAddress })
  await new Promise((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
  return socket
}

/** A metric sample's value, read from the app's registry (a scrape would be one more connection). */
async function metric (app: FastifyInstance, name: string): Promise<number | undefined> {
  const line = (await app.metrics.metrics()).split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

t.test('the connection over the cap is closed; another client is still served', async (t) => {
  const { gw } = await build(t, { config: { maxConnectionsPerIp: CAP } })
  const held: Socket[] = []
  for (let i = 0; i < CAP; i++) held.push(await openSocket(gw.url, '127.0.0.1'))
  t.teardown(() => { for (const s of held) s.destroy() })

  const over = await getFrom(gw.url, '/healthz', '127.0.0.1')
  t.ok(over === 'ECONNRESET' || over === 'EPIPE', `the sixth connection from 127.0.0.1 is closed (${over})`)
  t.equal(await getFrom(gw.url, '/healthz', '127.0.0.2'), 200, '127.0.0.2 is served')
  t.equal(await metric(gw.app, 'trackgate_connections_refused_total'), 1)
  t.equal(await metric(gw.app, 'trackgate_connections_capped_networks'), 1)

  // A slot freed is a slot to use again.
  held.pop()?.destroy()
  await waitFor(async () => await getFrom(gw.url, '/healthz', '127.0.0.1') === 200, 'a freed slot to serve 127.0.0.1 again')
  t.pass('served again once below the cap')
})

t.test('the slow-body attack at small scale: 6 slow sockets, cap 5', async (t) => {
  const { gw, checks } = await build(t, { config: { maxConnectionsPerIp: CAP, requestTimeoutMs: 3000 } })
  const attackers: SlowClient[] = []
  for (let i = 0; i < CAP + 1; i++) attackers.push(slowPost(gw.url, '/v1/orders/check', { localAddress: '127.0.0.1' }))
  t.teardown(() => { for (const a of attackers) a.socket.destroy() })
  await waitFor(() => attackers.filter((a) => a.closed()).length === 1, 'the sixth slow socket to be closed')
  t.equal(attackers.filter((a) => a.closed()).length, 1, 'exactly one over the cap')

  // While the attacker holds its five, others are served.
  for (const address of ['127.0.0.2', '127.0.0.3']) t.equal(await getFrom(gw.url, '/healthz', address), 200, `${address} is served`)
  t.equal(attackers.filter((a) => a.closed()).length, 1, 'the five are still held')
  // Then the request timeout ends the five with a 408.
  await Promise.all(attackers.map(async (a) => { await a.done }))
  t.equal(attackers.filter((a) => a.received().startsWith('HTTP/1.1 408 ')).length, CAP, 'the five got 408')
  t.equal(await getFrom(gw.url, '/healthz', '127.0.0.1'), 200, 'the attacker\'s address is served again')
  t.equal(checks(), 0, 'nothing reached upstream')
})

t.test('connections from a TRUST_PROXY proxy are not capped', async (t) => {
  const { gw } = await build(t, { config: { maxConnectionsPerIp: 2, trustProxy: ['127.0.0.1'] } })
  const held: Socket[] = []
  for (let i = 0; i < 4; i++) held.push(await openSocket(gw.url, '127.0.0.1'))
  t.teardown(() => { for (const s of held) s.destroy() })
  t.equal(await getFrom(gw.url, '/healthz', '127.0.0.1'), 200, 'the proxy\'s fifth connection is served')
  for (let i = 0; i < 2; i++) held.push(await openSocket(gw.url, '127.0.0.2'))
  const over = await getFrom(gw.url, '/healthz', '127.0.0.2')
  t.not(over, 200, `an untrusted peer is still capped (${over})`)
})
