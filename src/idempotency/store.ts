/**
 * Where `Idempotency-Key` records live. One record per key:
 * - `running` while the first request with the key is being served (a lock with a
 *   deadline, so a crashed process never blocks a key forever);
 * - `done` once its answer is known, holding that answer for replay until it expires.
 *   That answer may be a 502/504: a key whose create may have reached upstream without
 *   a usable answer stays blocked that way (see `src/plugins/idempotency.ts`). A claim
 *   can outlive its request by up to `CREATE_SETTLE_TIMEOUT_MS` (a create settling in
 *   the background); the plugin's `lockMs` covers it. The interface is unchanged.
 *
 * The interface is small and async so a shared store (Redis) can replace the
 * in-process one for a cluster; `MemoryIdempotencyStore` is bounded in entries and bytes.
 */

/** An answer as it was sent to the first client, replayed byte for byte. */
export interface StoredResponse {
  statusCode: number
  contentType: string
  body: Buffer
}

/** What `begin` found for a key. */
export type BeginResult =
  /** No record: the caller now holds the key and must `complete` or `abandon` it. */
  | { state: 'new' }
  /** Another request with the key (and the same fingerprint) is still being served. */
  | { state: 'running' }
  /** The key was completed with this fingerprint: replay `response`. */
  | { state: 'done', response: StoredResponse }
  /** The key was used for a different request (method, path or body). */
  | { state: 'mismatch' }

export interface IdempotencyStore {
  /**
   * Claims `key` for a request whose fingerprint is `fingerprint`, or reports why it
   * cannot. The claim (a `running` record) lapses after `lockMs`.
   */
  begin (key: string, fingerprint: string, lockMs: number): Promise<BeginResult>
  /** Stores the answer of the claimed `key` for `ttlMs`. */
  complete (key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void>
  /** Releases the claim on `key` without storing anything (the request may be retried). */
  abandon (key: string): Promise<void>
}

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
