/**
 * The orders port: trackcodes the gateway knows belong to someone — created through it,
 * or registered by a token client. A known order is tracked without tolls: its
 * subscribers never pay the unknown-order check out of their own allowance, and the
 * scheduler knows it exists. Entries live as long as upstream keeps the order (48 h
 * retention), a little more.
 */

/** How a trackcode came to be known. */
export interface KnownOrder {
  /** `created` through this gateway, or `registered` by a token client. */
  source: 'created' | 'registered'
  /** Who: the caller id (`token:<name>` or `ip:<network>`). */
  by: string
  /** Epoch ms when it became known. */
  since: number
}

/** Known orders, by trackcode. */
export interface OrderRegistry {
  /** Remembers `trackcode` for `ttlMs` (replacing what was known of it). */
  remember (trackcode: string, order: KnownOrder, ttlMs: number): Promise<void>
  get (trackcode: string): Promise<KnownOrder | undefined>
  /** Forgets `trackcode` (unregistered, or gone upstream). */
  forget (trackcode: string): Promise<void>
  /**
   * Every known order not expired, in no particular order: the allocator tracks them
   * without subscribers, and after a restart resumes those not finished.
   */
  list (): Promise<Array<[string, KnownOrder]>>
}

/** How long a known order is remembered: upstream's 48 h retention and an hour more. */
export const KNOWN_ORDER_TTL_MS = 49 * 60 * 60 * 1000
