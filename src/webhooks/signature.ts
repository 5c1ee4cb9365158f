/**
 * Signatures by the Standard Webhooks specification (what the `standardwebhooks` and
 * `svix` libraries verify): secrets are `whsec_` and base64 key bytes; each request
 * carries `webhook-id` (the event id), `webhook-timestamp` (epoch seconds) and
 * `webhook-signature`, `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, several
 * space-separated during a secret rotation's overlap. Plain `node:crypto`.
 */
import { createHmac, randomBytes } from 'node:crypto'

const PREFIX = 'whsec_'

/** A new secret: `whsec_` and 24 random bytes in base64. */
export function newSecret (): string {
  return `${PREFIX}${randomBytes(24).toString('base64')}`
}

/** `v1,<signature>` of one message under one secret. */
export function sign (secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64')
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}

/** The three headers of a delivery signed with every secret in `secrets`. */
export function signatureHeaders (secrets: readonly string[], id: string, timestamp: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => sign(s, id, timestamp, body)).join(' ')
  }
}
