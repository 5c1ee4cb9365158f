/**
 * Building blocks shared by the schemas of every SecretCryptos endpoint.
 *
 * Request-side schemas encode the contract's rules (and carry readable messages, see
 * `rule-messages.ts`); response-side schemas only *document* upstream's answers, which
 * the gateway forwards byte for byte. Response objects therefore never set
 * `additionalProperties: false`, and fields the contract shows both as a number and as a
 * string (its quirks list) accept both.
 */
import { Type, type Static, type TSchema } from 'typebox'
import { ErrorEnvelope } from '../../errors.js'
import { rule } from './rule-messages.js'

export { ErrorEnvelope }

/** `trackcode`: 16 upper-case hexadecimal characters. */
export const Trackcode = rule(Type.String({
  pattern: '^[0-9A-F]{16}$',
  description: 'Order tracking code: 16 upper-case hexadecimal characters.',
  examples: ['6A5FB3BA8A150EC9']
}), 'must be 16 upper-case hexadecimal characters')
export type Trackcode = Static<typeof Trackcode>

/** Order kind. */
export const OrderType = rule(Type.Enum(['mixer', 'exchange'], {
  description: 'Order kind.'
}), 'must be "mixer" or "exchange"')
export type OrderType = Static<typeof OrderType>

/** A coin amount as upstream writes it: a string with 8 decimals. */
export const CoinAmount = Type.String({ description: 'Coin amount, decimal string with 8 decimals.', examples: ['10.00000000'] })

/** A field the contract shows both as a number and as a decimal string. */
export const NumberOrString = Type.Union([Type.Number(), Type.String()])

/** Unix epoch seconds. */
export const UnixSeconds = Type.Integer({ description: 'Unix epoch seconds.', examples: [1755614593] })

/** A coin ticker or network id as sent by clients (`btc`, `BTC`, `erc20`). */
export const CoinOrNetwork = rule(Type.String({
  pattern: '^[A-Za-z0-9_-]{1,20}$',
  description: 'Coin ticker or network id, case-insensitive (e.g. `btc`, `erc20`).'
}), 'must be a coin or network id of 1 to 20 letters, digits, "_" or "-"')

/** A destination tag (XRP) or memo (TON); may be omitted or "". */
export const DestinationTag = rule(Type.Union([
  Type.String({ maxLength: 120, pattern: '^[\\x20-\\x7e]*$' }),
  Type.Integer({ minimum: 0, maximum: 4294967295 })
], {
  description: 'Destination tag (XRP, an integer) or memo (TON) for networks that need one; may be omitted or "".',
  examples: ['123456']
}), 'must be a destination tag or memo of at most 120 printable characters')

/** The partner key, earning 30 % of the service fee. */
export const PartnerKey = rule(Type.String({
  maxLength: 128,
  pattern: '^[\\x21-\\x7e]*$',
  description: 'Partner key (earns 30 % of the service fee). When the gateway has a `SECRETCRYPTOS_PARTNER_KEY` configured, that key replaces whatever is sent here; otherwise this value passes as sent.'
}), 'must be a partner key of at most 128 printable characters without spaces')

/** `qrcode`: 1 asks for the deposit address as a Base64 PNG data URL. */
export const QrFlag = rule(Type.Unsafe<0 | 1 | '0' | '1' | boolean>({
  enum: [0, 1, '0', '1', true, false],
  description: '1 → `deposit.qr_code` holds a Base64 PNG data URL; 0 or omitted → none.',
  examples: [1]
}), 'must be 0 or 1')

/**
 * `{ ok: false, error, message }`: the failure envelope of `/v1/validate`, which names
 * the key `error` where every other endpoint says `code`. The gateway's own rejections on
 * that route carry both keys.
 */
export const ValidateErrorEnvelope = Type.Object({
  ok: Type.Literal(false),
  error: Type.Optional(Type.String({ description: 'Error code (this endpoint\'s key), e.g. INVALID_SIGNATURE.' })),
  code: Type.Optional(Type.String({ description: 'Same code under the gateway-wide key; present on errors the gateway itself produces.' })),
  message: Type.String()
}, {
  description: 'Failure envelope of `/v1/validate` (key `error` instead of `code`).',
  examples: [{ ok: false, error: 'INVALID_SIGNATURE', message: 'Signature is not valid Base64 or too short' }]
})
export type ValidateErrorEnvelope = Static<typeof ValidateErrorEnvelope>

/** Why each error status can happen, for the OpenAPI responses, with a default example. */
const ERROR_STATUSES = {
  400: { code: 'BAD_REQUEST', message: 'trackcode must be 16 upper-case hexadecimal characters', description: 'Rejected input: by the gateway before any upstream call (no quota spent), or by upstream. The message names the field.' },
  401: { code: 'UNAUTHORIZED', message: 'Invalid API key', description: 'Upstream refused the gateway\'s API key (an operator problem; forwarded as is).' },
  403: { code: 'FORBIDDEN', message: 'This API key is disabled', description: 'Upstream refused the gateway\'s API key for this call (forwarded as is).' },
  404: { code: 'NOT_FOUND', message: 'Order not found or already deleted', description: 'No such order (upstream\'s answer, forwarded as is).' },
  413: { code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large', description: 'The request body exceeds `BODY_LIMIT_BYTES`.' },
  415: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json', description: 'The request body is not JSON.' },
  429: { code: 'TOO_MANY_REQUESTS', message: 'The upstream daily quota is used up; retry in 3600 s', description: 'The daily upstream quota is spent: by the gateway\'s own count (with `Retry-After`, no upstream call made), or by upstream.' },
  500: { code: 'SERVER_ERROR', message: 'Internal server error', description: 'Upstream (or the gateway) failed internally.' },
  502: { code: 'UPSTREAM_UNAVAILABLE', message: 'SecretCryptos could not be reached (ECONNRESET)', description: 'Upstream could not be reached or reset the connection (`UPSTREAM_UNAVAILABLE`), or answered something that is not JSON (`UPSTREAM_BAD_RESPONSE`).' },
  503: { code: 'SERVICE_UNAVAILABLE', message: 'No free deposit address for this network', description: 'Upstream cannot serve the call now, e.g. no free deposit address or maintenance (forwarded as is).' },
  504: { code: 'UPSTREAM_TIMEOUT', message: 'SecretCryptos did not answer within 10000 ms', description: 'Upstream did not answer within `UPSTREAM_TIMEOUT_MS`.' }
} as const

/** A status the gateway documents an error response for. */
export type ErrorStatus = keyof typeof ERROR_STATUSES

/** What an authenticated call to upstream can fail with, whatever its input. */
export const UPSTREAM_ERRORS: readonly ErrorStatus[] = [401, 403, 429, 500, 502, 503, 504]

/** What an unauthenticated call to upstream can fail with. */
export const NO_AUTH_UPSTREAM_ERRORS: readonly ErrorStatus[] = [500, 502, 503, 504]

/** What a JSON request body can be refused with before any upstream call. */
export const BODY_ERRORS: readonly ErrorStatus[] = [400, 413, 415]

/** How {@link errorResponses} documents a route's errors. */
export interface ErrorResponseOptions {
  /** The envelope schema; default {@link ErrorEnvelope}. */
  envelope?: TSchema
  /** Examples per status replacing the default one (whole envelopes). */
  examples?: Partial<Record<ErrorStatus, ReadonlyArray<Record<string, unknown>>>>
}

/**
 * The error part of a route's `response` schema: one envelope per status, each with
 * its own description and examples (what `@fastify/swagger` shows). Statuses are
 * listed in ascending order.
 */
export function errorResponses (statuses: readonly ErrorStatus[], opts: ErrorResponseOptions = {}): Record<number, TSchema> {
  const envelope = opts.envelope ?? ErrorEnvelope
  const out: Record<number, TSchema> = {}
  for (const status of [...new Set(statuses)].sort((a, b) => a - b)) {
    const s = ERROR_STATUSES[status]
    const examples = opts.examples?.[status] ?? [{ ok: false, code: s.code, message: s.message }]
    out[status] = { ...envelope, description: s.description, examples }
  }
  return out
}
