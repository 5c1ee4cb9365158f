/**
 * `POST /v1/mixer/orders`: create a mixer order (1 to 10 outputs sharing the deposit).
 *
 * The schema encodes every per-field rule of the contract. What JSON Schema cannot say is
 * checked in code (`src/upstream/rules/mixer-order.ts`): at most 2 decimals for percents
 * and fees sent as JSON numbers, the percent sum of exactly 100.00, delay labels up to
 * 2880 minutes, address formats per network and the amount against the coin's limits.
 */
import { Type, type Static } from 'typebox'
import { CoinAmount, CoinOrNetwork, DestinationTag, NumberOrString, PartnerKey, QrFlag, Trackcode } from './common.js'
import { rule } from './rule-messages.js'

/** Most outputs of one mixer order. */
export const MAX_OUTPUTS = 10

/** Longest delay: 48 h. */
export const MAX_DELAY_MINUTES = 2880

/** Positive coin amount, dot as separator, at most 8 decimals; a string or a JSON number. */
export const AmountInput = rule(Type.Union([
  Type.String({ pattern: '^(?=.*[1-9])\\d{1,12}(?:\\.\\d{1,8})?$' }),
  Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1e12 })
], {
  description: 'Amount in coin units: a positive decimal with a dot as separator and at most 8 decimals (string, or number).',
  examples: ['10.00000000']
}), 'must be a positive decimal with a dot as separator and at most 8 decimals')

/** A share of the deposit: 1.00 to 100.00, at most 2 decimals. */
export const PercentInput = rule(Type.Union([
  Type.String({ pattern: '^(?:100(?:\\.0{1,2})?|[1-9]\\d?(?:\\.\\d{1,2})?)$' }),
  Type.Number({ minimum: 1, maximum: 100 })
], {
  description: 'Share of the deposit sent to this output, percent: 1.00 to 100.00 with at most 2 decimals (string, or number). The shares must add up to exactly 100.00.',
  examples: ['84.93']
}), 'must be a percentage from 1.00 to 100.00 with at most 2 decimals')

/** Minutes as digits (0–2880) or a label `Xh Ym`; at most 48 h. */
export const DelayInput = rule(Type.Union([
  Type.String({ pattern: '^(?:\\d{1,3}|1\\d{3}|2[0-7]\\d{2}|28[0-7]\\d|2880|\\d{1,2}h(?: ?\\d{1,4}m)?|\\d{1,4}m)$' }),
  Type.Integer({ minimum: 0, maximum: MAX_DELAY_MINUTES })
], {
  description: 'Delay before this output is sent: minutes (`120`, `"120"`) or a label (`"2h 0m"`), at most 48h = 2880 minutes.',
  examples: ['120']
}), `must be minutes (0 to ${MAX_DELAY_MINUTES}) or a label like "2h 0m", at most 48h`)

/** The mixer's service fee override: 0.10 to 5.00 percent, at most 2 decimals. */
export const MixerServiceFeeInput = rule(Type.Union([
  Type.String({ pattern: '^(?:0\\.[1-9]\\d?|[1-4](?:\\.\\d{1,2})?|5(?:\\.0{1,2})?)$' }),
  Type.Number({ minimum: 0.1, maximum: 5 })
], {
  description: 'Service fee override, percent: 0.10 to 5.00 with at most 2 decimals. Omitted: the coin\'s default.',
  examples: [0.45]
}), 'must be a percentage from 0.10 to 5.00 with at most 2 decimals')

/** A destination address (its format per network is checked in code). */
export const AddressInput = rule(Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9:_-]+$',
  description: 'Destination address; its format must match the network (BTC legacy/SegWit, ERC-20 `0x…`, TRC-20 `T…`, SOL, …).'
}), 'must be an address of 1 to 128 letters and digits')

/** One output of a mixer order. */
export const MixerOutputInput = Type.Object({
  address: AddressInput,
  percent: PercentInput,
  delay: DelayInput,
  destination_tag: Type.Optional(DestinationTag)
}, {
  additionalProperties: false,
  // The contract names only `destination_tag` as optional: `delay` is required (use 0).
  description: 'One output: `address`, `percent` and `delay` are required (`delay: 0` sends at once); `destination_tag` is optional.'
})
export type MixerOutputInput = Static<typeof MixerOutputInput>

/**
 * The contract's mixer order (two outputs, 84.93 % / 15.07 %, 10 BTC): the schema's
 * example, and the body tests and benchmarks send. Frozen all through: spread it to vary it.
 */
export const MIXER_ORDER_EXAMPLE = Object.freeze({
  addresses: Object.freeze([
    Object.freeze({ address: '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', percent: '84.93', delay: '0' }),
    Object.freeze({ address: '1P279UBChDFPAky8S4DcKGaaxKEMYBK9MM', percent: '15.07', delay: '120' })
  ]),
  amount: '10.00000000',
  crypto: 'btc',
  network: 'btc'
})

/** Request body of `POST /v1/mixer/orders`. */
export const MixerOrderRequest = Type.Object({
  action: Type.Optional(rule(Type.Literal('create_order', { description: 'Accepted for compatibility with upstream\'s examples.' }), 'must be "create_order"')),
  addresses: rule(Type.Array(MixerOutputInput, {
    minItems: 1,
    maxItems: MAX_OUTPUTS,
    description: `1 to ${MAX_OUTPUTS} outputs; their percents add up to exactly 100.00 (a single output: 100.00).`
  }), `must list 1 to ${MAX_OUTPUTS} outputs`),
  amount: AmountInput,
  crypto: CoinOrNetwork,
  network: CoinOrNetwork,
  partner: Type.Optional(PartnerKey),
  service_fee: Type.Optional(MixerServiceFeeInput),
  qrcode: Type.Optional(QrFlag)
}, {
  additionalProperties: false,
  description: 'A mixer order. The amount must lie within the coin/network `min`–`max` of `/v1/meta/mixer` (else `AMOUNT_TOO_LOW` / `AMOUNT_TOO_HIGH`). Unknown fields are refused.',
  examples: [{
    action: 'create_order',
    ...MIXER_ORDER_EXAMPLE,
    service_fee: 0.45,
    qrcode: 1
  }]
})
export type MixerOrderRequest = Static<typeof MixerOrderRequest>

/** `deposit` of a created order: where and how much to pay. */
export const OrderDeposit = Type.Object({
  address: Type.String(),
  name: Type.String(),
  symbol: Type.String(),
  network: Type.String(),
  network_label: Type.String(),
  deposit_amount: CoinAmount,
  expires_at: Type.Integer({ description: 'When the deposit address expires, Unix seconds.' }),
  qr_code: Type.Optional(Type.String({ description: 'Base64 PNG data URL of the address, when `qrcode: 1`.' }))
})

/** One output of a created order. */
export const CreatedOutput = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  address: Type.String(),
  destination_tag: Type.Union([Type.String(), Type.Number(), Type.Null()]),
  share_percent: NumberOrString,
  delay_minutes: Type.Integer({ minimum: 0 }),
  delay_label: Type.String(),
  amount: CoinAmount,
  time: Type.Integer({ description: 'Planned send time, Unix seconds.' })
})

/** Success answer of `POST /v1/mixer/orders`. */
export const MixerOrderResponse = Type.Object({
  ok: Type.Literal(true),
  trackcode: Trackcode,
  maintenance: Type.Integer(),
  deposit: Type.Object({
    ...OrderDeposit.properties,
    min_amount: NumberOrString,
    max_amount: NumberOrString
  }),
  fees: Type.Object({
    service_fee_percent: NumberOrString,
    service_fee_value: CoinAmount,
    fee_per_output: CoinAmount,
    fee_outputs_total: CoinAmount,
    fee_total: CoinAmount
  }, { description: '`service_fee_value = amount × fee%`, `fee_outputs_total = fee_per_output × outputs`, `fee_total` their sum.' }),
  outputs: Type.Array(CreatedOutput, { description: 'Each output gets `(amount − fee_total) × share_percent / 100`.' }),
  signature_text: Type.String({ description: 'The signed guarantee letter: the customer\'s proof of the order (see `/v1/validate`).' })
}, {
  description: 'The order: its trackcode, where to pay, the fees and the planned outputs.',
  examples: [{
    ok: true,
    trackcode: '6A5FB3BA8A150EC9',
    maintenance: 0,
    deposit: {
      address: '31wXuLH5AKBWoZsK4VJS5wG75nTUAWYnWf',
      name: 'Bitcoin',
      symbol: '₿',
      network: 'btc',
      network_label: 'Bitcoin (BTC)',
      deposit_amount: '10.00000000',
      min_amount: 0.001,
      max_amount: 20,
      expires_at: 1755614593,
      qr_code: '.....'
    },
    fees: { service_fee_percent: 0.45, service_fee_value: '0.04500000', fee_per_output: '0.00005000', fee_outputs_total: '0.00010000', fee_total: '0.04510000' },
    outputs: [
      { id: 1, address: '35iM…', destination_tag: null, share_percent: 84.93, delay_minutes: 0, delay_label: '0h 0m', amount: '8.45469657', time: 1755441793 },
      { id: 2, address: '1P27…', destination_tag: null, share_percent: 15.07, delay_minutes: 120, delay_label: '2h 0m', amount: '1.50020343', time: 1755448993 }
    ],
    signature_text: '....'
  }]
})
export type MixerOrderResponse = Static<typeof MixerOrderResponse>
