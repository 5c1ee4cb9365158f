/**
 * The `Idempotency-Key` request header: its name, its format, a TypeBox schema a route
 * puts in `schema.headers` (so the OpenAPI spec documents it; Fastify validates it too:
 * the header is optional, other headers pass), and the error answers it adds.
 */
import { createHash } from 'node:crypto'
import { Type, type TSchema } from 'typebox'
import { ErrorEnvelope } from '../errors.js'
import { rule } from '../upstream/schemas/rule-messages.js'

/** Request header carrying the key (lower case, as Node exposes it). */
export const IDEMPOTENCY_HEADER = 'idempotency-key'
/** Response header set on replays, as Stripe names it. */
export const REPLAYED_HEADER = 'idempotent-replayed'
/** 16–255 visible ASCII characters: keys share one namespace, so a UUID (or similar) is expected. */
export const KEY_PATTERN = /^[\x21-\x7e]{16,255}$/

/**
 * The key a request's record is stored under: the SHA-256 of the caller's id and the
 * header's value, so keys are scoped per caller — the same key sent by another caller
 * is another record, and nobody can replay (or block) someone else's order by guessing
 * or reusing a key. The key itself is never stored.
 */
export function idempotencyStoreKey (callerId: string, headerValue: string): string {
  return createHash('sha256').update(`${callerId}\n${headerValue}`).digest('hex')
}

/** What a malformed key is told (after the header's name). */
export const KEY_RULE = 'must be 16 to 255 visible ASCII characters (a UUID is recommended)'

/**
 * `schema.headers` of a route that honours the key. Fastify validates it, with the
 * same rule the plugin enforces ({@link KEY_PATTERN}); other headers are not looked at.
 */
export const IdempotencyHeaders = Type.Object({
  [IDEMPOTENCY_HEADER]: Type.Optional(rule(Type.String({
    minLength: 16,
    maxLength: 255,
    pattern: '^[\\x21-\\x7e]+$',
    description: [
      'Makes a retry safe; use a new random UUID per order and keep it until you have an answer.',
      'Keys are scoped per caller (gateway token, or anonymous client address): the same key from another caller is another request.',
      'The first answer from upstream (the order, or upstream\'s refusal) is stored for `IDEMPOTENCY_TTL_MS` (24 h) and replayed, byte for byte, with `Idempotent-Replayed: true`, for the same key and body.',
      'The same key with another body → 422; while the first request runs → 409 with `Retry-After`.',
      'After a 504 the gateway keeps waiting for upstream (up to `CREATE_SETTLE_TIMEOUT_MS`) and stores its late answer: retry with the same key to get that order.',
      'When upstream may have received the request but no usable answer ever came, the key stays blocked, replaying a 502/504 that says so: never two orders per key.'
    ].join(' ')
    // No example: the docs UI would pre-fill it, and every "try it out" would share one key.
  }), KEY_RULE))
})

/** The answers the key adds to a create route's responses (409, 422), for OpenAPI. */
export const IdempotencyResponses: Record<409 | 422, TSchema> = {
  409: {
    ...ErrorEnvelope,
    description: 'A request with the same `Idempotency-Key` is still running, or timed out (504) and its upstream call is still being settled. Retry with the same key after `Retry-After` seconds.',
    examples: [
      { ok: false, code: 'CONFLICT', message: 'A request with this Idempotency-Key is still being processed; retry shortly' },
      { ok: false, code: 'CONFLICT', message: 'The first request with this Idempotency-Key timed out and the gateway is still waiting for upstream\'s answer to it; retry with the same key shortly to get that order' }
    ]
  },
  422: {
    ...ErrorEnvelope,
    description: 'The `Idempotency-Key` was already used for a different request (another body, or the other create route). Use a new key for a new order.',
    examples: [{ ok: false, code: 'UNPROCESSABLE', message: 'This Idempotency-Key was already used for a different request (method, path or body); use a new key for a new order' }]
  }
}
