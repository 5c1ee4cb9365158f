/**
 * The `Idempotency-Key` request header: its name, its format, and a TypeBox schema a
 * route can put in `schema.headers` so the OpenAPI spec documents it.
 */
import { Type } from 'typebox'

/** Request header carrying the key (lower case, as Node exposes it). */
export const IDEMPOTENCY_HEADER = 'idempotency-key'
/** Response header set on replays, as Stripe names it. */
export const REPLAYED_HEADER = 'idempotent-replayed'
/** 16–255 visible ASCII characters: keys share one namespace, so a UUID (or similar) is expected. */
export const KEY_PATTERN = /^[\x21-\x7e]{16,255}$/

/** `schema.headers` of a route that honours the key (documentation; the plugin enforces the format). */
export const IdempotencyHeaders = Type.Object({
  [IDEMPOTENCY_HEADER]: Type.Optional(Type.String({
    minLength: 16,
    maxLength: 255,
    pattern: '^[\\x21-\\x7e]+$',
    description: 'Makes a retry safe: the first answer from upstream is stored for 24 h and replayed (header `Idempotent-Replayed: true`) for the same key and body; the same key with another body → 422, while the first request runs → 409. Use a new random UUID per order.',
    examples: ['0d5f7c9e-3b1a-4c2e-9f6d-8a7b6c5d4e3f']
  }))
})
