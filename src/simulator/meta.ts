/**
 * GET /v1/ping, /v1/meta, /v1/meta/mixer, /v1/meta/exchange and /v1/prices.
 * Number/string quirks follow the upstream examples: mixer `service_fee` is a number,
 * exchange `service_fee`, `min_usd` and `max_usd` are strings, prices are 8-decimal strings.
 */
import { COINS, findCoin } from './catalog.js'
import { badRequest } from './errors.js'

/** Upstream version the simulator reports. */
export const API_VERSION = '1.2.6'

const SYMBOLS_RE = /^\s*[A-Za-z0-9]{1,12}\s*(?:,\s*[A-Za-z0-9]{1,12}\s*)*$/

/** An entry of `/v1/meta`'s endpoint list. */
export interface EndpointJson {
  name: string
  path: string
  method: 'GET' | 'POST'
  auth: boolean
  desc: string
}

/** The nine endpoints `/v1/meta` lists (it does not list itself, as upstream). */
export const ENDPOINTS: readonly EndpointJson[] = Object.freeze([
  { name: 'Ping', path: '/v1/ping', method: 'GET', auth: false, desc: 'Simple health check.' },
  { name: 'Meta (Mixer)', path: '/v1/meta/mixer', method: 'GET', auth: true, desc: 'Supported coins/networks and mixer rules.' },
  { name: 'Meta (Exchange)', path: '/v1/meta/exchange', method: 'GET', auth: true, desc: 'Supported trading pairs and exchange limits.' },
  { name: 'Create Mixer Order', path: '/v1/mixer/orders', method: 'POST', auth: true, desc: 'Create a new mixer order.' },
  { name: 'Create Exchange Order', path: '/v1/exchange/orders', method: 'POST', auth: true, desc: 'Create a new exchange order.' },
  { name: 'Check Order', path: '/v1/orders/check', method: 'POST', auth: true, desc: 'Get the order status by trackcode.' },
  { name: 'Delete Order', path: '/v1/orders/delete', method: 'POST', auth: true, desc: 'Delete an order (if allowed).' },
  { name: 'Prices', path: '/v1/prices', method: 'GET', auth: true, desc: 'Current exchange rates and prices.' },
  { name: 'Validate Signature', path: '/v1/validate', method: 'POST', auth: false, desc: 'Validate the signature of a digital guarantee letter.' }
])

/** `/v1/ping`. */
export function ping (nowMs: number): { ok: true, service: string, version: string, ts: number } {
  return { ok: true, service: 'SecretCryptos API', version: API_VERSION, ts: Math.floor(nowMs / 1000) }
}

/** `/v1/meta`. */
export function meta (nowMs: number): {
  ok: true
  version: string
  server_time: { iso: string, unix: number }
  docs: { html: string }
  endpoints: readonly EndpointJson[]
} {
  const unix = Math.floor(nowMs / 1000)
  return {
    ok: true,
    version: API_VERSION,
    server_time: { iso: new Date(unix * 1000).toISOString().replace('.000Z', '+00:00'), unix },
    docs: { html: 'https://secretcryptos.com/api' },
    endpoints: ENDPOINTS
  }
}

/** Mixer settings of one coin, as `/v1/meta/mixer` lists them. */
export interface MixerCoinJson {
  name: string
  symbol: string
  service_fee: number
  maintenance: number
  per_address_fee: string
  decimals: number
  confirmations: number
  networks: Record<string, { label: string, min: number, max: number }>
}

/** `/v1/meta/mixer`. */
export function mixerMeta (): { ok: true, mixer: Record<string, MixerCoinJson> } {
  const mixer: Record<string, MixerCoinJson> = {}
  for (const c of COINS) {
    const networks: MixerCoinJson['networks'] = {}
    for (const [id, n] of Object.entries(c.networks)) networks[id] = { label: n.label, min: n.mixer.min, max: n.mixer.max }
    mixer[c.ticker] = {
      name: c.name,
      symbol: c.symbol,
      service_fee: c.mixerFee,
      maintenance: 0,
      per_address_fee: c.perAddressFee,
      decimals: c.decimals,
      confirmations: c.confirmations,
      networks
    }
  }
  return { ok: true, mixer }
}

/** Exchange settings of one destination coin, as `/v1/meta/exchange` lists them. */
export interface ExchangeCoinJson {
  name: string
  symbol: string
  networks: Record<string, { label: string, min_usd: string, max_usd: string, service_fee: string }>
}

/** All prices, ticker → 8-decimal string. */
function allPrices (): Record<string, string> {
  return Object.fromEntries(COINS.map((c) => [c.ticker, c.price]))
}

/** `/v1/meta/exchange`. */
export function exchangeMeta (): {
  ok: true
  exchange: { maintenance: number, prices_usd: Record<string, string>, outputs: Record<string, ExchangeCoinJson> }
} {
  const outputs: Record<string, ExchangeCoinJson> = {}
  for (const c of COINS) {
    const networks: ExchangeCoinJson['networks'] = {}
    for (const [id, n] of Object.entries(c.networks)) {
      networks[id] = { label: n.label, min_usd: n.exchange.minUsd, max_usd: n.exchange.maxUsd, service_fee: n.exchange.serviceFee }
    }
    outputs[c.ticker] = { name: c.name, symbol: c.symbol, networks }
  }
  return { ok: true, exchange: { maintenance: 0, prices_usd: allPrices(), outputs } }
}

/**
 * `/v1/prices?symbols=`: `symbols` is an optional comma-separated list of tickers
 * (any case, spaces around commas tolerated); unknown tickers are left out; an absent or
 * empty list means all. Anything else is BAD_REQUEST.
 */
export function prices (symbols: unknown, nowMs: number): { ok: true, base: 'USD', ts: number, prices: Record<string, string> } {
  let out: Record<string, string>
  if (symbols === undefined || symbols === '') {
    out = allPrices()
  } else {
    if (typeof symbols !== 'string' || !SYMBOLS_RE.test(symbols)) {
      throw badRequest('symbols must be a comma-separated list of tickers, e.g. BTC,ETH')
    }
    out = {}
    for (const s of symbols.split(',')) {
      const coin = findCoin(s.trim())
      if (coin !== undefined) out[coin.ticker] = coin.price
    }
  }
  return { ok: true, base: 'USD', ts: Math.floor(nowMs / 1000), prices: out }
}
