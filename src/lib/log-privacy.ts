/**
 * What trackgate may write to its logs, in one place.
 *
 * trackgate fronts a privacy service: its logs must never hold the API key, the partner
 * key, `Authorization`, a gateway token, an order token or its secret, a guarantee letter (`signature_text`), a full crypto address,
 * or a full trackcode (which is all it takes to follow an order). So:
 * - request logs carry the method, the URL with trackcodes shortened (`/orders/6A5F…9c1e2b7a/subscribe`),
 *   the client IP truncated to its network (/24, /48) and a short allow-list of headers;
 * - trackcodes anywhere else (a `trackcode` field, free text) are shortened the same way:
 *   four characters and an HMAC under a per-process random key — stable within one
 *   process so one order's lines can be followed, meaningless outside it;
 * - addresses are masked like upstream masks them (`35iM…EL`); keys, partner keys,
 *   signatures, webhook secrets and credentials are replaced by `[redacted]`.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import type { FastifyRequest, FastifyServerOptions } from 'fastify'

/** Fastify's logger options (pino's, plus Fastify's serializer types). */
export type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>

const HASH_KEY = randomBytes(32)

/** Trackcodes shortened lately (a request line names its trackcode on every poll): at most {@link SHORTENED_KEPT}. */
const shortened = new Map<string, string>()
const SHORTENED_KEPT = 10_000

/** A trackcode as logs show it: its first 4 characters and an 8-hex keyed hash. */
export function shortTrackcode (trackcode: string): string {
  const known = shortened.get(trackcode)
  if (known !== undefined) return known
  const code = trackcode.toUpperCase()
  const digest = createHmac('sha256', HASH_KEY).update(code).digest('hex').slice(0, 8)
  const short = `${code.slice(0, 4)}…${digest}`
  if (shortened.size >= SHORTENED_KEPT) shortened.clear()
  shortened.set(trackcode, short)
  return short
}

/** An address as logs show it: `35iMHbUZeTssxBodiHwEEkb32jpBfVueEL` → `35iM…EL`. */
export function maskAddress (address: string): string {
  return address.length <= 8 ? '…' : `${address.slice(0, 4)}…${address.slice(-2)}`
}

/** 16 hex characters standing alone: the shape of a trackcode. */
const TRACKCODE_IN_TEXT = /(?<![0-9A-Za-z])[0-9A-Fa-f]{16}(?![0-9A-Za-z])/g

/** A webhook signing secret in free text. */
const WEBHOOK_SECRET_IN_TEXT = /whsec_[A-Za-z0-9+/=]+/g

/** Shortens every trackcode-shaped token in free text and hides webhook secrets. */
export function scrubText (text: string): string {
  return text.replace(TRACKCODE_IN_TEXT, (code) => shortTrackcode(code)).replace(WEBHOOK_SECRET_IN_TEXT, 'whsec_[redacted]')
}

/** Query parameters never logged as they are. */
const SECRET_QUERY = /key|token|secret|signature|partner|address|trackcode|auth|whsec/i
/** `/orders/<segment>` and `/tracked-orders/<segment>` are trackcodes, whatever their shape, except these upstream operations. */
const ORDER_OPERATIONS = new Set(['check', 'delete'])

/** A request URL fit for logs: trackcodes shortened, secret-looking query values redacted. */
export function redactUrl (url: string): string {
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  const segments = path.split('/')
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string
    if ((segments[i - 1] === 'orders' || segments[i - 1] === 'tracked-orders') && segment !== '' && !ORDER_OPERATIONS.has(segment)) {
      segments[i] = shortTrackcode(segment)
    } else {
      segments[i] = scrubText(segment)
    }
  }
  if (q === -1) return segments.join('/')
  const query = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=')
    if (eq === -1) return scrubText(pair)
    const name = pair.slice(0, eq)
    return SECRET_QUERY.test(name) ? `${name}=[redacted]` : scrubText(pair)
  })
  return `${segments.join('/')}?${query.join('&')}`
}

/** The client's network rather than its address: IPv4 /24, IPv6 /48. */
export function anonymizeIp (ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  const v4 = mapped?.[1] ?? ip
  if (isIPv4(v4)) return v4.replace(/\.\d+$/, '.0')
  if (isIPv6(ip)) {
    const [head = ''] = ip.split('::')
    const groups = head.split(':').filter((g) => g !== '').slice(0, 3)
    return `${groups.join(':')}::`
  }
  return 'unknown'
}

/** Request headers that may be logged. */
export const LOGGED_HEADERS: readonly string[] = ['content-type', 'content-length', 'accept', 'origin', 'last-event-id']

/** Log paths redacted wherever a log line carries them (one level deep for `*.x`). */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'req.headers["trackgate-order-token"]',
  'res.headers["trackgate-order-token"]',
  'headers["trackgate-order-token"]',
  'order_token',
  '*.order_token',
  'orderToken',
  '*.orderToken',
  'orderTokenSecret',
  'config.orderTokenSecret',
  'token',
  '*.token',
  'headers.authorization',
  'authorization',
  'apiKey',
  'config.apiKey',
  'config.partnerKey',
  'partnerKey',
  'partner',
  'signature',
  'signature_text',
  '*.signature_text',
  '*.signature',
  '*.partner',
  '*.apiKey',
  '*.authorization',
  'trackcode',
  '*.trackcode',
  'address',
  '*.address',
  'to_address',
  '*.to_address',
  'deposit_address',
  '*.deposit_address',
  'addresses',
  '*.addresses',
  'body',
  '*.body',
  // Webhook signing secrets and signatures.
  'secret',
  '*.secret',
  'secrets',
  'previousSecret',
  '*.previousSecret',
  'headers["webhook-signature"]',
  '*.headers["webhook-signature"]'
]

/** What replaces a redacted value: trackcodes shortened, addresses masked, anything else hidden. */
function censor (value: unknown, path: string[]): unknown {
  const field = path[path.length - 1]
  if (typeof value === 'string') {
    if (field === 'trackcode') return shortTrackcode(value)
    if (field === 'address' || field === 'to_address' || field === 'deposit_address') return maskAddress(value)
  }
  return '[redacted]'
}

/**
 * An error as logs show it: type, message, stack, code, status and cause, with
 * trackcodes shortened; no other property (an error may carry a request's data).
 */
export function errSerializer (err: unknown, depth = 0): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err, message: scrubText(String(err)) }
  const e = err as Error & { code?: unknown, statusCode?: unknown }
  const out: Record<string, unknown> = { type: e.name, message: scrubText(e.message), stack: scrubText(e.stack ?? '') }
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code
  if (typeof e.statusCode === 'number') out.statusCode = e.statusCode
  if (e.cause !== undefined && depth < 3) out.cause = errSerializer(e.cause, depth + 1)
  return out
}

function reqSerializer (request: FastifyRequest): Record<string, unknown> {
  const headers: Record<string, unknown> = {}
  for (const name of LOGGED_HEADERS) {
    const value = request.headers?.[name]
    if (value !== undefined) headers[name] = typeof value === 'string' ? scrubText(value) : value
  }
  return {
    method: request.method,
    url: redactUrl(request.url ?? ''),
    ip: anonymizeIp(request.ip ?? ''),
    headers
  }
}

/**
 * Pino options for trackgate: level, redaction, privacy-preserving serializers, and
 * trackcodes scrubbed from messages. `extra` (e.g. a test's `stream`) is merged in.
 */
export function loggerOptions (level: string, extra: LoggerOptions = {}): LoggerOptions {
  return {
    level,
    redact: { paths: [...REDACTED_PATHS], censor },
    hooks: {
      logMethod (args, method) {
        const scrubbed = args.map((a: unknown) => typeof a === 'string' ? scrubText(a) : a) as typeof args
        method.apply(this, scrubbed)
      }
    },
    ...extra,
    serializers: {
      req: reqSerializer,
      err: (err) => errSerializer(err) as ReturnType<typeof errSerializer> & { type: string, message: string, stack: string },
      res: (reply) => ({ statusCode: reply.statusCode }),
      ...extra.serializers
    }
  }
}
