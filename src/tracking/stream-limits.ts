/**
 * How many event streams this gateway holds, per client IP and in all, and whether
 * one more may open.
 *
 * A subscription counts from the moment it is admitted (while its first snapshot is
 * being fetched) until its stream closes, so a burst of requests cannot slip past a
 * limit while the first checks run. Memory is one map entry per client IP that has a
 * stream open (entries go with their last stream).
 */

/** What {@link StreamLimits.admit} decided. */
export type Admission =
  /** Counted: release it once the subscription fails or its stream closes. */
  | 'admitted'
  /** This client IP already holds its share of streams. */
  | 'per_ip'
  /** The gateway holds as many streams as it may. */
  | 'overloaded'

/** Counts of open streams; see the module comment. */
export class StreamLimits {
  /** Most streams one client IP may hold. */
  readonly maxPerIp: number
  /** Most streams the gateway may hold. */
  readonly maxTotal: number
  readonly #perIp = new Map<string, number>()
  #total = 0

  constructor (maxPerIp = Infinity, maxTotal = Infinity) {
    this.maxPerIp = maxPerIp
    this.maxTotal = maxTotal
  }

  /** Admits (and counts) one more stream from `ip` (`undefined`: no per-IP limit), or says why not. */
  admit (ip: string | undefined): Admission {
    const held = ip === undefined ? 0 : this.#perIp.get(ip) ?? 0
    if (held >= this.maxPerIp) return 'per_ip'
    if (this.#total >= this.maxTotal) return 'overloaded'
    this.#total++
    if (ip !== undefined) this.#perIp.set(ip, held + 1)
    return 'admitted'
  }

  /** Uncounts a stream admitted for `ip`. */
  release (ip: string | undefined): void {
    if (this.#total > 0) this.#total--
    if (ip === undefined) return
    const held = this.#perIp.get(ip) ?? 0
    if (held <= 1) this.#perIp.delete(ip)
    else this.#perIp.set(ip, held - 1)
  }

  /** Streams counted (open, or waiting for their first snapshot). */
  get total (): number {
    return this.#total
  }

  /** Streams counted for `ip`. */
  heldBy (ip: string): number {
    return this.#perIp.get(ip) ?? 0
  }

  /** Client IPs with at least one stream counted. */
  get clients (): number {
    return this.#perIp.size
  }
}
