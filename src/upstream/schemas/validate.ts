/**
 * `POST /v1/validate`: check a guarantee letter (`signature_text` of a created order).
 * Its errors name the code `error` instead of `code`.
 */
import { Type, type Static } from 'typebox'
import { NumberOrString, OrderType, Trackcode } from './common.js'
import { rule } from './rule-messages.js'

/** Longest accepted signature block, characters. */
export const MAX_SIGNATURE_LENGTH = 16_384

/** The guarantee letter: Base64, raw or between BEGIN/END DIGITAL SIGNATURE lines. */
export const Signature = rule(Type.String({
  minLength: 1,
  maxLength: MAX_SIGNATURE_LENGTH,
  // Base64 characters, whitespace and the armor lines' letters and dashes; at least one
  // letter or digit. Linear to match (no nested quantifiers).
  pattern: '^(?=[\\s\\S]*[A-Za-z0-9])[A-Za-z0-9+/=\\s-]+$',
  description: 'The guarantee letter: raw Base64, or wrapped in `-----BEGIN DIGITAL SIGNATURE-----` / `-----END DIGITAL SIGNATURE-----` lines.'
}), `must be a Base64 guarantee letter (optionally between BEGIN/END DIGITAL SIGNATURE lines) of at most ${MAX_SIGNATURE_LENGTH} characters`)

/** Request body of `POST /v1/validate`. */
export const ValidateRequest = Type.Object({
  signature: Signature
}, {
  additionalProperties: false,
  description: 'Only orders of the last 48 hours validate.',
  examples: [{ signature: '-----BEGIN DIGITAL SIGNATURE-----\nq1XhR0cWm1Yb0J2cGxhY2Vob2xkZXI=\n-----END DIGITAL SIGNATURE-----' }]
})
export type ValidateRequest = Static<typeof ValidateRequest>

/** One output in a validate answer (`share_percent` is a string here). */
export const ValidateOutput = Type.Object({
  coin: Type.String(),
  network: Type.String(),
  address: Type.String(),
  destination_tag: Type.Union([Type.String(), Type.Number(), Type.Null()]),
  share_percent: NumberOrString,
  delay_minutes: Type.Integer({ minimum: 0 }),
  delay_label: Type.String(),
  amount: Type.String()
})

/** Success answer of `POST /v1/validate`. */
export const ValidateResponse = Type.Object({
  ok: Type.Literal(true),
  message: Type.String(),
  type: OrderType,
  route: Type.String({ description: 'Where the order stands: mixer `confirm` | `deposit` | `mixing`; exchange `exc-deposit` | `exc-send`.' }),
  trackcode: Trackcode,
  order: Type.Object({
    deposit_address: Type.String(),
    service_fee: NumberOrString,
    coin: Type.String(),
    network: Type.String(),
    waiting_balance: Type.String(),
    created_at: Type.Union([Type.Integer(), Type.String()], { description: 'Creation time, Unix seconds (documented as an integer, sent as a string).' })
  }),
  outputs: Type.Array(ValidateOutput),
  outputs_count: Type.Integer({ minimum: 0 })
}, {
  description: 'The signature is genuine: the order it guarantees.',
  examples: [{
    ok: true,
    message: 'The signature has been validated successfully.',
    type: 'mixer',
    route: 'deposit',
    trackcode: '6A5FB3BA8A150EC9',
    order: { deposit_address: '31wX…', service_fee: '0.45', coin: 'btc', network: 'btc', waiting_balance: '10.00000000', created_at: '1755698732' },
    outputs: [
      { coin: 'btc', network: 'btc', address: '35iM…', destination_tag: '', share_percent: '84.93', delay_minutes: 0, delay_label: '0h 0m', amount: '8.45469657' }
    ],
    outputs_count: 2
  }]
})
export type ValidateResponse = Static<typeof ValidateResponse>
