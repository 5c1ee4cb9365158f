/**
 * The access log: **one line per answered request** (`request completed`) instead of
 * Fastify's two (`incoming request` when it arrives, `request completed` when it is
 * answered), written without running pino's redaction over it.
 *
 * The line holds the request id, `req` — the method, the URL with trackcodes shortened
 * and secret-looking query values redacted, the client IP truncated to its network
 * (`src/lib/log-privacy.ts`) — `res.statusCode` and `responseTime` (ms, to the µs). It is built from
 * those privacy helpers alone, so pino's redaction (thirty paths, with wildcards) would
 * have nothing to find in it; it is written through a sibling of the app's logger with no
 * redaction paths (same destination, level, hooks and base fields). At the default level
 * (`info`) every request served from memory used to spend a fifth of its CPU building
 * and writing two lines; it now builds one.
 *
 * A request that fails after its answer started (`request errored`) keeps its own line
 * at `error`, through the redacting logger and the request serializer (which adds the
 * allow-listed headers); error
 * lines logged while handling (the error handler's, `upstream failure`, …) are unchanged.
 * Event streams are logged once, when they end (`src/routes/orders/_trackcode/subscribe.ts`).
 *
 * The line is put together here, from the pieces pino would use (its level prefix,
 * time function, bindings, message key and line end, read through `pino.symbols`), and
 * written to the logger's stream: the same bytes pino writes for the same fields,
 * without pino walking and serializing an object per request ({@link AccessLine}). A
 * logger with anything that would change those bytes (a mixin, a log formatter, a
 * message prefix, a nested key, a stream wanting metadata) gets its lines from pino.
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'
import pino from 'pino'
import { anonymizeIp, redactUrl } from './log-privacy.js'
import { remembered } from './remembered.js'

/** The `req` of an access line. */
export interface AccessRequest {
  method: string
  url: string
  ip?: string
}

const URLS_KEPT = 10_000
const URL_KEPT_CHARS = 200

/**
 * `redactUrl(url)`, remembered for the URLs logged lately (clients poll the same URLs):
 * at most {@link URLS_KEPT}, none longer than {@link URL_KEPT_CHARS}, and none that had
 * something to redact (a secret is not kept in memory for the sake of speed).
 */
const loggedUrl = remembered(redactUrl, URLS_KEPT, (url, logged) => url.length <= URL_KEPT_CHARS && !logged.includes('[redacted]'))

/**
 * A string as JSON, remembered for those logged lately: an access line's method, URL and
 * network take few distinct values (none longer than {@link URL_KEPT_CHARS} is kept).
 */
const jsonOf = remembered((s: string) => JSON.stringify(s), URLS_KEPT, (s) => s.length <= URL_KEPT_CHARS)

/** An access line's `responseTime`: milliseconds to the microsecond (a double's seventeen digits say nothing more, and cost more to print). */
export function loggedResponseTime (ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/** What an access line says of `request`. */
export function accessRequest (request: FastifyRequest): AccessRequest {
  return { method: request.method, url: loggedUrl(request.url), ip: clientNetwork(request.ip) }
}

/** The network of a client address, as access lines show it (`anonymizeIp`, remembered for the last 10 000 addresses). */
export const clientNetwork = remembered(anonymizeIp, 10_000)

/**
 * The logger of access lines, a sibling of `log`: `req` and `res` are logged as given
 * (already what may be logged: see {@link accessRequest}), and nothing is redacted.
 */
function accessLogger (log: FastifyBaseLogger): FastifyBaseLogger {
  return log.child({}, { redact: { paths: [] }, serializers: { req: asIs, res: asIs } })
}

/** The pieces of a pino logger an access line is made of (see the module comment). */
interface PinoPieces {
  isLevelEnabled: (level: string) => boolean
  levelPrefix: string
  time: () => string
  chindings: string
  messageKey: string
  end: string
  stream: { write: (line: string) => unknown }
}

function pinoPieces (log: FastifyBaseLogger): PinoPieces | undefined {
  const s = pino.symbols
  const l = log as unknown as Record<symbol, unknown> & { isLevelEnabled?: unknown }
  const formatters = l[s.formattersSym] as { log?: unknown } | undefined
  const stream = l[s.streamSym] as (PinoPieces['stream'] & Record<symbol, unknown>) | undefined
  const cache = l[s.lsCacheSym] as Record<number, string> | undefined
  if (typeof l.isLevelEnabled !== 'function' || cache?.[30] === undefined || typeof l[s.timeSym] !== 'function' ||
    typeof l[s.chindingsSym] !== 'string' || typeof l[s.messageKeySym] !== 'string' || typeof l[s.endSym] !== 'string' ||
    stream === undefined || typeof stream.write !== 'function' || stream[s.needsMetadataGsym] === true ||
    l[s.mixinSym] != null || formatters?.log != null || l[s.nestedKeySym] != null ||
    (log as { msgPrefix?: unknown }).msgPrefix !== undefined) return undefined
  return {
    isLevelEnabled: (level) => (l.isLevelEnabled as (level: string) => boolean).call(log, level),
    levelPrefix: cache[30],
    time: l[s.timeSym] as () => string,
    chindings: l[s.chindingsSym] as string,
    messageKey: JSON.stringify(l[s.messageKeySym]),
    end: l[s.endSym] as string,
    stream
  }
}

/** Writes access lines (`info`, `request completed`) through `log`; see the module comment. */
export class AccessLine {
  readonly #log: FastifyBaseLogger
  readonly #pieces: PinoPieces | undefined
  readonly #idKey: string

  constructor (log: FastifyBaseLogger, requestIdKey = 'reqId') {
    this.#log = accessLogger(log)
    this.#pieces = pinoPieces(this.#log)
    this.#idKey = JSON.stringify(requestIdKey)
  }

  /** True when lines are put together here; false when pino writes them. */
  get direct (): boolean {
    return this.#pieces !== undefined
  }

  write (id: string, req: AccessRequest, statusCode: number, responseTime: number): void {
    const p = this.#pieces
    if (p === undefined) {
      this.#log.info({ [JSON.parse(this.#idKey) as string]: id, req, res: { statusCode }, responseTime }, 'request completed')
      return
    }
    if (!p.isLevelEnabled('info')) return
    const ip = req.ip === undefined ? '' : `,"ip":${jsonOf(req.ip)}`
    const time = Number.isFinite(responseTime) ? String(responseTime) : 'null'
    p.stream.write(`${p.levelPrefix}${p.time()}${p.chindings},${this.#idKey}:${JSON.stringify(id)},"req":{"method":${jsonOf(req.method)},"url":${jsonOf(req.url)}${ip}},"res":{"statusCode":${statusCode}},"responseTime":${time},${p.messageKey}:"request completed"${p.end}`)
  }
}

/** A `logController` (Fastify option) writing the access line as described above. */
export class RequestLogController extends LogController {
  #lines: AccessLine | undefined

  /** Uses `log` (the app's logger) for the access lines; before it is called, Fastify's behaviour. */
  use (log: FastifyBaseLogger): void {
    this.#lines = new AccessLine(log, this.requestIdLogLabel)
  }

  /** Nothing when a request comes in: its one line is written when it is answered. */
  override incomingRequest (request: FastifyRequest, reply: FastifyReply): void {
    if (this.#lines === undefined) super.incomingRequest(request, reply)
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const lines = this.#lines
    if (lines === undefined) {
      super.requestCompleted(error, request, reply)
      return
    }
    if (this.isLogDisabled(request)) return
    if (error !== null && error !== undefined) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
      return
    }
    lines.write(request.id, accessRequest(request), reply.statusCode, loggedResponseTime(reply.elapsedTime))
  }
}

function asIs (value: unknown): unknown {
  return value
}
