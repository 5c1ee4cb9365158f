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
