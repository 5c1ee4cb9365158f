/**
 * `POST /v1/orders/check`: an order's deposit and outputs (the endpoint the tracker polls).
 */
import { Type, type Static } from 'typebox'
import { CoinAmount, NumberOrString, OrderType, Trackcode } from './common.js'
import { rule } from './rule-messages.js'

/** `outputs` of the check request: how much of the outputs to return. */
export const CheckOutputsMode = rule(Type.Enum(['none', 'summary', 'full'], {
  description: '`none`: no outputs; `summary` (default): counts; `full`: every output.'
}), 'must be "none", "summary" or "full"')
export type CheckOutputsMode = Static<typeof CheckOutputsMode>

/** `mask_addresses` of the check request (booleans; 0/1 as PHP clients send them). */
export const MaskAddressesFlag = rule(Type.Unsafe<boolean | 0 | 1>({
  enum: [true, false, 0, 1],
  description: 'Mask output addresses (default `true`).'
}), 'must be true or false')

/** Request body of `POST /v1/orders/check`. */
export const OrderCheckRequest = Type.Object({
  trackcode: Trackcode,
  type: Type.Optional(OrderType),
  outputs: Type.Optional(CheckOutputsMode),
  mask_addresses: Type.Optional(MaskAddressesFlag)
}, {
  additionalProperties: false,
  description: 'Which order to check and how much of it to return. `type` is auto-detected when omitted.',
  examples: [{ trackcode: '6A5FB3BA8A150EC9', outputs: 'full', mask_addresses: false }]
})
export type OrderCheckRequest = Static<typeof OrderCheckRequest>

/** `deposit.funding`. */
export const CheckFunding = Type.Object({
  waiting_balance: CoinAmount,
  received_balance: CoinAmount,
  remaining_need: CoinAmount,
  is_fully_funded: Type.Boolean(),
  can_start: Type.Boolean({ description: 'True only when `confirm_status` is 2 and the deposit is fully funded.' })
})
export type CheckFunding = Static<typeof CheckFunding>

/** `deposit` of a check answer. */
export const CheckDeposit = Type.Object({
  confirm_status: Type.Integer({ minimum: 0, maximum: 2, description: '0 no payment seen; 1 payment seen, pending (confirmations or not fully funded); 2 confirmed and funded.' }),
  coin: Type.String(),
  network: Type.String(),
  delete_in_sec: Type.Integer({ description: 'Seconds left of the 48-hour retention; then the order is gone.' }),
  funding: CheckFunding
})
export type CheckDeposit = Static<typeof CheckDeposit>

/**
 * The fields of an output that stay put between checks (everything but the ticking
 * `left_seconds`): shared with the tracked output of `src/tracking/schemas.ts`.
 */
export const STABLE_OUTPUT_FIELDS = {
  index: Type.Integer({ minimum: 1 }),
  address: Type.String({ description: 'Destination address, masked unless `mask_addresses: false` (the tracker always asks for masked ones: `35iM…EL`).' }),
  destination_tag: Type.Union([Type.String(), Type.Number(), Type.Null()]),
  coin: Type.String(),
  network: Type.String(),
  share_percent: NumberOrString,
  delay_label: Type.String({ examples: ['2h 0m'] }),
  delay_seconds: Type.Integer({ minimum: 0 }),
  state: Type.Integer({ minimum: 0, maximum: 2, description: '0 waiting (deposit not confirmed), 1 processing (scheduled), 2 complete (transfer done).' }),
  confirm: Type.Integer({ minimum: 0, maximum: 1, description: 'At state 2: 0 broadcast but unconfirmed, 1 at least one confirmation.' }),
  tx: Type.String({ description: 'Transaction hash; "" until sent.' }),
  amount: CoinAmount
}

/** One output of a check answer with `outputs: "full"`. */
export const CheckOutput = Type.Object({
  ...STABLE_OUTPUT_FIELDS,
  left_seconds: Type.Integer({ minimum: 0, description: 'Seconds until the planned send; counts down only once `confirm_status` is 2.' })
})
export type CheckOutput = Static<typeof CheckOutput>

/** `outputs` of a check answer with `outputs: "summary"`. */
export const CheckOutputsSummary = Type.Object({
  count: Type.Integer({ minimum: 0 }),
  sent_count: Type.Integer({ minimum: 0 }),
  sent_total: CoinAmount
})
export type CheckOutputsSummary = Static<typeof CheckOutputsSummary>

/** Success answer of `POST /v1/orders/check` (forwarded unchanged; unknown fields kept). */
export const OrderCheckResponse = Type.Object({
  ok: Type.Literal(true),
  type: OrderType,
  trackcode: Trackcode,
  deposit: CheckDeposit,
  status_reason: Type.Optional(Type.String({ description: 'Why the order waits, e.g. `INSUFFICIENT_FUNDS`.' })),
  outputs: Type.Optional(Type.Union([Type.Array(CheckOutput), CheckOutputsSummary], {
    description: 'Absent for `none`, counts for `summary`, every output for `full`.'
  }))
}, {
  description: 'The order as upstream reports it (refreshed upstream about once a minute).',
  examples: [
    {
      ok: true,
      type: 'mixer',
      trackcode: '6A5FB3BA8A150EC9',
      deposit: {
        confirm_status: 2,
        coin: 'btc',
        network: 'btc',
        delete_in_sec: 167812,
        funding: { waiting_balance: '10.00000000', received_balance: '10.00000000', remaining_need: '0.00000000', is_fully_funded: true, can_start: true }
      },
      outputs: [
        { index: 1, address: '35iM…', destination_tag: null, coin: 'btc', network: 'btc', share_percent: 84.93, delay_label: '0h 0m', delay_seconds: 0, state: 2, confirm: 1, tx: '135f451af7f894....fafb578eee9e9c4', amount: '8.45469657', left_seconds: 0 },
        { index: 2, address: '1P27…', destination_tag: null, coin: 'btc', network: 'btc', share_percent: 15.07, delay_label: '2h 0m', delay_seconds: 7200, state: 1, confirm: 0, tx: '', amount: '1.50020343', left_seconds: 5916 }
      ]
    },
    {
      ok: true,
      type: 'exchange',
      trackcode: 'A1B2C3D4E5F6A7B8',
      deposit: {
        confirm_status: 2,
        coin: 'usdt',
        network: 'erc20',
        delete_in_sec: 14321,
        funding: { waiting_balance: '500.00000000', received_balance: '420.00000000', remaining_need: '80.00000000', is_fully_funded: false, can_start: false }
      },
      status_reason: 'INSUFFICIENT_FUNDS',
      outputs: { count: 3, sent_count: 0, sent_total: '0.00000000' }
    }
  ]
})
export type OrderCheckResponse = Static<typeof OrderCheckResponse>
