/**
 * The access log: **one line per answered request** (`request completed`) instead of
 * Fastify's two (`incoming request` when it arrives, `request completed` when it is
 * answered), written without running pino's redaction over it.
 *
 * The line holds the request id, `req` — the method, the URL with trackcodes shortened
 * and secret-looking query values redacted, the client IP truncated to its network
 * (`src/lib/log-privacy.ts`) — `res.statusCode` and `responseTime` (ms). It is built from
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
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'
import { anonymizeIp, redactUrl } from './log-privacy.js'

/** The `req` of an access line. */
export interface AccessRequest {
  method: string
  url: string
  ip?: string
}

/** Client addresses seen lately and their networks (a client sends many requests): at most {@link NETWORKS_KEPT}. */
const networks = new Map<string, string>()
const NETWORKS_KEPT = 10_000

/**
 * URLs logged lately, as logged (clients poll the same URLs): at most {@link URLS_KEPT},
 * none longer than {@link URL_KEPT_CHARS}, and none that had something to redact (a
 * secret is not kept in memory for the sake of speed).
 */
const urls = new Map<string, string>()
const URLS_KEPT = 10_000
const URL_KEPT_CHARS = 200

/** `redactUrl(url)`, remembered as described above. */
function loggedUrl (url: string): string {
  let logged = urls.get(url)
  if (logged === undefined) {
    logged = redactUrl(url)
    if (url.length <= URL_KEPT_CHARS && !logged.includes('[redacted]')) {
      if (urls.size >= URLS_KEPT) urls.clear()
      urls.set(url, logged)
    }
  }
  return logged
}

/** What an access line says of `request`. */
export function accessRequest (request: FastifyRequest): AccessRequest {
  return { method: request.method, url: loggedUrl(request.url), ip: clientNetwork(request.ip) }
}

/** The network of a client address, as access lines show it (`anonymizeIp`, remembered). */
export function clientNetwork (ip: string): string {
  let network = networks.get(ip)
  if (network === undefined) {
    network = anonymizeIp(ip)
    if (networks.size >= NETWORKS_KEPT) networks.clear()
    networks.set(ip, network)
  }
  return network
}

/**
 * The logger of access lines, a sibling of `log`: `req` and `res` are logged as given
 * (already what may be logged: see {@link accessRequest}), and nothing is redacted.
 */
export function accessLogger (log: FastifyBaseLogger): FastifyBaseLogger {
  return log.child({}, { redact: { paths: [] }, serializers: { req: asIs, res: asIs } })
}

/** A `logController` (Fastify option) writing the access line as described above. */
export class RequestLogController extends LogController {
  #lines: FastifyBaseLogger | undefined

  /** Uses `log` (the app's logger) for the access lines; before it is called, Fastify's behaviour. */
  use (log: FastifyBaseLogger): void {
    this.#lines = accessLogger(log)
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
    lines.info({ [this.requestIdLogLabel]: request.id, req: accessRequest(request), res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed')
  }
}

function asIs (value: unknown): unknown {
  return value
}
