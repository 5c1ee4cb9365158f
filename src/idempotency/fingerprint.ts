/**
 * What makes two requests "the same" for an `Idempotency-Key`: method, path and the
 * JSON body in canonical form (object keys sorted at every level), hashed.
 * `{"a":1,"b":2}` and `{ "b": 2, "a": 1 }` are the same request; `"1.5"` and `1.5` are not.
 */
import { createHash } from 'node:crypto'

/** JSON text of `value` with object keys sorted, so equal values give equal text. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** SHA-256 (hex) of method, path and canonical body. */
export function requestFingerprint (method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(method.toUpperCase()).update('\n')
    .update(path).update('\n')
    .update(canonicalJson(body ?? null))
    .digest('hex')
}
