/** The in-process idempotency store of one gateway. */
import type { BeginResult, IdempotencyStore, StoredResponse } from './index.js'

type MemoryRecord =
  | { state: 'running', fingerprint: string, expiresAt: number }
  | { state: 'done', fingerprint: string, expiresAt: number, response: StoredResponse }

export interface MemoryIdempotencyStoreOptions {
  /** Most records kept (running ones included). */
  maxEntries?: number
  /** Most response bytes kept across all records. */
  maxBytes?: number
  now?: () => number
}

/**
 * In-process store. Records expire lazily; when a bound is reached the oldest
 * completed answers are evicted first. A running record is never evicted (that could
 * let a duplicate request through): past `maxEntries` running records, `begin` treats
 * the key as busy instead.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  /** Insertion order = age order: completed records are re-inserted on completion. */
  readonly #records = new Map<string, MemoryRecord>()
  readonly #maxEntries: number
  readonly #maxBytes: number
  readonly #now: () => number
  #bytes = 0

  constructor (opts: MemoryIdempotencyStoreOptions = {}) {
    this.#maxEntries = opts.maxEntries ?? 10_000
    this.#maxBytes = opts.maxBytes ?? 64 * 1024 * 1024
    this.#now = opts.now ?? Date.now
  }

  /** Records held (for tests and metrics). */
  get size (): number {
    return this.#records.size
  }

  /** Response bytes held. */
  get bytes (): number {
    return this.#bytes
  }

  async begin (key: string, fingerprint: string, lockMs: number): Promise<BeginResult> {
    const now = this.#now()
    const record = this.#live(key, now)
    if (record !== undefined) {
      if (record.fingerprint !== fingerprint) return { state: 'mismatch' }
      return record.state === 'done' ? { state: 'done', response: record.response } : { state: 'running' }
    }
    this.#makeRoom(1, 0, now)
    if (this.#records.size >= this.#maxEntries) return { state: 'running' }
    this.#records.set(key, { state: 'running', fingerprint, expiresAt: now + lockMs })
    return { state: 'new' }
  }

  async complete (key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void> {
    const now = this.#now()
    this.#delete(key)
    const size = response.body.length
    if (size > this.#maxBytes) return
    this.#makeRoom(1, size, now)
    // A private copy: the caller's buffer may be pooled or reused.
    const body = Buffer.from(response.body)
    this.#records.set(key, { state: 'done', fingerprint, expiresAt: now + ttlMs, response: { ...response, body } })
    this.#bytes += size
  }

  async abandon (key: string): Promise<void> {
    const record = this.#records.get(key)
    if (record?.state === 'running') this.#records.delete(key)
  }

  #live (key: string, now: number): MemoryRecord | undefined {
    const record = this.#records.get(key)
    if (record === undefined) return undefined
    if (record.expiresAt > now) return record
    this.#delete(key)
    return undefined
  }

  #delete (key: string): void {
    const record = this.#records.get(key)
    if (record === undefined) return
    if (record.state === 'done') this.#bytes -= record.response.body.length
    this.#records.delete(key)
  }

  /** Drops expired records, then the oldest completed ones, until `entries` and `bytes` more fit. */
  #makeRoom (entries: number, bytes: number, now: number): void {
    for (const [key, record] of this.#records) {
      const fits = this.#records.size + entries <= this.#maxEntries && this.#bytes + bytes <= this.#maxBytes
      if (fits && record.expiresAt > now) break
      if (record.expiresAt <= now || (!fits && record.state === 'done')) this.#delete(key)
    }
  }
}
