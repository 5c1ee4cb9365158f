/**
 * Snapshot freshness: whether the stored snapshot of an order may be served as it is,
 * and for how long. A subscriber's first snapshot and the polling fallback both ask:
 * the stored snapshot is served when it is final, when a poller keeps it fresh, or when
 * it is younger than the order's polling interval; otherwise the caller checks once
 * (shared with every concurrent caller). Upstream `NOT_FOUND` is a 404, remembered for
 * `notFoundCacheMs`.
 */
import { GatewayError } from '../../errors.js'
import type { SnapshotStore, StoredSnapshot } from '../../state/snapshots/index.js'
import type { Clock } from '../clock.js'
import type { Poller } from '../poller.js'
import type { PollScheduler } from '../scheduler.js'
import { isFinalStatus } from '../status.js'

/** A snapshot answer for the polling fallback. */
export interface PolledSnapshot {
  snapshot: StoredSnapshot
  /** How long the client should wait before polling again, ms. */
  pollAfterMs: number
}

/** What the store knows of a trackcode. */
export interface Stored {
  /** The stored snapshot, if any. */
  snapshot: StoredSnapshot | undefined
  /** Set when `snapshot` may be served without a check: how long it stays so, ms. */
  freshForMs?: number
}

/** The 404 of an order upstream does not know. */
export function notFound (trackcode: string): GatewayError {
  return new GatewayError(404, 'NOT_FOUND', `Order ${trackcode} not found`)
}

/** Options of {@link Freshness}. */
export interface FreshnessOptions {
  store: SnapshotStore
  scheduler: PollScheduler
  clock: Clock
  /** How long a final snapshot is served without asking upstream. */
  finalCacheMs: number
}

/** See the module comment. */
export class Freshness {
  readonly #opts: FreshnessOptions

  constructor (opts: FreshnessOptions) {
    this.#opts = opts
  }

  /**
   * The stored snapshot of `trackcode` and whether it is fresh enough to serve
   * (`pollerOf`: the trackcode's poller on this gateway, if any, asked once the store
   * answered). Throws the 404 of an order known not to exist.
   */
  async lookup (trackcode: string, pollerOf: () => Poller | null | undefined): Promise<Stored> {
    const { store, clock, finalCacheMs } = this.#opts
    if (await store.isNotFound(trackcode)) throw notFound(trackcode)
    const snapshot = await store.get(trackcode)
    if (snapshot === undefined) return { snapshot }
    if (isFinalStatus(snapshot.order.status)) return { snapshot, freshForMs: finalCacheMs }
    const now = clock.now()
    const poller = pollerOf()
    if (poller?.running === true) return { snapshot, freshForMs: Math.max(0, poller.nextCheckAt - now) }
    const fresh = await this.#interval(snapshot)
    if (now - snapshot.checkedAt < fresh) return { snapshot, freshForMs: snapshot.checkedAt + fresh - now }
    return { snapshot }
  }

  /** How long a snapshot just checked stays fresh, ms. */
  async freshAfterCheck (snapshot: StoredSnapshot): Promise<number> {
    if (isFinalStatus(snapshot.order.status)) return this.#opts.finalCacheMs
    return await this.#interval(snapshot)
  }

  /** How long a non-final snapshot counts as fresh: its polling interval, fairly shared. */
  async #interval (snapshot: StoredSnapshot): Promise<number> {
    return await this.#opts.scheduler.afterSuccess(snapshot.order, snapshot.checkedAt) ?? this.#opts.finalCacheMs
  }
}
