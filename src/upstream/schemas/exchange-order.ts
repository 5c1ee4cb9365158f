/**
 * `POST /v1/exchange/orders`: swap a deposit of `from_coin/from_network` to one
 * `to_address` on `to_coin/to_network`.
 *
 * The USD limits of the pair (`amount × price` within `min_usd`–`max_usd`) are left to
 * upstream: they depend on live prices, and a check against a cached price could refuse
 * an order upstream would take (see `src/upstream/rules/exchange-order.ts`).
 */
import { Type, type Static } from 'typebox'
import { CoinAmount, CoinOrNetwork, DestinationTag, NumberOrString, PartnerKey, QrFlag, Trackcode } from './common.js'
import { AddressInput, AmountInput, CreatedOutput, OrderDeposit } from './mixer-order.js'
import { rule } from './rule-messages.js'

/**
 * The exchange's service fee: at most 2 decimals. Upstream clamps it into its range
 * (below the site default → the default, above 3.00 → 3.00), so no range is refused here.
 */
export const ExchangeServiceFeeInput = rule(Type.Union([
  Type.String({ pattern: '^\\d{1,3}(?:\\.\\d{1,2})?$' }),
  Type.Number({ minimum: 0, maximum: 999 })
], {
  description: 'Service fee, percent, at most 2 decimals; upstream keeps it within 0.50–3.00: below the site default → the default, above 3.00 → 3.00. Omitted: max(site default, 0.50).',
  examples: [0.6]
}), 'must be a percentage with at most 2 decimals')

/** Request body of `POST /v1/exchange/orders`. */
export const ExchangeOrderRequest = Type.Object({
  from_coin: CoinOrNetwork,
  from_network: CoinOrNetwork,
  to_coin: CoinOrNetwork,
  to_network: CoinOrNetwork,
  to_address: AddressInput,
  amount: AmountInput,
  service_fee: Type.Optional(ExchangeServiceFeeInput),
  partner: Type.Optional(PartnerKey),
  qrcode: Type.Optional(QrFlag),
  destination_tag: Type.Optional(DestinationTag),
  memo: Type.Optional(DestinationTag)
}, {
  additionalProperties: false,
  description: 'An exchange order. XRP destinations add `destination_tag`, TON destinations `memo` (or `destination_tag`). `amount × from price` must lie within the pair\'s USD limits (checked by upstream). Unknown fields are refused.',
  examples: [{
    from_coin: 'eth',
    from_network: 'eth',
    to_coin: 'doge',
    to_network: 'doge',
    to_address: 'DLPaeuaJi2JLUcvYHD4ddLxadwnGaVSt4p',
    amount: '1.00000000',
    service_fee: 0.6,
    qrcode: 1
  }]
})
export type ExchangeOrderRequest = Static<typeof ExchangeOrderRequest>

/** Success answer of `POST /v1/exchange/orders`. */
export const ExchangeOrderResponse = Type.Object({
  ok: Type.Literal(true),
  type: Type.Literal('exchange'),
  trackcode: Trackcode,
  pair: Type.Object({ from: Type.String(), to: Type.String() }),
  deposit: Type.Object({
    ...OrderDeposit.properties,
    min_usd: NumberOrString,
    max_usd: NumberOrString
  }),
  quote: Type.Object({
    from: Type.Object({ coin: Type.String(), network: Type.String(), price_usd: NumberOrString, amount: CoinAmount, amount_usd: Type.String() }),
    to: Type.Object({ coin: Type.String(), network: Type.String(), price_usd: NumberOrString, estimated_receive: CoinAmount }),
    fee_percent: NumberOrString,
    final_usd: Type.String()
  }, { description: '`final_usd = amount_usd × (1 − fee%)`; `to.estimated_receive = final_usd ÷ to price`.' }),
  receive: Type.Object({
    address: Type.String(),
    destination_tag: Type.Union([Type.String(), Type.Number(), Type.Null()]),
    coin: Type.String(),
    network: Type.String(),
    percent: NumberOrString,
    delay_minutes: Type.Integer({ minimum: 0 }),
    delay_label: Type.String({ description: 'Defaults to `0h 10m`.' }),
    amount: CoinAmount,
    time: Type.Integer()
  }),
  outputs: Type.Array(CreatedOutput),
  signature_text: Type.String({ description: 'The signed guarantee letter (see `/v1/validate`).' })
}, {
  description: 'The order: its trackcode, where to pay, the quote and what will be received.',
  examples: [{
    ok: true,
    type: 'exchange',
    trackcode: 'D391FC08747E7B04',
    pair: { from: 'ETH_eth', to: 'DOGE_doge' },
    deposit: {
      address: '0x7ed2…',
      name: 'Ethereum',
      symbol: 'Ξ',
      network: 'eth',
      network_label: 'Ethereum (ERC20)',
      deposit_amount: '1.00000000',
      min_usd: 100,
      max_usd: 88565,
      expires_at: 1755781843,
      qr_code: 'data:image/png;base64,...'
    },
    quote: {
      from: { coin: 'ETH', network: 'eth', price_usd: 4300.8836, amount: '1.00000000', amount_usd: '4300.88362842' },
      to: { coin: 'DOGE', network: 'doge', price_usd: 0.22014648, estimated_receive: '19419.24455241' },
      fee_percent: 0.6,
      final_usd: '4275.07832665'
    },
    receive: { address: 'DLPa…', destination_tag: null, coin: 'DOGE', network: 'doge', percent: 100, delay_minutes: 10, delay_label: '0h 10m', amount: '19419.24455241', time: 1755609642 },
    outputs: [
      { id: 1, address: 'DLPa…', destination_tag: null, share_percent: 100, delay_minutes: 10, delay_label: '0h 10m', amount: '19419.24455241', time: 1755609642 }
    ],
    signature_text: '...'
  }]
})
export type ExchangeOrderResponse = Static<typeof ExchangeOrderResponse>
