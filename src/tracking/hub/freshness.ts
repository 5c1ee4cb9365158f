/**
 * Snapshot freshness: whether the stored snapshot of an order may be served as it is,
 * and for how long. A subscriber's first snapshot and the polling fallback both ask:
 * the stored snapshot is served when it is final, when the allocator tracks the order
 * (until its next planned check), or when upstream has not refreshed since it was
 * checked (at least one refresh period); otherwise the caller checks once
 * (shared with every concurrent caller). Upstream `NOT_FOUND` is a 404, remembered for
 * `notFoundCacheMs`.
 */
import { GatewayError } from '../../errors.js'
import type { SnapshotStore, StoredSnapshot } from '../../state/snapshots/index.js'
import type { Clock } from '../clock.js'
import type { Allocator } from '../allocator.js'
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
  allocator: Allocator
  clock: Clock
  /** How long a final snapshot is served without asking upstream. */
  finalCacheMs: number
}

/** See the module comment. */
export class Freshness {
  readonly #opts: FreshnessOptions
  /**
   * Until when (clock time) a snapshot checked at the key stays fresh, as the allocator
   * answered during this turn of the event loop. Its answer weighs what it learned of
   * upstream's refresh phase (a sort over the candidate phases): the polling fallback
   * asks on every request, so it is asked once per turn and snapshot.
   */
  readonly #freshUntil = new Map<number, number>()
  readonly #forget = (): void => { this.#freshUntil.clear() }

  constructor (opts: FreshnessOptions) {
    this.#opts = opts
  }

  /** `allocator.freshForMs(checkedAt)`, remembered for the turn (see {@link Freshness.#freshUntil}). */
  #freshForMs (checkedAt: number, now: number): number {
    let until = this.#freshUntil.get(checkedAt)
    if (until === undefined) {
      if (this.#freshUntil.size === 0) setImmediate(this.#forget)
      until = now + this.#opts.allocator.freshForMs(checkedAt)
      this.#freshUntil.set(checkedAt, until)
    }
    return Math.max(0, until - now)
  }

  /**
   * The stored snapshot of `trackcode` and whether it is fresh enough to serve (kept
   * fresh by the allocator, or checked since upstream's last refresh). Throws the 404
   * of an order known not to exist.
   */
  async lookup (trackcode: string): Promise<Stored> {
    const { store } = this.#opts
    if (await store.isNotFound(trackcode)) throw notFound(trackcode)
    const snapshot = await store.get(trackcode)
    if (snapshot === undefined) return { snapshot }
    return this.#freshness(trackcode, snapshot)
  }

  /**
   * The snapshot to serve as it is and for how long, without waiting: when the store
   * holds it in process (see `SnapshotStore.held`) and it is fresh. `undefined`: call
   * {@link lookup}.
   */
  held (trackcode: string): PolledSnapshot | undefined {
    const snapshot = this.#opts.store.held(trackcode)
    if (snapshot === undefined) return undefined
    const { freshForMs } = this.#freshness(trackcode, snapshot)
    return freshForMs === undefined ? undefined : { snapshot, pollAfterMs: freshForMs }
  }

  /** Whether the stored `snapshot` of `trackcode` may be served as it is, and for how long. */
  #freshness (trackcode: string, snapshot: StoredSnapshot): Stored {
    const { clock, finalCacheMs } = this.#opts
    if (isFinalStatus(snapshot.order.status)) return { snapshot, freshForMs: finalCacheMs }
    const now = clock.now()
    const { allocator } = this.#opts
    // Tracked: served from the store until the allocator's next check, and never said to
    // be fresh for more than one upstream refresh period — a watched order may be looked
    // at any round, and asking the gateway again costs upstream nothing.
    if (allocator.tracks(trackcode)) return { snapshot, freshForMs: Math.min(Math.max(0, allocator.nextCheckAt(trackcode) - now), allocator.settings.periodMs) }
    const fresh = this.#freshForMs(snapshot.checkedAt, now)
    if (fresh > 0) return { snapshot, freshForMs: fresh }
    return { snapshot }
  }

  /** How long a snapshot just checked stays fresh, ms. */
  async freshAfterCheck (snapshot: StoredSnapshot): Promise<number> {
    if (isFinalStatus(snapshot.order.status)) return this.#opts.finalCacheMs
    return this.#opts.allocator.freshForMs(snapshot.checkedAt)
  }
}
