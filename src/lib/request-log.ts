/**
 * The two log lines of every request (`incoming request`, `request completed`), written
 * without running pino's redaction over them.
 *
 * At the default level (`info`) Fastify logs both for every request, and pino matched
 * each against the thirty redaction paths of `src/lib/log-privacy.ts` — a tenth of the
 * CPU of a request served from memory. Those two lines hold nothing but what the
 * privacy serializers produce (`req`: method, redacted URL, network of the IP,
 * allow-listed headers; `res`: the status code), the request id and the response time:
 * redaction has nothing to find in them. They are therefore written through a sibling of
 * the app's logger with no redaction paths (same destination, level, serializers and
 * hooks, the same JSON shape as Fastify's own lines). Every other line — a request's
 * errors included — still goes through the redacting logger.
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'

/** A `logController` (Fastify option) writing the request lines as described above. */
export class RequestLogController extends LogController {
  #lines: FastifyBaseLogger | undefined

  /** Uses `log` (the app's logger) for the request lines; before it is called, Fastify's behaviour. */
  use (log: FastifyBaseLogger): void {
    this.#lines = log.child({}, { redact: { paths: [] } })
  }

  override incomingRequest (request: FastifyRequest, reply: FastifyReply): void {
    const lines = this.#lines
    if (lines === undefined) {
      super.incomingRequest(request, reply)
      return
    }
    if (this.isLogDisabled(request)) return
    lines.info({ [this.requestIdLogLabel]: request.id, req: request }, 'incoming request')
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const lines = this.#lines
    if (lines === undefined || (error !== null && error !== undefined)) {
      super.requestCompleted(error, request, reply)
      return
    }
    if (this.isLogDisabled(request)) return
    lines.info({ [this.requestIdLogLabel]: request.id, res: reply, responseTime: reply.elapsedTime }, 'request completed')
  }
}
