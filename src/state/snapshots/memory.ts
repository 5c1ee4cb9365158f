/** The in-process snapshot store of one gateway. */
import { ExpiringMap } from '../../lib/expiring-map.js'
import type { SnapshotStore, StoredSnapshot } from './index.js'
import type { OutboxEvent } from '../webhooks/index.js'
import type { MemoryWebhookStore } from '../webhooks/memory.js'

/** Options of {@link MemorySnapshotStore}. */
export interface MemorySnapshotStoreOptions {
  /** Most snapshots kept; the least recently written go first. Default 10 000. */
  maxEntries?: number
  /** Most not-found trackcodes kept. Default 10 000. */
  maxNotFound?: number
  now?: () => number
  /** Where `put` appends webhook events (none: they are dropped). */
  outbox?: MemoryWebhookStore
}

/** In-process {@link SnapshotStore}, bounded in entries. */
export class MemorySnapshotStore implements SnapshotStore {
  readonly #snapshots: ExpiringMap<StoredSnapshot>
  readonly #notFound: ExpiringMap<true>
  readonly #outbox: MemoryWebhookStore | undefined

  constructor (opts: MemorySnapshotStoreOptions = {}) {
    const now = opts.now ?? Date.now
    this.#snapshots = new ExpiringMap(opts.maxEntries ?? 10_000, now)
    this.#notFound = new ExpiringMap(opts.maxNotFound ?? 10_000, now)
    this.#outbox = opts.outbox
  }

  async get (trackcode: string): Promise<StoredSnapshot | undefined> {
    return this.#snapshots.get(trackcode)
  }

  held (trackcode: string): StoredSnapshot | undefined {
    return this.#notFound.get(trackcode) === true ? undefined : this.#snapshots.get(trackcode)
  }

  async put (trackcode: string, snapshot: StoredSnapshot, ttlMs: number, expectedVersion: number, events: readonly OutboxEvent[] = []): Promise<boolean> {
    const current = this.#snapshots.get(trackcode)?.order.version
    if (current !== undefined && current !== expectedVersion) return false
    // One synchronous step: nothing runs between the version and its events.
    this.#snapshots.set(trackcode, snapshot, ttlMs)
    if (events.length > 0) this.#outbox?.append(events)
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
