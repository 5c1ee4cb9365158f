/**
 * `POST /v1/validate`: check a guarantee letter, forwarded unchanged.
 *
 * Upstream lists this endpoint as `auth: false` in `/v1/meta`, yet its examples send the
 * key. The gateway sends it: if upstream does enforce it, leaving it out would break
 * every validation, while sending it costs one quota slot per (rare) validation. The
 * schema refuses what is not a bounded Base64 block first, so garbage costs nothing.
 * Read-only, hence retried on network errors and 5xx.
 *
 * Upstream's errors on this endpoint carry the code under `error` instead of `code`; the
 * gateway's own errors here carry both keys, so clients of either convention read them.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BODY_ERRORS, errorResponses, UPSTREAM_ERRORS, ValidateErrorEnvelope } from '../../upstream/schemas/common.js'
import { ValidateRequest, ValidateResponse } from '../../upstream/schemas/validate.js'
import { forward } from '../../upstream/forward.js'
import { payerOf } from '../../access/payer.js'

/** Adds `error` (this endpoint's key) to the gateway's own `{ ok: false, code, message }`. */
export function addErrorKey (payload: string): string {
  let body: unknown
  try {
    body = JSON.parse(payload)
  } catch {
    return payload
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return payload
  const { ok, code, error, message } = body as Record<string, unknown>
  if (ok !== false || typeof code !== 'string' || error !== undefined) return payload
  return JSON.stringify({ ok: false, error: code, code, message })
}

/** Upstream's errors on this endpoint (key `error`) and the gateway's own (both keys). */
const VALIDATE_EXAMPLES = {
  400: [
    { ok: false, error: 'BAD_REQUEST', code: 'BAD_REQUEST', message: 'signature is required' },
    { ok: false, error: 'INVALID_SIGNATURE', message: 'The provided data is not valid Base64 or is too short' },
    { ok: false, error: 'DECRYPTION_FAILED', message: 'The signature could not be decrypted' },
    { ok: false, error: 'INVALID_PAYLOAD', message: 'The decrypted payload is not valid JSON' },
    { ok: false, error: 'MISSING_TRACKCODE', message: 'The payload names no trackcode' }
  ],
  401: [{ ok: false, error: 'UNAUTHORIZED', message: 'Invalid API key' }],
  403: [{ ok: false, error: 'FORBIDDEN', message: 'This API key is disabled' }],
  404: [{ ok: false, error: 'NOT_FOUND', message: 'The requested order details could not be found.' }],
  413: [{ ok: false, error: 'PAYLOAD_TOO_LARGE', code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' }],
  415: [{ ok: false, error: 'UNSUPPORTED_MEDIA_TYPE', code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' }],
  429: [{ ok: false, error: 'TOO_MANY_REQUESTS', code: 'TOO_MANY_REQUESTS', message: 'The upstream daily quota is used up; retry in 3600 s' }],
  500: [{ ok: false, error: 'SERVER_ERROR', message: 'Internal server error' }],
  502: [{ ok: false, error: 'UPSTREAM_UNAVAILABLE', code: 'UPSTREAM_UNAVAILABLE', message: 'SecretCryptos could not be reached (ECONNRESET)' }],
  503: [{ ok: false, error: 'SERVICE_UNAVAILABLE', message: 'Service temporarily unavailable' }],
  504: [{ ok: false, error: 'UPSTREAM_TIMEOUT', code: 'UPSTREAM_TIMEOUT', message: 'SecretCryptos did not answer within 10000 ms' }]
}

const validateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Upstream answers arrive as Buffers and pass untouched; only the gateway's own
  // (serialized, string) error envelopes are rewritten.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode < 400 || typeof payload !== 'string') return payload
    return addErrorKey(payload)
  })

  app.post('/validate', {
    schema: {
      operationId: 'validateSignature',
      summary: 'Validate a guarantee letter',
      description: 'Checks the `signature_text` of an order (raw Base64 or between BEGIN/END DIGITAL SIGNATURE lines) and returns the order it guarantees. Only orders of the last 48 hours validate. Errors use the key `error` (`INVALID_SIGNATURE`, `DECRYPTION_FAILED`, `INVALID_PAYLOAD`, `MISSING_TRACKCODE`, `NOT_FOUND`, …); the gateway\'s own errors add `code` too. The gateway sends its key upstream for this call. Retried on network errors and 5xx; forwarded unchanged.',
      tags: ['Signatures'],
      body: ValidateRequest,
      response: { 200: ValidateResponse, ...errorResponses([...BODY_ERRORS, ...UPSTREAM_ERRORS, 404], { envelope: ValidateErrorEnvelope, examples: VALIDATE_EXAMPLES }) }
    }
  }, async (request, reply) => {
    const result = await app.upstream.request({ method: 'POST', path: '/validate', body: request.body, auth: true, purpose: 'rest', retry: true, payer: payerOf(request.caller, app.config) })
    return forward(reply, result)
  })
}

export default validateRoutes
