/**
 * `GET /v1/meta`, `/v1/meta/mixer` and `/v1/meta/exchange`: the API's self-description and
 * the per-coin configuration of the mixer and the exchange.
 */
import { Type, type Static } from 'typebox'
import { CoinAmount, NumberOrString, UnixSeconds } from './common.js'

/** One entry of `/v1/meta`'s endpoint list. */
export const MetaEndpoint = Type.Object({
  name: Type.String(),
  path: Type.String(),
  method: Type.String(),
  auth: Type.Boolean(),
  desc: Type.String()
})

/** Success answer of `GET /v1/meta`. */
export const MetaResponse = Type.Object({
  ok: Type.Literal(true),
  version: Type.String(),
  server_time: Type.Object({ iso: Type.String(), unix: UnixSeconds }),
  docs: Type.Object({ html: Type.String() }),
  endpoints: Type.Array(MetaEndpoint)
}, {
  description: 'API version, server time, documentation link and the endpoint list.',
  examples: [{
    ok: true,
    version: '1.2.6',
    server_time: { iso: '2024-08-16T09:20:00+00:00', unix: 1723800000 },
    docs: { html: 'https://secretcryptos.com/api' },
    endpoints: [
      { name: 'Ping', path: '/v1/ping', method: 'GET', auth: false, desc: 'Simple health check.' },
      { name: 'Check Order', path: '/v1/orders/check', method: 'POST', auth: true, desc: 'Get the order status by trackcode.' }
    ]
  }]
})
export type MetaResponse = Static<typeof MetaResponse>

/** Mixer limits of one network, in coin units. */
export const MixerNetwork = Type.Object({
  label: Type.String(),
  min: NumberOrString,
  max: NumberOrString
})

/** Mixer configuration of one coin. */
export const MixerCoin = Type.Object({
  name: Type.String(),
  symbol: Type.String(),
  service_fee: Type.Union([Type.Number(), Type.String()], { description: 'Default service fee, percent (0.1 = 0.1 %).' }),
  maintenance: Type.Integer({ description: '1 while the coin is under maintenance.' }),
  per_address_fee: Type.String({ description: 'Fee per output in coin units, 8-decimal string.' }),
  decimals: Type.Integer(),
  confirmations: Type.Integer(),
  networks: Type.Record(Type.String(), MixerNetwork, { description: 'Network id → limits.' })
})

/** Success answer of `GET /v1/meta/mixer`. */
export const MixerMetaResponse = Type.Object({
  ok: Type.Literal(true),
  mixer: Type.Record(Type.String(), MixerCoin, { description: 'Upper-case ticker → configuration.' })
}, {
  description: 'Per-coin mixer configuration: default fee, fee per output, and the min/max amount per network.',
  examples: [{
    ok: true,
    mixer: {
      BTC: {
        name: 'Bitcoin',
        symbol: '₿',
        service_fee: 0.1,
        maintenance: 0,
        per_address_fee: '0.00005000',
        decimals: 8,
        confirmations: 1,
        networks: { btc: { label: 'Bitcoin (BTC)', min: 0.001, max: 20 } }
      }
    }
  }]
})
export type MixerMetaResponse = Static<typeof MixerMetaResponse>

/** Exchange settings of one destination network. */
export const ExchangeNetwork = Type.Object({
  label: Type.String(),
  min_usd: NumberOrString,
  max_usd: NumberOrString,
  service_fee: Type.Union([Type.String(), Type.Number()], { description: 'Site default fee, percent (a string here).' })
})

/** Exchange configuration of one coin. */
export const ExchangeCoin = Type.Object({
  name: Type.String(),
  symbol: Type.String(),
  networks: Type.Record(Type.String(), ExchangeNetwork)
})

/** Success answer of `GET /v1/meta/exchange`. */
export const ExchangeMetaResponse = Type.Object({
  ok: Type.Literal(true),
  exchange: Type.Object({
    maintenance: Type.Integer(),
    prices_usd: Type.Record(Type.String(), CoinAmount, { description: 'Live USD prices, ticker → decimal string.' }),
    outputs: Type.Record(Type.String(), ExchangeCoin, { description: 'Upper-case ticker → destination networks.' })
  })
}, {
  description: 'Exchange configuration: live USD prices and, per destination network, the USD limits and the default fee.',
  examples: [{
    ok: true,
    exchange: {
      maintenance: 0,
      prices_usd: { BTC: '117799.51713382', ETH: '4409.46254479', USDT: '1.0005594' },
      outputs: {
        BTC: {
          name: 'Bitcoin',
          symbol: '₿',
          networks: { btc: { label: 'Bitcoin (BTC)', min_usd: '100', max_usd: '182520', service_fee: '0.5' } }
        }
      }
    }
  }]
})
export type ExchangeMetaResponse = Static<typeof ExchangeMetaResponse>
