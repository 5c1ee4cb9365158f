/**
 * `GET /v1/ping`: upstream liveness (no auth, no quota).
 */
import { Type, type Static } from 'typebox'
import { UnixSeconds } from './common.js'

/** Success answer of `GET /v1/ping`. */
export const PingResponse = Type.Object({
  ok: Type.Literal(true),
  service: Type.String(),
  version: Type.String(),
  ts: UnixSeconds
}, {
  description: 'Upstream is up.',
  examples: [{ ok: true, service: 'SecretCryptos API', version: '1.2.6', ts: 1723800000 }]
})
export type PingResponse = Static<typeof PingResponse>
