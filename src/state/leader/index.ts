/**
 * The leader port: which instance of a cluster runs the poll allocator. One lease,
 * `leader`, held by one owner at a time for a short TTL and renewed by its holder while
 * it lives; each new holder gets a new **term** (a number that only grows), the fencing
 * token every check of the allocator carries: a check is sent only while its owner
 * still holds the lease with that term (`holds`), so a deposed leader cannot spend the
 * quota a new leader also spends.
 */

/** Who leads, and since which term. */
export interface LeaderLease {
  owner: string
  term: number
}

/** The leader lease. */
export interface LeaderStore {
  /**
   * Takes the lease for `owner` if it is free (a new term), or renews it if `owner`
   * holds it (the same term), for `ttlMs`. The term held, or `null` when another owner leads.
   */
  campaign (owner: string, ttlMs: number): Promise<number | null>
  /** True while `owner` holds the lease with `term`. */
  holds (owner: string, term: number): Promise<boolean>
  /** Gives the lease up if `owner` holds it (a graceful shutdown: the next leader need not wait for the TTL). */
  resign (owner: string): Promise<void>
  /** The current holder, if any. */
  current (): Promise<LeaderLease | null>
}
