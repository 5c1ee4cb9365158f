/**
 * Requests straight to a simulator (through `inject`, with the test key unless told
 * otherwise), for the simulator's own tests.
 */
import type { Simulator } from '../../src/simulator/index.js'
import { AUTH, BTC_A, BTC_B } from './fixtures.js'

/** The upstream doc's mixer example. */
export const MIXER_EXAMPLE = {
  action: 'create_order',
  addresses: [
    { address: BTC_A, percent: '84.93', delay: '0' },
    { address: BTC_B, percent: '15.07', delay: '120' }
  ],
  amount: '10.00000000',
  crypto: 'btc',
  network: 'btc',
  partner: 'YOUR_PARTNER_KEY',
  service_fee: 0.45
}

export interface Reply {
  status: number
  headers: Record<string, unknown>
  body: string

  json: any
}

function toReply (res: { statusCode: number, headers: Record<string, unknown>, body: string }): Reply {
  let json: unknown
  try { json = JSON.parse(res.body) } catch { json = undefined }
  return { status: res.statusCode, headers: res.headers, body: res.body, json }
}

/** POSTs JSON (with the API key unless `headers` says otherwise). */
export async function post (s: Simulator, url: string, body?: unknown, headers: Record<string, string> = AUTH): Promise<Reply> {
  const res = await s.app.inject({
    method: 'POST',
    url,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) })
  })
  return toReply(res)
}

/** GETs (with the API key unless `headers` says otherwise). */
export async function get (s: Simulator, url: string, headers: Record<string, string> = AUTH): Promise<Reply> {
  return toReply(await s.app.inject({ method: 'GET', url, headers }))
}

/** Creates the doc's mixer example order and returns the create response body. */

export async function createMixer (s: Simulator, overrides: Record<string, unknown> = {}): Promise<any> {
  const res = await post(s, '/v1/mixer/orders', { ...MIXER_EXAMPLE, ...overrides })
  if (res.status !== 200) throw new Error(`create failed: ${res.body}`)
  return res.json
}

/** Checks an order. */
export async function check (s: Simulator, trackcode: string, extra: Record<string, unknown> = {}): Promise<Reply> {
  return post(s, '/v1/orders/check', { trackcode, ...extra })
}
