/**
 * The interest port: trackcodes someone subscribes to somewhere in the cluster, each
 * with an expiry its instance keeps pushing back while it has subscribers. The leader's
 * allocator tracks them (with the known orders of the `orders` port) although the
 * subscribers are on other instances; an entry no instance refreshes lapses.
 */

/** Trackcodes with subscribers, by expiry. */
export interface InterestSet {
  /** Marks `trackcodes` as watched until `ttlMs` from now (pushing back an earlier expiry). */
  touch (trackcodes: readonly string[], ttlMs: number): Promise<void>
  /** Every trackcode not expired, in no particular order. */
  list (): Promise<string[]>
}
