/**
 * What the webhook tests share: the shop's token, a loopback receiver recording every
 * request, a gateway set up for webhooks, registering an endpoint, driving an order
 * through its lifecycle, and verifying what arrived with the `standardwebhooks` library.
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { Webhook } from 'standardwebhooks'
import type { Config } from '../../src/config.js'
import { build, type BuildOptions, type Built } from '../helpers/build.js'
import { MIN } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'
import { waitFor } from '../helpers/wait-for.js'

export const TOKEN = `tg_${'a'.repeat(43)}`
export const BEARER = { authorization: `Bearer ${TOKEN}` }

export interface Received { headers: IncomingHttpHeaders, body: string }

/** A loopback receiver answering `status()` (200 by default); records every request. */
export async function receiver (t: Test, status: () => number = () => 200): Promise<{ url: string, got: Received[] }> {
  const got: Received[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString('utf8') })
    req.on('end', () => {
      got.push({ headers: req.headers, body })
      const code = status()
      if (code === 302) res.setHeader('location', 'http://127.0.0.1:1/elsewhere')
      res.statusCode = code
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got }
}

/** The shop's token, allow-listed loopback receivers and fast retries, laid over any test config. */
export function webhookConfig (allow: string[] = ['127.0.0.1']): Partial<Config> {
  return {
    gatewayTokens: [{ name: 'shop', sha256: createHash('sha256').update(TOKEN).digest('hex') }],
    webhookAllowHosts: allow,
    webhookRetryBaseMs: 20,
    webhookTimeoutMs: 2000
  }
}

/** A gateway on the simulator's manual clock (more options laid over), token and receivers allowed. */
export async function start (t: Test, allow: string[] = ['127.0.0.1'], more: BuildOptions = {}): Promise<Built> {
  return await build(t, {
    clock: 'manual',
    fast: true,
    ...more,
    config: {
      ...webhookConfig(allow),
      // The clock jumps minutes: snapshots must outlive the jumps (no subscriber keeps them).
      finalCacheMs: 24 * 60 * MIN,
      ...more.config
    },
    app: { webhooks: { intervalMs: 20, sweepEveryMs: 20, resolve: async (host) => host === 'internal.example' ? [{ address: '10.1.2.3', family: 4 }] : [{ address: '93.184.215.14', family: 4 }] } }
  })
}

export async function register (s: Built, url: string): Promise<{ id: string, secret: string }> {
  const res = await request(`${s.url}/webhooks`, { headers: BEARER, body: { url, events: ['order.payment_seen', 'order.confirmed', 'order.output_sent', 'order.completed', 'order.gone'] } })
  if (res.status !== 201) throw new Error(`registration: ${res.status} ${res.text}`)
  return res.json as { id: string, secret: string }
}

/** Drives an order to Done, polling through the gateway so its snapshots change. */
export async function lifecycle (s: Built, code: string): Promise<void> {
  const poll = async (): Promise<string> => {
    // Past the polling interval, so the stored snapshot is no longer fresh and a check runs.
    s.clock.advance(200)
    return (await request(`${s.url}/orders/${code}`)).json?.status as string
  }
  const until = async (status: string): Promise<void> => { await waitFor(async () => await poll() === status, status) }
  await until('WaitingForPayment')
  s.sim.control.pay(code)
  await until('Confirming')
  s.clock.advance(2 * MIN)
  await until('WaitingForDelivery')
  s.clock.advance(MIN)
  await poll()
  s.clock.advance(119 * MIN)
  await poll()
  s.clock.advance(MIN)
  await until('Done')
}

export const EXPECTED = ['order.payment_seen', 'order.confirmed', 'order.output_sent', 'order.output_sent', 'order.completed']

export function verified (secret: string, got: Received[]): Array<{ id: string, type: string, data: { trackcode: string, status: string } }> {
  const wh = new Webhook(secret)
  return got.map((r) => wh.verify(r.body, r.headers as Record<string, string>) as { id: string, type: string, data: { trackcode: string, status: string } })
}
