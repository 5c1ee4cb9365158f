/**
 * Who is calling: decorates every request with `request.caller` (see
 * `src/access/caller.ts`) before anything else runs.
 *
 * `Authorization: Bearer <token>` names a server-side client when the token is one of
 * the operator's (`GATEWAY_TOKENS`, `GATEWAY_TOKENS_FILE`); a token that is present but
 * unknown, revoked or malformed is refused with 401 in the envelope — never quietly
 * treated as anonymous, so a misconfigured backend learns at once. Without the header
 * the caller is anonymous, known by `request.ip` (which honours `TRUST_PROXY` only).
 *
 * Decorates `app.tokens` (the registry) — hence `fastify-plugin`.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Caller } from '../access/caller.js'
import { TokenRegistry } from '../access/tokens.js'
import { GatewayError } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The operator's gateway tokens. */
    tokens: TokenRegistry
  }
  interface FastifyRequest {
    /** Who is calling (a gateway token's client, or anonymous). */
    caller: Caller
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i

/** 401 for a missing or refused credential, with the challenge RFC 6750 asks for. */
export function unauthorized (message: string): GatewayError {
  return new GatewayError(401, 'UNAUTHORIZED', message, { headers: { 'www-authenticate': 'Bearer realm="trackgate"' } })
}

async function access (app: FastifyInstance): Promise<void> {
  const config = app.config
  const tokens = new TokenRegistry({
    entries: config.gatewayTokens,
    file: config.gatewayTokensFile,
    defaultAllowance: config.tokenDailyAllowance,
    log: app.log.child({ module: 'access' })
  })
  app.decorate('tokens', tokens)
  app.decorateRequest<Caller | null>('caller', null)

  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization
    if (header === undefined || header === '') {
      request.caller = { kind: 'anonymous', ip: request.ip }
      return
    }
    const token = BEARER.exec(header)?.[1]
    const caller = token === undefined ? undefined : tokens.lookup(token)
    if (caller === undefined) {
      request.caller = { kind: 'anonymous', ip: request.ip }
      throw unauthorized(token === undefined ? 'Authorization must be "Bearer <gateway token>"' : 'Unknown or revoked gateway token')
    }
    request.caller = caller
  })
}

export default fp(access, { name: 'access', dependencies: ['config'] })
