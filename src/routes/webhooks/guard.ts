/**
 * What every `/webhooks` route requires: a token caller (a server-side client of the
 * operator). Anonymous callers get 401 in the envelope; a token whose `routes` do not
 * cover the route, 403. The routes' schemas share the tag and error statuses here.
 */
import type { FastifyRequest } from 'fastify'
import { GatewayError } from '../../errors.js'
import { unauthorized } from '../../plugins/access.js'

export const TAGS = ['Webhooks']

/** `METHOD /url` patterns with an optional trailing `*`. */
function covers (patterns: readonly string[], route: string): boolean {
  return patterns.some((p) => p.endsWith('*') ? route.startsWith(p.slice(0, -1)) : p === route)
}

export async function requireToken (request: FastifyRequest): Promise<void> {
  const caller = request.caller
  if (caller.kind !== 'token') throw unauthorized('The webhook routes need a gateway token (Authorization: Bearer <token>)')
  const route = `${request.method} ${request.url.split('?')[0] ?? ''}`
  if (caller.routes.length > 0 && !covers(caller.routes, route)) throw new GatewayError(403, 'FORBIDDEN', 'This gateway token may not call this route')
}
