/**
 * Every error trackgate itself answers is the upstream envelope
 * `{ ok: false, code, message }`: validation failures, malformed JSON, oversized
 * bodies, unknown routes, upstream failures. Registered at the root (fastify-plugin)
 * so its handlers cover every route.
 *
 * Two kinds of errors happen before any route or plugin is involved, so they are
 * handled by server options `buildApp` passes to Fastify: {@link frameworkErrors}
 * (a URL that is not valid percent-encoding, a path parameter over 100 characters)
 * and {@link clientErrorHandler} (requests Node's HTTP parser refuses: oversized
 * headers, broken framing). Fastify's defaults answer those in its own shape.
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { envelope, GatewayError } from '../errors.js'
import { scrubText } from '../lib/log-privacy.js'

interface AjvIssue {
  instancePath: string
  message?: string
  keyword: string
  params: Record<string, unknown>
}

/** `/addresses/0/percent` → `addresses[0].percent`. */
export function fieldName (context: string | undefined, instancePath: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  let out = ''
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : (out === '' ? p : `.${p}`)
  return out === '' ? (context ?? 'request') : out
}

/** One readable sentence for the first schema violation, naming the field. */
export function describeValidation (context: string | undefined, issue: AjvIssue): string {
  const schemaMessage = issue.params.errorMessage
  const field = issue.keyword === 'required'
    ? fieldName(context, `${issue.instancePath}/${String(issue.params.missingProperty)}`)
    : issue.keyword === 'additionalProperties'
      ? fieldName(context, `${issue.instancePath}/${String(issue.params.additionalProperty)}`)
      : fieldName(context, issue.instancePath)
  if (typeof schemaMessage === 'string') return `${field}: ${schemaMessage}`
  switch (issue.keyword) {
    case 'required': return `${field} is required`
    case 'additionalProperties': return `${field} is not an accepted field`
    default: return `${field} ${issue.message ?? 'is invalid'}`
  }
}

const FASTIFY_CODES: Readonly<Record<string, { status: number, code: string, message?: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'BAD_REQUEST', message: 'Request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'BAD_REQUEST', message: 'Request body is empty; a JSON object is required' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_REQUEST', message: 'Content-Length does not match the body' }
}

/** The envelope code of a 4xx status trackgate answers without a more specific one. */
const STATUS_CODES_4XX: Readonly<Record<number, string>> = {
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  431: 'HEADERS_TOO_LARGE'
}

/**
 * Fastify's `frameworkErrors` option: router errors, answered in the envelope (Fastify's
 * default body is `{ error, code, message, statusCode }`).
 */
export function frameworkErrors (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      reply.code(400).send(envelope('BAD_REQUEST', 'The URL is not valid percent-encoded text'))
      return
    case 'FST_ERR_MAX_PARAM_LENGTH':
      reply.code(414).send(envelope('URI_TOO_LONG', 'A path segment is too long'))
      return
    default:
      reply.code(500).send(envelope('SERVER_ERROR', 'Internal error'))
  }
}

/**
 * Fastify's `clientErrorHandler` option: a request Node's HTTP parser refused, answered
 * in the envelope on the raw socket, which is then closed (as Fastify's default does).
 */
export function clientErrorHandler (error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, code, message] = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? [408, 'REQUEST_TIMEOUT', 'The request took too long to arrive']
    : error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HEADERS_TOO_LARGE', 'Request headers are too large']
      : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? [413, 'PAYLOAD_TOO_LARGE', 'Chunk extensions are too large']
        : [400, 'BAD_REQUEST', 'Malformed HTTP request']
  const body = JSON.stringify(envelope(code, message))
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy(error)
}

async function errorEnvelope (app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof GatewayError) {
      if (err.statusCode >= 500) request.log.warn({ code: err.code, reason: scrubText(err.message) }, 'upstream failure')
      return reply.code(err.statusCode).headers(err.headers).send(err.toJSON())
    }
    if (err.validation !== undefined && err.validation.length > 0) {
      const first = err.validation[0] as unknown as AjvIssue
      return reply.code(400).send(envelope('BAD_REQUEST', describeValidation(err.validationContext, first)))
    }
    const known = err.code === undefined ? undefined : FASTIFY_CODES[err.code]
    if (known !== undefined) return reply.code(known.status).send(envelope(known.code, known.message ?? err.message))
    const status = err.statusCode ?? 500
    if (status >= 400 && status < 500) return reply.code(status).send(envelope(STATUS_CODES_4XX[status] ?? 'BAD_REQUEST', err.message))
    request.log.error({ err }, 'unhandled error')
    return reply.code(500).send(envelope('SERVER_ERROR', 'Internal error'))
  })

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send(envelope('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0] ?? ''}`))
  })
}

export default fp(errorEnvelope, { name: 'error-envelope' })
