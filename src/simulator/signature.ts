/**
 * The "guarantee letter" (`signature_text`): Base64 of `iv ‖ tag ‖ AES-256-GCM(JSON)`
 * under a per-simulator random key, wrapped in `-----BEGIN/END DIGITAL SIGNATURE-----`
 * lines. The JSON names the order with the key `track` (as in the upstream's sample
 * payload); {@link GuaranteeSigner.open} also accepts `trackcode`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { ApiError } from './errors.js'

const BEGIN = '-----BEGIN DIGITAL SIGNATURE-----'
const END = '-----END DIGITAL SIGNATURE-----'
const IV_BYTES = 12
const TAG_BYTES = 16
/** iv + tag + the shortest JSON object ("{}"). */
const MIN_BYTES = IV_BYTES + TAG_BYTES + 2
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/

/** What a guarantee letter carries. */
export interface GuaranteePayload {
  track: string
  type: 'mixer' | 'exchange'
  /** Route at creation time (the live route is derived when validating). */
  route: string
  /** Creation time, epoch seconds. */
  created_at: number
}

function validateError (status: number, code: ConstructorParameters<typeof ApiError>[1], message: string): ApiError {
  return new ApiError(status, code, message, 'error')
}

/** Seals and opens guarantee letters with one AES-256 key. */
export class GuaranteeSigner {
  readonly #key: Buffer

  constructor (key: Buffer = randomBytes(32)) {
    if (key.length !== 32) throw new RangeError('AES-256 needs a 32-byte key')
    this.#key = key
  }

  /** Encrypts `payload` and wraps it as a signature block. */
  seal (payload: GuaranteePayload): string {
    return this.sealRaw(JSON.stringify(payload))
  }

  /**
   * Opens a signature block (wrapped or raw Base64) and returns the trackcode it names.
   * Throws the `/v1/validate` errors: INVALID_SIGNATURE, DECRYPTION_FAILED,
   * INVALID_PAYLOAD, MISSING_TRACKCODE.
   */
  open (signature: string): { trackcode: string, payload: Record<string, unknown> } {
    const text = signature.replace(BEGIN, '').replace(END, '').replace(/\s+/g, '')
    if (!BASE64_RE.test(text) || text.length % 4 === 1) {
      throw validateError(400, 'INVALID_SIGNATURE', 'The provided data is not valid Base64 or is too short')
    }
    const raw = Buffer.from(text, 'base64')
    if (raw.length < MIN_BYTES) {
      throw validateError(400, 'INVALID_SIGNATURE', 'The provided data is not valid Base64 or is too short')
    }
    let plain: string
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES))
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
      plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      throw validateError(400, 'DECRYPTION_FAILED', 'Decryption failed. Make sure the provided signature is valid and try again.')
    }
    let payload: unknown
    try {
      payload = JSON.parse(plain)
    } catch {
      payload = undefined
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw validateError(400, 'INVALID_PAYLOAD', 'The decrypted payload is not valid JSON')
    }
    const obj = payload as Record<string, unknown>
    const trackcode = obj.track ?? obj.trackcode
    if (typeof trackcode !== 'string' || trackcode === '') {
      throw validateError(400, 'MISSING_TRACKCODE', 'A trackcode is required in the signature payload.')
    }
    return { trackcode, payload: obj }
  }

  /** Encrypts arbitrary text as a signature block (tests use it to forge bad payloads). */
  sealRaw (plain: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    const blob = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
    return `${BEGIN}\n${blob}\n${END}`
  }
}
