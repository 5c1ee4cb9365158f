/**
 * `GET /v1/prices?symbols=BTC,ETH`: current USD prices.
 */
import { Type, type Static } from 'typebox'
import { CoinAmount, UnixSeconds } from './common.js'
import { rule } from './rule-messages.js'

/** Longest accepted `symbols` list. */
export const MAX_SYMBOLS_LENGTH = 256

/** `symbols`: a comma-separated list of tickers (spaces around commas tolerated); empty means all. */
export const Symbols = rule(Type.String({
  maxLength: MAX_SYMBOLS_LENGTH,
  pattern: '^\\s*(?:[A-Za-z0-9]{1,12}\\s*(?:,\\s*[A-Za-z0-9]{1,12}\\s*)*)?$',
  description: 'Comma-separated tickers, any case (e.g. `BTC,ETH`). Omitted or empty: every price. Unsupported tickers are left out of the answer.',
  examples: ['BTC,ETH']
}), `must be a comma-separated list of tickers (letters and digits, at most ${MAX_SYMBOLS_LENGTH} characters), e.g. BTC,ETH`)

/** Query string of `GET /v1/prices`. */
export const PricesQuery = Type.Object({
  symbols: Type.Optional(Symbols)
})
export type PricesQuery = Static<typeof PricesQuery>

/** Success answer of `GET /v1/prices`. */
export const PricesResponse = Type.Object({
  ok: Type.Literal(true),
  base: Type.String({ description: 'Quote currency, `USD`.' }),
  ts: UnixSeconds,
  prices: Type.Record(Type.String(), CoinAmount, { description: 'Upper-case ticker → USD price (decimal string).' })
}, {
  description: 'USD prices of the requested tickers.',
  examples: [{ ok: true, base: 'USD', ts: 1755600000, prices: { BTC: '117799.51713382', ETH: '4409.46254479' } }]
})
export type PricesResponse = Static<typeof PricesResponse>
