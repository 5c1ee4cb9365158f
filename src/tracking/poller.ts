/**
 * The poller of one trackcode: carries out the checks the allocator (`allocator.ts`)
 * decides, and tells subscribers (through the bus) when tracking degrades and when it
 * is live again. It decides nothing about *when*; it knows *how*:
 *
 * - each check first takes or renews the trackcode's lease, so of several gateways
 *   tracking one order only one checks upstream (the others are told `elsewhere`, and
 *   relay what the holder publishes on the bus);
 * - a failed check is reported with when to retry: a quota refusal when the window
 *   frees, any other failure after an exponential backoff with jitter
 *   ({@link backoffDelay});
 * - checks are sent with `retry: false`: each attempt of the upstream client's own
 *   retries would cost a quota slot, and the allocator retries a failed check itself
 *   (the first check of a new subscriber, which a browser waits for, keeps the client's
 *   quick retries).
 */
import type { FastifyBaseLogger } from 'fastify'
import type { TrackingBus } from '../state/bus/index.js'
import type { LeaseStore } from '../state/leases/index.js'
import type { StoredSnapshot } from '../state/snapshots/index.js'
import type { Execution, Executor, PollTimings } from './allocator.js'
import type { Clock } from './clock.js'
import { epochSeconds, trackingFrame, type DegradedReason, type TrackingState } from './frames.js'
import type { Refresher } from './refresher.js'
import { isFinalStatus } from './status.js'

/** Options of {@link Poller}. */
export interface PollerOptions {
  trackcode: string
  refresher: Refresher
  bus: TrackingBus
  lease: LeaseStore
  /** This gateway's lease owner id. */
  owner: string
  clock: Clock
  timings: PollTimings
  /** Aborts in-flight checks (the gateway is shutting down). */
  signal: AbortSignal
  log: FastifyBaseLogger
  /** When the next check is planned (for the "live again" announcement), epoch ms. */
  nextCheckAt?: () => number
  random?: () => number
}

const MESSAGES: Readonly<Record<DegradedReason, string>> = Object.freeze({
  UPSTREAM_UNAVAILABLE: 'SecretCryptos cannot be reached; retrying with backoff',
  UPSTREAM_TIMEOUT: 'SecretCryptos does not answer in time; retrying with backoff',
  UPSTREAM_ERROR: 'SecretCryptos answered with an error; retrying with backoff',
  QUOTA_EXHAUSTED: 'The daily request quota is used up; tracking resumes when it frees',
  RATE_LIMITED: 'SecretCryptos asked to slow down; tracking resumes when it allows'
})

/**
 * Delay before retrying after `failures` consecutive failed checks (1 = the first):
 * uniformly drawn between `pollIntervalMs` and `min(pollMaxIntervalMs,
 * pollIntervalMs × 2^(failures−1))` — exponential growth, jitter so pollers that failed
 * together do not retry together.
 */
export function backoffDelay (failures: number, t: PollTimings, random: () => number = Math.random): number {
  const base = t.pollIntervalMs
  const ceiling = Math.max(base, Math.min(t.pollMaxIntervalMs, base * 2 ** Math.min(Math.max(0, failures - 1), 30)))
  return Math.round(base + random() * (ceiling - base))
}

/** Carries out checks of one trackcode; see the module comment. */
export class Poller implements Executor {
  readonly trackcode: string
  readonly #opts: PollerOptions
  readonly #random: () => number
  #last: StoredSnapshot | undefined
  #stopped = false
  #failures = 0
  #degraded: DegradedReason | null = null
  #holdsLease = false

  constructor (opts: PollerOptions, initial: StoredSnapshot | undefined) {
    this.trackcode = opts.trackcode
    this.#opts = opts
    this.#random = opts.random ?? Math.random
    this.#last = initial
  }

  /** The reason tracking is degraded, `null` while it is live. */
  get degraded (): DegradedReason | null {
    return this.#degraded
  }

  /** Gives the lease back; later checks are not made. */
  stop (): void {
    if (this.#stopped) return
    this.#stopped = true
    if (this.#holdsLease) this.#release()
  }

  /** One check, as the allocator decided. */
  async execute (): Promise<Execution> {
    const { clock, refresher, lease, owner, trackcode, timings } = this.#opts
    if (this.#stopped) return { kind: 'gone' }
    const acquired = await lease.acquire(trackcode, owner, 2 * Math.max(timings.pollMaxIntervalMs, 24 * timings.pollIntervalMs))
    if (this.#stopped) {
      // Stopped while acquiring: stop() saw no lease to give back, so give it back here.
      if (acquired) this.#release()
      return { kind: 'gone' }
    }
    this.#holdsLease = acquired
    if (!acquired) return { kind: 'elsewhere' }
    const outcome = await refresher.refresh(trackcode, { ...(this.#last === undefined ? {} : { known: this.#last }), signal: this.#opts.signal, retry: false })
    if (outcome.kind === 'snapshot') {
      this.#last = outcome.snapshot
      this.#failures = 0
      if (this.#degraded !== null && !isFinalStatus(outcome.snapshot.order.status)) {
        this.#degraded = null
        await this.#announce({ state: 'live', reason: null, message: 'Tracking is live again', next_check_at: epochSeconds(this.#opts.nextCheckAt?.() ?? clock.now() + timings.pollIntervalMs) })
      }
      return { kind: 'snapshot', snapshot: outcome.snapshot }
    }
    // Only when neither the store nor this poller knew the order: nothing to tell.
    if (outcome.kind === 'not_found') return { kind: 'gone' }
    this.#failures++
    const now = clock.now()
    const retryAt = outcome.retryAt !== undefined
      ? Math.max(outcome.retryAt, now) + Math.round(this.#random() * timings.pollIntervalMs / 2) + 1
      : now + backoffDelay(this.#failures, timings, this.#random)
    this.#opts.log.warn({ trackcode, reason: outcome.reason, failures: this.#failures, retryInMs: retryAt - now }, 'order check failed')
    if (this.#degraded !== outcome.reason) {
      this.#degraded = outcome.reason
      await this.#announce({ state: 'degraded', reason: outcome.reason, message: MESSAGES[outcome.reason], next_check_at: epochSeconds(retryAt) })
    }
    return { kind: 'failed', retryAt }
  }

  #release (): void {
    this.#holdsLease = false
    this.#opts.lease.release(this.trackcode, this.#opts.owner).catch((err: unknown) => {
      this.#opts.log.warn({ err, trackcode: this.trackcode }, 'could not release the poller lease')
    })
  }

  async #announce (state: TrackingState): Promise<void> {
    await this.#opts.bus.publish({ kind: 'tracking', trackcode: this.trackcode, state, frame: trackingFrame(state) })
  }
}
