/**
 * Where the last snapshot of every tracked order lives, with its version, and which
 * trackcodes upstream said it does not know.
 *
 * Async on purpose: the in-process store below serves one gateway; a Redis store with
 * the same interface lets several gateways share versions and the 404 cache (`put`
 * is a compare-and-set on the version so two writers cannot both claim version n+1).
 */
import { ExpiringMap } from '../lib/expiring-map.js'
import type { TrackedOrder } from './status.js'

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
   * Stores `snapshot` for `ttlMs` if the stored version is still `expectedVersion`, or
   * nothing is stored (expired or evicted: no writer to conflict with). Returns false,
   * storing nothing, when another writer stored a different version first.
   */
  put (trackcode: string, snapshot: StoredSnapshot, ttlMs: number, expectedVersion: number): Promise<boolean>
  /** Remembers for `ttlMs` that upstream does not know `trackcode`. */
  markNotFound (trackcode: string, ttlMs: number): Promise<void>
  /** True while a not-found answer for `trackcode` is remembered. */
  isNotFound (trackcode: string): Promise<boolean>
}

/** Options of {@link MemorySnapshotStore}. */
export interface MemorySnapshotStoreOptions {
  /** Most snapshots kept; the least recently written go first. Default 10 000. */
  maxEntries?: number
  /** Most not-found trackcodes kept. Default 10 000. */
  maxNotFound?: number
  now?: () => number
}

/** In-process {@link SnapshotStore}, bounded in entries. */
export class MemorySnapshotStore implements SnapshotStore {
  readonly #snapshots: ExpiringMap<StoredSnapshot>
  readonly #notFound: ExpiringMap<true>

  constructor (opts: MemorySnapshotStoreOptions = {}) {
    const now = opts.now ?? Date.now
    this.#snapshots = new ExpiringMap(opts.maxEntries ?? 10_000, now)
    this.#notFound = new ExpiringMap(opts.maxNotFound ?? 10_000, now)
  }

  async get (trackcode: string): Promise<StoredSnapshot | undefined> {
    return this.#snapshots.get(trackcode)
  }

  async put (trackcode: string, snapshot: StoredSnapshot, ttlMs: number, expectedVersion: number): Promise<boolean> {
    const current = this.#snapshots.get(trackcode)?.order.version
    if (current !== undefined && current !== expectedVersion) return false
    this.#snapshots.set(trackcode, snapshot, ttlMs)
    return true
  }

  async markNotFound (trackcode: string, ttlMs: number): Promise<void> {
    this.#notFound.set(trackcode, true, ttlMs)
  }

  async isNotFound (trackcode: string): Promise<boolean> {
    return this.#notFound.get(trackcode) === true
  }

  /** Snapshots held (expired ones not yet noticed included). */
  get size (): number {
    return this.#snapshots.size
  }
}
