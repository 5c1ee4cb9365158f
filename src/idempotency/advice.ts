/**
 * What a client is told about an order creation whose outcome it does not know (a 502
 * or 504 after the request may have reached upstream), appended to the error's message.
 * One place, so the answers, the stored replays and the OpenAPI examples say the same.
 */
import { envelope } from '../errors.js'

/** The advice for each case; see `src/plugins/idempotency.ts` for when each applies. */
export const UNKNOWN_OUTCOME_ADVICE = {
  /** No `Idempotency-Key`: nothing can be stored, nothing found later. */
  noKey: 'Whether the order was created is unknown. Send order creations with an Idempotency-Key header: a retry with the same key can never create a second order.',
  /** With a key, the upstream call still running in the background. */
  settling: (settleMs: number): string => `Whether the order was created is not known yet: the gateway keeps waiting for upstream's answer (up to ${Math.ceil(settleMs / 1000)} s in all) and keeps it for this Idempotency-Key. Retry with the same Idempotency-Key: 409 while the answer is awaited, then the order exactly as upstream created it. Do not switch to a new key: that could create a second order.`,
  /** With a key, no usable answer ever came: the key stays blocked, replaying this. */
  spent: 'Whether the order was created is unknown and cannot be found out, so this Idempotency-Key will not create an order any more: to place the order, send it again with a new key. (An order created upstream but never shown to anyone cannot be funded; it expires with its deposit address.)'
} as const

/** `"<message>. <advice>"` */
export function adviseMessage (message: string, advice: string): string {
  return `${message.replace(/\.$/, '')}. ${advice}`
}

/**
 * An error payload (serialized envelope, string or Buffer) with `advice` appended to its
 * message; anything that is not an envelope is returned unchanged.
 */
export function withAdvice (payload: unknown, advice: string): unknown {
  const text = Buffer.isBuffer(payload) ? payload.toString('utf8') : typeof payload === 'string' ? payload : undefined
  if (text === undefined) return payload
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return payload
  }
  const { code, message } = (parsed ?? {}) as { code?: unknown, message?: unknown }
  if (typeof code !== 'string' || typeof message !== 'string') return payload
  return JSON.stringify(envelope(code, adviseMessage(message, advice)))
}
