/**
 * One check of one order: ask upstream, turn the answer into a snapshot, store it,
 * and publish it when it is a real change. A real change's webhook events
 * (`src/webhooks/events.ts`) are stored in the same step as its version. Pollers and the polling fallback both
 * refresh through here, and concurrent refreshes of one trackcode share one check.
 *
 * Outcomes:
 * - a snapshot (changed or not; a Done one is final);
 * - upstream `NOT_FOUND` for an order seen before → a final `Gone` snapshot;
 * - `NOT_FOUND` for an order never seen → remembered for `notFoundCacheMs` (404);
 * - a failure, with the reason subscribers are told and the HTTP error a first
 *   subscriber gets (the API key is never part of either).
 */
import type { FastifyBaseLogger } from 'fastify'
import { GatewayError } from '../errors.js'
import { Coalescer } from '../upstream/cached-loader.js'
import type { Payer, UpstreamResult } from '../upstream/client.js'
import type { TrackingBus } from '../state/bus/index.js'
import type { Clock } from './clock.js'
import { snapshotFrame, stopFrame, type DegradedReason } from './frames.js'
import type { SnapshotStore, StoredSnapshot } from '../state/snapshots/index.js'
import { CheckShapeError, goneSnapshot, isFinalStatus, sameContent, snapshotFromCheck } from './status.js'
import { type TrackedOrder } from './schemas.js'
import { webhookEvents } from '../webhooks/events.js'

/**
 * Sends one `/orders/check` for `trackcode`. `retry` (default true) lets the upstream
 * client retry an attempt that never reached upstream; pollers pass false (they back
 * off by themselves). With `payer` the check is the first one of an order nobody
 * tracks: charged to that caller's allowance and to the quota's `rest` partition;
 * without, it is a `poll`.
 */
export type CheckFn = (trackcode: string, signal?: AbortSignal, retry?: boolean, payer?: Payer) => Promise<UpstreamResult>

/** What a refresh ended with. */
export type RefreshOutcome =
  | { kind: 'snapshot', snapshot: StoredSnapshot, changed: boolean }
  | { kind: 'not_found' }
  | {
    kind: 'failed'
    reason: DegradedReason
    /** What a request that needed this check is answered. */
    error: GatewayError
    /** Epoch ms before which retrying cannot succeed (quota refusals), if known. */
    retryAt?: number
  }

/** Options of {@link Refresher}. */
export interface RefresherOptions {
  check: CheckFn
  store: SnapshotStore
  bus: TrackingBus
  clock: Clock
  /** When upstream's own TOO_MANY_REQUESTS pause ends (0: none). */
  pausedUntil: () => Promise<number>
  /** Retry spacing after a refusal with no known end (`pollIntervalMs`), and after upstream's 429 with none (`pollMaxIntervalMs`), ms. */
  retryMs: { refused: number, rateLimited: number }
  /** Told every successful check: the trackcode, the snapshot it gave (unchanged or not) and when it was sent. */
  onChecked?: (trackcode: string, order: TrackedOrder, sentAt: number) => void
  /** How long a not-found answer is remembered. */
  notFoundCacheMs: number
  /** How long snapshots are kept (final ones: served without asking upstream). */
  snapshotTtlMs: number
  log: FastifyBaseLogger
}

/** Read-only counters. */
export interface RefresherStats {
  /** Checks sent upstream (quota refusals not included). */
  checks: number
  /** Checks that produced a new version. */
  changes: number
  /** Refreshes that failed. */
  failures: number
}

/** Builds the stored form (serialized once) of a snapshot. */
export function storedSnapshot (order: TrackedOrder, checkedAt: number): StoredSnapshot {
  return { order, json: JSON.stringify(order), checkedAt }
}

/** Performs checks; see the module comment. */
export class Refresher {
  readonly #opts: RefresherOptions
  readonly #coalescer = new Coalescer<RefreshOutcome>()
  readonly #stats: RefresherStats = { checks: 0, changes: 0, failures: 0 }

  constructor (opts: RefresherOptions) {
    this.#opts = opts
  }

  /**
   * Checks `trackcode` now, or joins the check already running for it. `known` is the
   * caller's last snapshot, used when the store no longer has one; `retry` and `payer`
   * are passed to the {@link CheckFn} (the caller that starts the check decides: who
   * joins a running check pays nothing).
   */
  refresh (trackcode: string, opts: { known?: StoredSnapshot, signal?: AbortSignal, retry?: boolean, payer?: Payer } = {}): Promise<RefreshOutcome> {
    return this.#coalescer.run(trackcode, async () => await this.#refresh(trackcode, opts.known, opts.signal, opts.retry ?? true, opts.payer))
  }

  stats (): RefresherStats {
    return { ...this.#stats }
  }

  async #refresh (trackcode: string, known: StoredSnapshot | undefined, signal: AbortSignal | undefined, retry: boolean, payer: Payer | undefined): Promise<RefreshOutcome> {
    const { clock } = this.#opts
    const sentAt = clock.now()
    let result: UpstreamResult
    try {
      result = await this.#opts.check(trackcode, signal, retry, payer)
    } catch (err) {
      // A local refusal (429 thrown by the client: allowance or quota) made no call and used no slot.
      if (!(err instanceof GatewayError && err.code === 'TOO_MANY_REQUESTS')) this.#stats.checks++
      return await this.#failed(trackcode, err)
    }
    this.#stats.checks++
    const now = clock.now()
    const body = result.body
    if (result.statusCode === 200 && body.ok === true) {
      let previous = await this.#opts.store.get(trackcode)
      if (previous === undefined || (known !== undefined && known.order.version > previous.order.version)) previous = known
      if (previous !== undefined && isFinalStatus(previous.order.status)) return { kind: 'snapshot', snapshot: previous, changed: false }
      let order: TrackedOrder
      try {
        order = snapshotFromCheck(body, previous?.order, { sentAt, latencyMs: now - sentAt }, now)
      } catch (err) {
        if (!(err instanceof CheckShapeError)) throw err
        return this.#failure('UPSTREAM_ERROR', new GatewayError(502, 'UPSTREAM_BAD_RESPONSE', `SecretCryptos answered the check with an unexpected shape: ${err.message}`))
      }
      this.#opts.onChecked?.(trackcode, order, sentAt)
      return await this.#save(trackcode, order, previous, now)
    }
    const code = typeof body.code === 'string' ? body.code : undefined
    if (code === 'NOT_FOUND' || (result.statusCode === 404 && code === undefined)) {
      let previous = await this.#opts.store.get(trackcode)
      if (previous === undefined) previous = known
      if (previous === undefined) {
        await this.#opts.store.markNotFound(trackcode, this.#opts.notFoundCacheMs)
        return { kind: 'not_found' }
      }
      if (isFinalStatus(previous.order.status)) return { kind: 'snapshot', snapshot: previous, changed: false }
      return await this.#save(trackcode, goneSnapshot(previous.order, now), previous, now)
    }
    if (result.statusCode === 429 || code === 'TOO_MANY_REQUESTS') {
      // The client has paused the quota until upstream's window frees.
      const pausedUntil = await this.#opts.pausedUntil()
      const retryAt = pausedUntil > now ? pausedUntil : now + this.#opts.retryMs.rateLimited
      return this.#failure('RATE_LIMITED', tooManyRequests(retryAt - now, 'SecretCryptos refused the check: its daily request limit is reached'), retryAt)
    }
    const label = `HTTP ${result.statusCode}${code === undefined ? '' : ` (${code})`}`
    if (result.statusCode >= 500) {
      return this.#failure(result.statusCode === 500 ? 'UPSTREAM_ERROR' : 'UPSTREAM_UNAVAILABLE', new GatewayError(502, 'UPSTREAM_UNAVAILABLE', `SecretCryptos failed the check: ${label}`))
    }
    return this.#failure('UPSTREAM_ERROR', new GatewayError(502, 'UPSTREAM_BAD_RESPONSE', `SecretCryptos refused the check: ${label}`))
  }

  async #failed (trackcode: string, err: unknown): Promise<RefreshOutcome> {
    if (!(err instanceof GatewayError)) {
      this.#opts.log.error({ err, trackcode }, 'order check failed unexpectedly')
      return this.#failure('UPSTREAM_ERROR', new GatewayError(502, 'UPSTREAM_UNAVAILABLE', 'The order check failed'))
    }
    switch (err.code) {
      case 'TOO_MANY_REQUESTS': {
        // Refused by the local quota: no call was made.
        const now = this.#opts.clock.now()
        const seconds = Number(err.headers['retry-after'])
        const retryAt = Number.isFinite(seconds) ? now + seconds * 1000 : now + this.#opts.retryMs.refused
        const pausedUntil = await this.#opts.pausedUntil()
        return this.#failure(pausedUntil > now ? 'RATE_LIMITED' : 'QUOTA_EXHAUSTED', err, retryAt)
      }
      case 'UPSTREAM_TIMEOUT':
        return this.#failure('UPSTREAM_TIMEOUT', err)
      case 'UPSTREAM_UNAVAILABLE':
        return this.#failure('UPSTREAM_UNAVAILABLE', err)
      default:
        return this.#failure('UPSTREAM_ERROR', err)
    }
  }

  #failure (reason: DegradedReason, error: GatewayError, retryAt?: number): RefreshOutcome {
    this.#stats.failures++
    return retryAt === undefined ? { kind: 'failed', reason, error } : { kind: 'failed', reason, error, retryAt }
  }

  /** Stores `order` (a new version when its content changed) and publishes new versions. */
  async #save (trackcode: string, order: TrackedOrder, previous: StoredSnapshot | undefined, now: number): Promise<RefreshOutcome> {
    const { store, bus, snapshotTtlMs } = this.#opts
    const expected = previous?.order.version ?? 0
    if (previous !== undefined && order.version === previous.order.version && sameContent(previous.order, order)) {
      const confirmed: StoredSnapshot = { ...previous, checkedAt: now }
      if (!await store.put(trackcode, confirmed, snapshotTtlMs, expected)) return await this.#lostRace(trackcode, confirmed)
      return { kind: 'snapshot', snapshot: confirmed, changed: false }
    }
    const next = order.version === expected ? { ...order, version: expected + 1, updated_at: Math.floor(now / 1000) } : order
    const snapshot = storedSnapshot(next, now)
    // The change's webhook events are stored with the version (the outbox), atomically.
    const events = webhookEvents(previous?.order, next, snapshot.json, now)
    if (!await store.put(trackcode, snapshot, snapshotTtlMs, expected, events)) return await this.#lostRace(trackcode, snapshot)
    this.#stats.changes++
    await bus.publish({
      kind: 'snapshot',
      trackcode,
      version: next.version,
      status: next.status,
      json: snapshot.json,
      frame: snapshotFrame(next.version, snapshot.json),
      ...(isFinalStatus(next.status) ? { stopFrame: stopFrame(next) } : {})
    })
    return { kind: 'snapshot', snapshot, changed: true }
  }

  /** Another writer stored a version meanwhile (several gateways): theirs wins. */
  async #lostRace (trackcode: string, mine: StoredSnapshot): Promise<RefreshOutcome> {
    const theirs = await this.#opts.store.get(trackcode)
    return { kind: 'snapshot', snapshot: theirs ?? mine, changed: false }
  }
}

/** A 429 envelope error with its `Retry-After`. */
function tooManyRequests (waitMs: number, message: string): GatewayError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000))
  return new GatewayError(429, 'TOO_MANY_REQUESTS', `${message}; retry in ${seconds} s`, { headers: { 'retry-after': String(seconds) } })
}
