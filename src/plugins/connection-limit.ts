/**
 * A cap on concurrent TCP connections per client network (`MAX_CONNECTIONS_PER_IP`),
 * enforced on the server's `connection` event, before Node parses a byte: a client
 * holding many sockets open (slow headers, a body trickled a byte at a time) cannot
 * exhaust the process's sockets for everyone else. Counted per `networkOf(remoteAddress)`
 * (an IPv4 address, an IPv6 /64), the TCP peer as it is — never `X-Forwarded-For`,
 * which is not read yet.
 *
 * A connection over the cap is destroyed at once, without an answer: it costs the
 * server nothing more (no parser, no timer), and an answer written before the request
 * is read would race the close (a reset may discard it at the client). The refusals are
 * counted in `trackgate_connections_refused_total`.
 *
 * Connections from `TRUST_PROXY` proxies are never capped: one proxy carries many
 * clients (whose requests the rate limits then tell apart). With `TRUST_PROXY=true`
 * every peer is a proxy, so nothing is capped.
 */
import { BlockList, isIPv6 } from 'node:net'
import type { Socket } from 'node:net'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge } from 'prom-client'
import { networkOf } from '../access/caller.js'

export interface ConnectionLimitOptions {
  /** Concurrent connections allowed per client network. */
  maxPerIp: number
  /** Fastify's `trustProxy` as configured: `true` (every peer), `false`, or addresses/CIDRs. */
  trustProxy: boolean | readonly string[]
}

/** Whether a peer address is one of the trusted proxies. */
function proxyMatcher (trustProxy: boolean | readonly string[]): (address: string) => boolean {
  if (trustProxy === true) return () => true
  if (trustProxy === false || trustProxy.length === 0) return () => false
  const list = new BlockList()
  for (const entry of trustProxy) {
    const [ip = '', bits] = entry.split('/')
    const type = isIPv6(ip) ? 'ipv6' : 'ipv4'
    if (bits === undefined) list.addAddress(ip, type)
    else list.addSubnet(ip, Number(bits), type)
  }
  return (address) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
    if (mapped !== undefined) return list.check(mapped, 'ipv4') || list.check(address, 'ipv6')
    return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4')
  }
}

async function connectionLimit (app: FastifyInstance, opts: ConnectionLimitOptions): Promise<void> {
  const isProxy = proxyMatcher(opts.trustProxy)
  const open = new Map<string, number>()

  const refused = new Counter({
    name: 'trackgate_connections_refused_total',
    help: 'TCP connections closed on arrival because their client network held MAX_CONNECTIONS_PER_IP.',
    registers: [app.metrics]
  })
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'trackgate_connections_capped_networks',
    help: 'Client networks holding MAX_CONNECTIONS_PER_IP connections right now.',
    registers: [app.metrics],
    collect () {
      let n = 0
      for (const count of open.values()) if (count >= opts.maxPerIp) n++
      this.set(n)
    }
  })

  app.server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress
    if (address === undefined || isProxy(address)) return
    const network = networkOf(address)
    const count = open.get(network) ?? 0
    if (count >= opts.maxPerIp) {
      refused.inc()
      socket.destroy()
      return
    }
    open.set(network, count + 1)
    socket.once('close', () => {
      const left = (open.get(network) ?? 1) - 1
      if (left <= 0) open.delete(network)
      else open.set(network, left)
    })
  })
}

export default fp(connectionLimit, { name: 'connection-limit', dependencies: ['metrics'] })
