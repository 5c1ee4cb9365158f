/**
 * The poller of one trackcode: checks upstream on the schedule of
 * {@link PollScheduler} until the order is finished or the hub stops it, and tells
 * subscribers (through the bus) when tracking degrades and when it is live again.
 *
 * A long sleep is cut into slices of at most `pollMaxIntervalMs`, after each of
 * which the due time is computed again: when pollers come and go the fair share of
 * the quota changes, and a poller planned for a crowded hour must not oversleep once
 * the crowd left. Each check first takes or renews the trackcode's lease, so of
 * several gateways tracking one order only one checks upstream; the others wait an
 * interval and try again (taking over when the holder is gone).
 *
 * While it holds the lease, a poller registers its desired (state-aware) interval with
 * the scheduler, which stretches every poller's interval by the same factor when
 * their demand is more than the quota allows (see `scheduler.ts`).
 *
 * Checks are sent with `retry: false`: each attempt of the upstream client's own
 * retries would cost a quota slot, and the poller already retries a failed check
 * itself, with its backoff and jitter (the first check of a new subscriber, which a
 * browser waits for, keeps the client's quick retries).
 */
import type { FastifyBaseLogger } from 'fastify'
import type { TrackingBus } from '../state/bus/index.js'
import type { Clock, TimerHandle } from './clock.js'
import { epochSeconds, trackingFrame, type DegradedReason, type TrackingState } from './frames.js'
import type { LeaseStore } from '../state/leases/index.js'
import type { Refresher } from './refresher.js'
import type { PollScheduler } from './scheduler.js'
import type { StoredSnapshot } from '../state/snapshots/index.js'
import { isFinalStatus } from './status.js'

/** Options of {@link Poller}. */
export interface PollerOptions {
  trackcode: string
  refresher: Refresher
  scheduler: PollScheduler
  bus: TrackingBus
  lease: LeaseStore
  /** This gateway's lease owner id. */
  owner: string
  clock: Clock
  /** Aborts in-flight checks (the gateway is shutting down). */
  signal: AbortSignal
  log: FastifyBaseLogger
  /** Called once the order is finished and the poller stopped by itself. */
  onFinished?: () => void
  /** Called once when the poller stops, whatever the reason. */
  onStop?: () => void
}

const MESSAGES: Readonly<Record<DegradedReason, string>> = Object.freeze({
  UPSTREAM_UNAVAILABLE: 'SecretCryptos cannot be reached; retrying with backoff',
  UPSTREAM_TIMEOUT: 'SecretCryptos does not answer in time; retrying with backoff',
  UPSTREAM_ERROR: 'SecretCryptos answered with an error; retrying with backoff',
  QUOTA_EXHAUSTED: 'The daily request quota is used up; tracking resumes when it frees',
  RATE_LIMITED: 'SecretCryptos asked to slow down; tracking resumes when it allows'
})

/** Polls one trackcode; see the module comment. */
export class Poller {
  readonly trackcode: string
  readonly #opts: PollerOptions
  #last: StoredSnapshot
  #timer: TimerHandle | null = null
  #running = false
  #checking = false
  #failures = 0
  /** Set after a failure: when the next attempt is due (epoch ms). */
  #retryAt: number | null = null
  #degraded: DegradedReason | null = null
  #holdsLease = false
  /** Bumped by every new plan: a plan still being computed when a newer one starts is dropped. */
  #planSeq = 0
  /** A nudge arrived during a check: check again once it is done. */
  #nudged = false
  /** Epoch ms of the next planned check (0 before the first plan). */
  nextCheckAt = 0

  constructor (opts: PollerOptions, initial: StoredSnapshot) {
    this.trackcode = opts.trackcode
    this.#opts = opts
    this.#last = initial
  }

  /** True between `start()` and `stop()`. */
  get running (): boolean {
    return this.#running
  }

  /** The reason tracking is degraded, `null` while it is live. */
  get degraded (): DegradedReason | null {
    return this.#degraded
  }

  /** Plans the first check from the initial snapshot's check time. */
  start (): void {
    if (this.#running) return
    this.#running = true
    this.#plan()
  }

  /** Stops polling; an in-flight check completes but its result is not acted upon. */
  stop (): void {
    if (!this.#running) return
    this.#running = false
    this.#planSeq++
    this.#clearTimer()
    this.#opts.scheduler.dropDemand(this)
    this.#opts.onStop?.()
    if (this.#holdsLease) {
      this.#holdsLease = false
      this.#opts.lease.release(this.trackcode, this.#opts.owner).catch((err: unknown) => {
        this.#opts.log.warn({ err, trackcode: this.trackcode }, 'could not release the poller lease')
      })
    }
  }

  /**
   * Checks now rather than at the planned time (e.g. the order was just paid in the
   * demo), still through the quota: not while the poller backs off or waits for
   * the lease, nor when the window has no check left for pollers. A nudge during a
   * check makes another check right after it. True when a check was started or queued.
   */
  async nudge (): Promise<boolean> {
    if (!this.#running || this.#retryAt !== null) return false
    if (this.#checking) {
      this.#nudged = true
      return true
    }
    if (!await this.#opts.scheduler.hasHeadroom()) return false
    if (!this.#running || this.#retryAt !== null) return false
    if (this.#checking) {
      this.#nudged = true
      return true
    }
    this.#checkNow()
    return true
  }

  #clearTimer (): void {
    if (this.#timer !== null) this.#opts.clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  /** Drops the current plan and checks at once. */
  #checkNow (): void {
    this.#planSeq++
    this.#clearTimer()
    this.#check()
  }

  #plan (): void {
    const seq = ++this.#planSeq
    this.#clearTimer()
    this.#nextDue().then((due) => {
      if (!this.#running || seq !== this.#planSeq) return
      if (due === null) {
        this.stop()
        this.#opts.onFinished?.()
        return
      }
      this.nextCheckAt = due
      const wait = due - this.#opts.clock.now()
      if (wait <= 0) {
        this.#check()
        return
      }
      const slice = Math.min(wait, this.#opts.scheduler.timings.pollMaxIntervalMs)
      this.#timer = this.#opts.clock.setTimeout(() => {
        this.#timer = null
        if (slice >= wait) this.#check()
        else this.#plan()
      }, slice)
    }).catch((err: unknown) => {
      if (seq === this.#planSeq) this.#crashed(err)
    })
  }

  /** When the next check is due, or `null` when the order needs none. */
  async #nextDue (): Promise<number | null> {
    if (this.#retryAt !== null) return this.#retryAt
    if (isFinalStatus(this.#last.order.status)) return null
    // Only a running poller registers its demand (stop() forgets it).
    const delay = await this.#opts.scheduler.afterSuccess(this.#last.order, this.#last.checkedAt, this.#running ? this : undefined)
    return delay === null ? null : this.#last.checkedAt + delay
  }

  #check (): void {
    if (!this.#running || this.#checking) return
    this.#checking = true
    this.#attempt().catch((err: unknown) => { this.#crashed(err) }).finally(() => {
      this.#checking = false
      if (!this.#nudged) return
      this.#nudged = false
      if (this.#running && this.#retryAt === null) this.#checkNow()
    })
  }

  async #attempt (): Promise<void> {
    const { clock, scheduler, refresher, lease, owner, trackcode } = this.#opts
    const leaseTtl = 2 * scheduler.timings.pollMaxIntervalMs
    const acquired = await lease.acquire(trackcode, owner, leaseTtl)
    if (!this.#running) {
      // Stopped while acquiring: stop() saw no lease to give back, so give it back here.
      if (acquired) lease.release(trackcode, owner).catch((err: unknown) => { this.#opts.log.warn({ err, trackcode }, 'could not release the poller lease') })
      return
    }
    this.#holdsLease = acquired
    if (!this.#holdsLease) {
      // Another gateway polls this order and publishes on the bus (its demand is
      // counted there): try again later.
      scheduler.dropDemand(this)
      this.#retryAt = clock.now() + scheduler.timings.pollIntervalMs
      this.#plan()
      return
    }
    const outcome = await refresher.refresh(trackcode, { known: this.#last, signal: this.#opts.signal, retry: false })
    if (!this.#running) return
    if (outcome.kind === 'snapshot') {
      this.#last = outcome.snapshot
      this.#failures = 0
      this.#retryAt = null
      if (isFinalStatus(outcome.snapshot.order.status)) {
        this.stop()
        this.#opts.onFinished?.()
        return
      }
      if (this.#degraded !== null) {
        this.#degraded = null
        const due = await this.#nextDue()
        await this.#announce({ state: 'live', reason: null, message: 'Tracking is live again', next_check_at: epochSeconds(due ?? clock.now()) })
      }
      this.#plan()
      return
    }
    if (outcome.kind === 'not_found') {
      // Only when neither the store nor this poller knew the order: nothing to tell.
      this.stop()
      this.#opts.onFinished?.()
      return
    }
    this.#failures++
    const now = clock.now()
    this.#retryAt = outcome.retryAt !== undefined ? now + scheduler.afterRefusal(outcome.retryAt) : now + scheduler.afterFailure(this.#failures)
    this.#opts.log.warn({ trackcode, reason: outcome.reason, failures: this.#failures, retryInMs: this.#retryAt - now }, 'order check failed')
    if (this.#degraded !== outcome.reason) {
      this.#degraded = outcome.reason
      await this.#announce({ state: 'degraded', reason: outcome.reason, message: MESSAGES[outcome.reason], next_check_at: epochSeconds(this.#retryAt) })
    }
    this.#plan()
  }

  async #announce (state: TrackingState): Promise<void> {
    await this.#opts.bus.publish({ kind: 'tracking', trackcode: this.trackcode, state, frame: trackingFrame(state) })
  }

  /** A bug or a failing store: log it and keep polling at the slowest pace rather than stop silently. */
  #crashed (err: unknown): void {
    this.#opts.log.error({ err, trackcode: this.trackcode }, 'poller failed')
    if (!this.#running) return
    this.#failures++
    this.#retryAt = this.#opts.clock.now() + this.#opts.scheduler.timings.pollMaxIntervalMs
    this.#planSeq++
    this.#clearTimer()
    this.#timer = this.#opts.clock.setTimeout(() => {
      this.#timer = null
      this.#plan()
    }, this.#opts.scheduler.timings.pollMaxIntervalMs)
  }
}
