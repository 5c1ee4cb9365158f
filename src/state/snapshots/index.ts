/**
 * Where the last snapshot of every tracked order lives, with its version, and which
 * trackcodes upstream said it does not know.
 *
 * Async on purpose: the in-process store below serves one gateway; a Redis store with
 * the same interface lets several gateways share versions and the 404 cache (`put`
 * is a compare-and-set on the version so two writers cannot both claim version n+1).
 * Only {@link SnapshotStore.held} is synchronous: what a store can answer from its own
 * memory, the hot path of the polling fallback.
 */
import type { TrackedOrder } from '../../tracking/schemas.js'
import type { OutboxEvent } from '../webhooks/index.js'

/** A snapshot as stored. */
export interface StoredSnapshot {
  order: TrackedOrder
  /** `order` serialized once: the `data:` of its event and the body of the polling fallback. */
  json: string
  /** Epoch ms of the last check that confirmed this snapshot (updated even when nothing changed). */
  checkedAt: number
}

/** Snapshot and negative-answer storage. */
export interface SnapshotStore {
  get (trackcode: string): Promise<StoredSnapshot | undefined>
  /**
   * The snapshot of `trackcode` when this process can tell without waiting: it holds
   * the stored snapshot, nobody else can have replaced it since, and no not-found mark
   * is remembered for it. `undefined` says nothing: ask {@link isNotFound} and
   * {@link get} (nothing held here, a mark, or a store that must ask a server first).
   * The polling fallback answers from it without a promise.
   */
  held (trackcode: string): StoredSnapshot | undefined
  /**
   * Stores `snapshot` for `ttlMs` if the stored version is still `expectedVersion`, or
   * nothing is stored (expired or evicted: no writer to conflict with). Returns false,
   * storing nothing, when another writer stored a different version first.
   * `events` (the webhook events of this change) are appended to the webhook outbox in
   * the same atomic step: both are stored, or neither.
   */
  put (trackcode: string, snapshot: StoredSnapshot, ttlMs: number, expectedVersion: number, events?: readonly OutboxEvent[]): Promise<boolean>
  /** Remembers for `ttlMs` that upstream does not know `trackcode`. */
  markNotFound (trackcode: string, ttlMs: number): Promise<void>
  /** True while a not-found answer for `trackcode` is remembered. */
  isNotFound (trackcode: string): Promise<boolean>
}
