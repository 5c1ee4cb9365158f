/**
 * How the route policy (`policy.ts`) reads in the OpenAPI document: the two security
 * schemes, each operation's `security` requirement, and the 401/403 answers it can
 * give. The access plugin lays them over every route's schema as routes are added, so
 * the document cannot disagree with the table.
 */
import type { TSchema } from 'typebox'
import { ErrorEnvelope } from '../errors.js'
import type { Access } from './policy.js'

/** `components.securitySchemes`. */
export const SECURITY_SCHEMES = {
  gatewayToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'A gateway token (`tg_…`) the operator issued to a server-side client (`npm run token`). Optional on public routes; a token that is sent must be valid (else 401).'
  },
  orderToken: {
    type: 'apiKey',
    in: 'header',
    name: 'Trackgate-Order-Token',
    description: 'An order token: returned by the gateway when it created the order (response header `Trackgate-Order-Token`), or minted by a token client (`POST /orders/{trackcode}/token`). It makes its holder the owner of that one order: delete it, see its unmasked addresses.'
  }
} as const

type Requirement = Record<string, string[]>

/** An operation's `security`: public (anonymous or a token), token, owner (a token or the order token). */
export function securityOf (access: Access, ownerSometimes: boolean): Requirement[] {
  switch (access) {
    case 'public': return ownerSometimes ? [{}, { gatewayToken: [] }, { orderToken: [] }] : [{}, { gatewayToken: [] }]
    case 'token': return [{ gatewayToken: [] }]
    case 'owner': return [{ gatewayToken: [] }, { orderToken: [] }]
  }
}

const BAD_TOKEN = 'an `Authorization` header that names no valid gateway token (unknown, revoked or malformed; send none to call anonymously)'
const ROUTE_LIST = 'the gateway token\'s `routes` list does not include this route'

function descriptions (access: Access, ownerWhen: string | undefined): { 401: string, 403: string } {
  switch (access) {
    case 'public':
      return ownerWhen === undefined
        ? { 401: `Refused by the gateway: ${BAD_TOKEN}. No upstream call is made.`, 403: `Refused by the gateway: ${ROUTE_LIST}. No upstream call is made.` }
        : {
            401: `Refused by the gateway: ${ownerWhen} without a gateway token or the order's order token (\`Trackgate-Order-Token\`), or ${BAD_TOKEN}. No upstream call is made.`,
            403: `Refused by the gateway: ${ownerWhen} with an order token that is not this order's, or ${ROUTE_LIST}. No upstream call is made.`
          }
    case 'token':
      return { 401: `Refused by the gateway: this route needs a gateway token (\`Authorization: Bearer tg_…\`), or ${BAD_TOKEN}. No upstream call is made.`, 403: `Refused by the gateway: ${ROUTE_LIST}. No upstream call is made.` }
    case 'owner':
      return {
        401: `Refused by the gateway: neither a gateway token nor the order's order token (\`Trackgate-Order-Token\`) was sent, or ${BAD_TOKEN}. A trackcode alone is not enough. No upstream call is made.`,
        403: `Refused by the gateway: the order token is not this order's, or ${ROUTE_LIST}. No upstream call is made.`
      }
  }
}

const EXAMPLES = {
  401: {
    public: 'Unknown or revoked gateway token',
    token: 'This route needs a gateway token (Authorization: Bearer <token>)',
    owner: 'This needs the order\'s order token (Trackgate-Order-Token header) or a gateway token'
  },
  403: {
    public: 'This gateway token may not call GET /v1/ping',
    token: 'This gateway token may not call POST /v1/validate',
    owner: 'The order token presented is not this order\'s'
  }
} as const

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The 401 and 403 responses the policy adds to an operation; an answer the route
 * documents already (upstream refusing the API key) keeps its shape and gains the
 * gateway's description and example.
 */
export function accessResponses (access: Access, ownerWhen: string | undefined, existing: Record<string, unknown>): Record<401 | 403, TSchema> {
  const text = descriptions(access, ownerWhen)
  const kind = ownerWhen === undefined ? access : 'owner'
  const out = {} as Record<401 | 403, TSchema>
  for (const status of [401, 403] as const) {
    const code = status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN'
    const found = existing[status] ?? existing[String(status)]
    // `/v1/validate`'s envelope names the code `error` too (its gateway errors carry both keys).
    const both = isRecord(found) && isRecord(found.properties) && 'error' in found.properties
    const ours = both ? { ok: false, error: code, code, message: EXAMPLES[status][kind] } : { ok: false, code, message: EXAMPLES[status][kind] }
    const headers = status === 401 ? { headers: { 'www-authenticate': { type: 'string', description: 'The challenge, `Bearer realm="trackgate"`, on the gateway\'s own 401.' } } } : {}
    if (isRecord(found)) {
      const examples = Array.isArray(found.examples) ? found.examples : []
      out[status] = { ...found, description: `${text[status]} Or: ${String(found.description ?? '')}`, examples: [ours, ...examples], ...headers } as TSchema
    } else {
      out[status] = { ...ErrorEnvelope, description: text[status], examples: [ours], ...headers }
    }
  }
  return out
}
