/**
 * Order tokens: the capability to act as an order's owner without a gateway token.
 *
 * An order token is `base64url(HMAC-SHA256(ORDER_TOKEN_SECRET, "order-token:v1:" +
 * trackcode))`, 43 characters. Whoever created the order through the gateway gets it
 * (response header `Trackgate-Order-Token`); a token client can mint one for an order
 * created elsewhere (`POST /orders/:trackcode/token`). Presented in the same header, it
 * lets its holder delete that order or see its unmasked addresses — and nothing else:
 * a trackcode alone (which anyone shown a tracking link has) grants neither.
 *
 * Nothing is stored: any instance holding the same secret verifies any token, which is
 * why `ORDER_TOKEN_SECRET` is required in production and with `REDIS_URL`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** Request and response header carrying an order token (lower case, as Node exposes it). */
export const ORDER_TOKEN_HEADER = 'trackgate-order-token'

const CONTEXT = 'order-token:v1:'

/** Mints and verifies order tokens under one secret. */
export class OrderTokens {
  readonly #secret: Buffer

  /** `secret` undefined: a random one, valid for this process only. */
  constructor (secret: string | undefined) {
    this.#secret = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8')
  }

  /** The order token of `trackcode`. */
  mint (trackcode: string): string {
    return createHmac('sha256', this.#secret).update(CONTEXT + trackcode).digest('base64url')
  }

  /** Whether `token` is the order token of `trackcode` (constant-time). */
  verify (trackcode: string, token: string): boolean {
    const expected = Buffer.from(this.mint(trackcode), 'utf8')
    const given = Buffer.from(token, 'utf8')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}
