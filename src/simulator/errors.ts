/**
 * Upstream error envelopes. Handlers throw {@link ApiError}; the simulator's error
 * handler turns it into `{ ok: false, code, message }` (or `{ ok: false, error, message }`
 * for `/v1/validate`, the one endpoint that names the key `error`).
 */

/** Error codes the upstream documents. */
export type ApiErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'TOO_MANY_REQUESTS'
  | 'AMOUNT_TOO_LOW'
  | 'AMOUNT_TOO_HIGH'
  | 'SERVICE_UNAVAILABLE'
  | 'SERVER_ERROR'
  | 'INVALID_SIGNATURE'
  | 'DECRYPTION_FAILED'
  | 'INVALID_PAYLOAD'
  | 'MISSING_TRACKCODE'

/** The failure envelope as sent on the wire. */
export type ErrorEnvelope =
  | { ok: false, code: ApiErrorCode, message: string }
  | { ok: false, error: ApiErrorCode, message: string }

/** An upstream failure: HTTP status, code and message. */
export class ApiError extends Error {
  readonly statusCode: number
  readonly code: ApiErrorCode
  /** Envelope key carrying the code: `code`, or `error` on `/v1/validate`. */
  readonly key: 'code' | 'error'

  constructor (statusCode: number, code: ApiErrorCode, message: string, key: 'code' | 'error' = 'code') {
    super(message)
    this.name = 'ApiError'
    this.statusCode = statusCode
    this.code = code
    this.key = key
  }

  /** The JSON body for this error. */
  toEnvelope (): ErrorEnvelope {
    return this.key === 'error'
      ? { ok: false, error: this.code, message: this.message }
      : { ok: false, code: this.code, message: this.message }
  }
}

/** Shorthand for a 400 BAD_REQUEST. */
export function badRequest (message: string): ApiError {
  return new ApiError(400, 'BAD_REQUEST', message)
}

/** A failed control-API call (`/_sim/…`), e.g. paying an unknown order. */
export class SimControlError extends Error {
  readonly statusCode: number

  constructor (statusCode: number, message: string) {
    super(message)
    this.name = 'SimControlError'
    this.statusCode = statusCode
  }
}
