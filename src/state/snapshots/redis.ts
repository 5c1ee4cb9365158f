/**
 * The latest snapshot of every tracked order, shared by the cluster, so versions are
 * numbered once and a browser's `Last-Event-ID` means the same on every instance.
 *
 * `snap:<trackcode>` is a hash (`version`, `json`, `checkedAt`) written by a Lua
 * compare-and-set: the write happens only when the stored version is still the
 * writer's `expectedVersion` (or nothing is stored), so two writers can never both
 * claim version n+1. `nf:<trackcode>` remembers upstream's NOT_FOUND. Both expire.
 *
 * An in-process {@link MemorySnapshotStore} mirrors every snapshot this instance reads,
 * writes or receives on the bus ({@link remember}). During a Redis outage it answers
 * instead (compare-and-set against the mirror), so polling resumes from the latest
 * version subscribers saw rather than from an old one. On rejoin, every mirrored
 * snapshot is merged into Redis when its version is *higher* than Redis' (a Redis that
 * restarted empty gets them back; an instance that kept counting during a partition
 * never moves the shared version backwards). The webhook events of versions stored
 * during the outage are appended to the outbox then too (the put script appends them
 * with the version otherwise).
 */
import type { SnapshotMessage } from '../bus/index.js'
import { type SnapshotStore, type StoredSnapshot } from './index.js'
import { MemorySnapshotStore } from './memory.js'
import type { TrackedOrder } from '../../tracking/schemas.js'
import type { RedisLink } from '../redis/link.js'
import { redisKeys } from '../redis/keys.js'
import { defineScript } from '../redis/script.js'
import type { OutboxEvent } from '../webhooks/index.js'
import { encodeEvent, OUTBOX_KEYS } from '../webhooks/redis.js'

/**
 * KEYS: snapshot, webhook events, webhook outbox. ARGV: expected version, version, json,
 * checkedAt, ttl, then event id and event JSON pairs. → 1 stored (with its events), 0 conflict.
 */
const putScript = defineScript<number>('trackgateSnapshotPut', `
local current = redis.call('HGET', KEYS[1], 'version')
if current and tonumber(current) ~= tonumber(ARGV[1]) then return 0 end
if tonumber(ARGV[5]) <= 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'version', ARGV[2], 'json', ARGV[3], 'checkedAt', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
for i = 6, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('RPUSH', KEYS[3], ARGV[i])
end
return 1
`)

/** KEYS: webhook events, webhook outbox. ARGV: event id and JSON pairs. Appends events kept through an outage. */
const appendScript = defineScript<number>('trackgateOutboxAppend', `
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[i]) end
end
return 1
`)

/** KEYS: snapshot. ARGV: version, json, checkedAt, ttl. Stores only a higher version. → 1 stored. */
const mergeScript = defineScript<number>('trackgateSnapshotMerge', `
local current = redis.call('HGET', KEYS[1], 'version')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'json', ARGV[2], 'checkedAt', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

/** Options of {@link RedisSnapshotStore}. */
export interface RedisSnapshotStoreOptions {
  link: RedisLink
  /** How long mirrored snapshots are kept (the tracker's snapshot TTL, `FINAL_CACHE_MS`). */
  mirrorTtlMs: number
  /** Most snapshots mirrored. Default 10 000. */
  maxMirrored?: number
  now?: () => number
}

/** A stored hash back into a snapshot; `undefined` when absent (or not ours: never trusted blindly). */
function parse (fields: Array<string | null>): StoredSnapshot | undefined {
  const [version, json, checkedAt] = fields
  if (version == null || json == null || checkedAt == null) return undefined
  try {
    const order = JSON.parse(json) as TrackedOrder
    if (typeof order !== 'object' || order === null || order.version !== Number(version)) return undefined
    return { order, json, checkedAt: Number(checkedAt) }
  } catch {
    return undefined
  }
}

/** Snapshots merged per round trip on rejoin. */
const MERGE_BATCH = 200

/** See the module comment. */
export class RedisSnapshotStore implements SnapshotStore {
  readonly #link: RedisLink
  readonly #mirror: MemorySnapshotStore
  readonly #mirrorTtlMs: number
  readonly #maxMirrored: number
  readonly #now: () => number
  /** Trackcodes mirrored, oldest first (what a rejoin merges). */
  readonly #mirrored = new Map<string, true>()
  /** Webhook events of versions stored in the mirror during an outage. */
  #pendingEvents: OutboxEvent[] = []

  constructor (opts: RedisSnapshotStoreOptions) {
    this.#link = opts.link
    this.#now = opts.now ?? Date.now
    this.#maxMirrored = opts.maxMirrored ?? 10_000
    this.#mirrorTtlMs = opts.mirrorTtlMs
    this.#mirror = new MemorySnapshotStore({ maxEntries: this.#maxMirrored, now: this.#now })
    this.#link.onRejoin(async () => { await this.#merge() })
  }

  /** Never held: another instance may have written since; every read asks Redis. */
  held (): StoredSnapshot | undefined {
    return undefined
  }

  async get (trackcode: string): Promise<StoredSnapshot | undefined> {
    const fields = await this.#link.run('snapshots', async (redis) => await redis.hmget(redisKeys.snapshot(trackcode), 'version', 'json', 'checkedAt'), async () => null)
    if (fields === null) return await this.#mirror.get(trackcode)
    const snapshot = parse(fields)
    if (snapshot !== undefined) await this.#mirrorSnapshot(trackcode, snapshot)
    return snapshot
  }

  async put (trackcode: string, snapshot: StoredSnapshot, ttlMs: number, expectedVersion: number, events: readonly OutboxEvent[] = []): Promise<boolean> {
    const stored = await this.#link.run('snapshots', async (redis) => {
      const args = [expectedVersion, snapshot.order.version, snapshot.json, snapshot.checkedAt, Math.round(ttlMs), ...events.flatMap((e) => [e.id, encodeEvent(e)])]
      return await putScript(redis, [redisKeys.snapshot(trackcode), ...OUTBOX_KEYS], args) === 1
    }, async () => null)
    if (stored === null) {
      const ok = await this.#mirror.put(trackcode, snapshot, ttlMs, expectedVersion)
      if (ok) {
        this.#track(trackcode)
        // Kept until Redis is back, then appended to the outbox (see #merge).
        this.#pendingEvents.push(...events)
      }
      return ok
    }
    if (stored) await this.#mirrorSnapshot(trackcode, snapshot)
    return stored
  }

  async markNotFound (trackcode: string, ttlMs: number): Promise<void> {
    await this.#mirror.markNotFound(trackcode, ttlMs)
    await this.#link.run('snapshots', async (redis) => {
      if (ttlMs > 0) await redis.set(redisKeys.notFound(trackcode), '1', 'PX', Math.round(ttlMs))
    }, () => {})
  }

  async isNotFound (trackcode: string): Promise<boolean> {
    return await this.#link.run('snapshots', async (redis) => await redis.exists(redisKeys.notFound(trackcode)) === 1, async () => await this.#mirror.isNotFound(trackcode))
  }

  /** A version published by another instance: mirrored, so an outage resumes from it. */
  async remember (message: SnapshotMessage): Promise<void> {
    const known = await this.#mirror.get(message.trackcode)
    if (known !== undefined && known.order.version >= message.version) return
    const order = JSON.parse(message.json) as TrackedOrder
    await this.#mirrorSnapshot(message.trackcode, { order, json: message.json, checkedAt: this.#now() })
  }

  /** Replaces the mirrored snapshot of `trackcode` by `snapshot`. */
  async #mirrorSnapshot (trackcode: string, snapshot: StoredSnapshot): Promise<void> {
    const current = await this.#mirror.get(trackcode)
    await this.#mirror.put(trackcode, snapshot, this.#mirrorTtlMs, current?.order.version ?? 0)
    this.#track(trackcode)
  }

  #track (trackcode: string): void {
    this.#mirrored.delete(trackcode)
    this.#mirrored.set(trackcode, true)
    if (this.#mirrored.size > this.#maxMirrored) {
      const oldest = this.#mirrored.keys().next().value
      if (oldest !== undefined) this.#mirrored.delete(oldest)
    }
  }

  /** Writes every mirrored snapshot whose version Redis does not have yet. */
  async #merge (): Promise<void> {
    const redis = this.#link.client
    const events = this.#pendingEvents
    if (events.length > 0) {
      await appendScript(redis, [...OUTBOX_KEYS], events.flatMap((e) => [e.id, encodeEvent(e)]))
      this.#pendingEvents = this.#pendingEvents.slice(events.length)
    }
    const trackcodes = [...this.#mirrored.keys()]
    for (let i = 0; i < trackcodes.length; i += MERGE_BATCH) {
      // Sent together, answered together: one round trip per batch.
      await Promise.all(trackcodes.slice(i, i + MERGE_BATCH).map(async (trackcode) => {
        const snapshot = await this.#mirror.get(trackcode)
        if (snapshot === undefined) {
          this.#mirrored.delete(trackcode)
          return
        }
        await mergeScript(redis, [redisKeys.snapshot(trackcode)], [snapshot.order.version, snapshot.json, snapshot.checkedAt, this.#mirrorTtlMs])
      }))
    }
  }
}
