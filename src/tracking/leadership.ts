/**
 * The allocator's leadership in a cluster: of all instances sharing Redis, one leads
 * (holds the `leader` lease, `src/state/leader/`) and its allocator alone decides and
 * spends the pollers' partition; the others keep their subscribers fed from the bus.
 *
 * Every instance campaigns every third of the TTL: the leader renews its lease, the
 * others take it when it lapses (a leader that died: hand-over within a TTL and a third).
 * Each check the allocator makes carries the term it was decided under and is sent
 * only if {@link Leadership.confirm} holds: the term is the current one, the lease has
 * not outlived its TTL on this instance's clock since the last renewal (a stalled
 * process stops at once), and Redis still names this instance with that term. A
 * deposed leader is told at its next campaign ({@link LeadershipOptions.onChange}) and
 * stops its pollers; a check it had decided is refused, not sent.
 *
 * Runs on real time (the lease expires on Redis' clock).
 */
import type { FastifyBaseLogger } from 'fastify'
import type { LeaderStore } from '../state/leader/index.js'

/** Options of {@link Leadership}. */
export interface LeadershipOptions {
  store: LeaderStore
  owner: string
  /** Life of the lease without renewal; the hand-over time after a leader dies. */
  ttlMs: number
  /** Told when this instance starts (`true`) or stops (`false`) leading. */
  onChange: (leading: boolean) => void
  log: FastifyBaseLogger
}

/** See the module comment. */
export class Leadership {
  readonly owner: string
  readonly #opts: LeadershipOptions
  #term: number | null = null
  #validUntil = 0
  #timer: NodeJS.Timeout | null = null
  #closed = false
  #campaigning = false
  #closing: Promise<void> | null = null

  constructor (opts: LeadershipOptions) {
    this.owner = opts.owner
    this.#opts = opts
  }

  /** True while this instance leads (as far as it knows without asking Redis). */
  get leading (): boolean {
    return this.#term !== null && Date.now() < this.#validUntil
  }

  /** The term this instance leads under (`null`: it does not lead). */
  get term (): number | null {
    return this.leading ? this.#term : null
  }

  /** Starts campaigning (at once, then every third of the TTL). */
  start (): void {
    if (this.#timer !== null || this.#closed) return
    void this.campaign()
    this.#timer = setInterval(() => { void this.campaign() }, Math.max(50, Math.floor(this.#opts.ttlMs / 3)))
    this.#timer.unref()
  }

  /** One campaign: takes or renews the lease; tells of a change. */
  async campaign (): Promise<void> {
    if (this.#closed || this.#campaigning) return
    this.#campaigning = true
    const askedAt = Date.now()
    let term: number | null = null
    try {
      term = await this.#opts.store.campaign(this.owner, this.#opts.ttlMs)
    } catch (err) {
      this.#opts.log.warn({ err }, 'leader campaign failed')
    } finally {
      this.#campaigning = false
    }
    if (this.#closed) return
    const was = this.#term
    if (term !== null) {
      this.#term = term
      // Counted from before the call: the lease in Redis lasts at least this long.
      this.#validUntil = askedAt + this.#opts.ttlMs
    } else {
      this.#term = null
      this.#validUntil = 0
    }
    if (was !== term) {
      if (was !== null) this.#opts.log.warn({ owner: this.owner, term: was }, 'this instance no longer leads the poll allocator')
      if (term !== null) this.#opts.log.info({ owner: this.owner, term }, 'this instance leads the poll allocator')
      if (was !== null) this.#opts.onChange(false)
      if (term !== null) this.#opts.onChange(true)
    }
  }

  /** The fencing check before a check is sent: see the module comment. */
  async confirm (term: number): Promise<boolean> {
    if (this.term !== term) return false
    const held = await this.#opts.store.holds(this.owner, term).catch(() => false)
    if (!held && this.#term === term) {
      this.#term = null
      this.#validUntil = 0
      this.#opts.log.warn({ owner: this.owner, term }, 'this instance no longer leads the poll allocator (fenced)')
      this.#opts.onChange(false)
    }
    return held && this.term === term
  }

  /** Who leads the cluster now, for the admin route and metrics. */
  async current (): Promise<{ owner: string, term: number } | null> {
    return await this.#opts.store.current()
  }

  /** Stops campaigning and gives the lease up (the next leader need not wait for its TTL). */
  async close (): Promise<void> {
    this.#closing ??= this.#close()
    await this.#closing
  }

  async #close (): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    const led = this.#term !== null
    this.#term = null
    if (led) await this.#opts.store.resign(this.owner).catch(() => {})
  }
}
