/**
 * The one error shape trackgate answers with, the upstream envelope:
 * `{ "ok": false, "code": "BAD_REQUEST", "message": "…" }`.
 */
import { Type, type Static } from 'typebox'

/** Codes trackgate itself produces (upstream's own codes pass through untouched). */
export type GatewayErrorCode =
  | 'BAD_REQUEST'
  | 'AMOUNT_TOO_LOW'
  | 'AMOUNT_TOO_HIGH'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'TOO_MANY_REQUESTS'
  | 'CONFLICT'
  | 'UNPROCESSABLE'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_BAD_RESPONSE'
  | 'UPSTREAM_TIMEOUT'
  | 'SERVICE_UNAVAILABLE'
  | 'SERVER_ERROR'

/** The failure envelope, as a schema (used in every route's error responses). */
export const ErrorEnvelope = Type.Object({
  ok: Type.Literal(false),
  code: Type.String({ description: 'Machine-readable error code, e.g. BAD_REQUEST.' }),
  message: Type.String({ description: 'Human-readable explanation naming the offending field where there is one.' })
}, {
  description: 'Failure envelope (upstream\'s own shape).',
  examples: [{ ok: false, code: 'BAD_REQUEST', message: 'Sum of percents must be exactly 100.00' }]
})
export type ErrorEnvelope = Static<typeof ErrorEnvelope>

export function envelope (code: string, message: string): ErrorEnvelope {
  return { ok: false, code, message }
}

/** An error trackgate answers with its own status and envelope. */
export class GatewayError extends Error {
  readonly statusCode: number
  readonly code: GatewayErrorCode
  /** Extra response headers, e.g. `Retry-After`. */
  readonly headers: Readonly<Record<string, string>>

  constructor (statusCode: number, code: GatewayErrorCode, message: string, options?: { headers?: Record<string, string>, cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'GatewayError'
    this.statusCode = statusCode
    this.code = code
    this.headers = options?.headers ?? {}
  }

  toJSON (): ErrorEnvelope {
    return envelope(this.code, this.message)
  }
}

/** 400 BAD_REQUEST naming the field. */
export function badRequest (message: string): GatewayError {
  return new GatewayError(400, 'BAD_REQUEST', message)
}
