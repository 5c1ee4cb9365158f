/**
 * The delivery worker of one instance: in rounds, it fans appended events out into
 * deliveries, claims the due ones (heads of their order × endpoint queue, so in order),
 * attempts them in parallel, and records each outcome; given `retentionMs`, it also
 * sweeps finished deliveries older than that every `sweepEveryMs` (memory and Redis;
 * the state database's own sweep does it with SQLite). A round runs every
 * `intervalMs`, and at once when this instance stored a change with events
 * ({@link WebhookWorker.kick}). Tracking never waits for it: the refresher only writes
 * the outbox.
 *
 * Retries: after the n-th failed attempt the next is `retryBaseMs × 2^(n-1)` later
 * (capped at 6 h, ±20 % jitter), until `retryForMs` after the delivery was created;
 * then it is given up (`failed`) and the next delivery of its queue goes. An endpoint
 * whose attempts all failed for `disableAfterMs` (and at least
 * {@link DISABLE_MIN_FAILURES} in a row) is disabled; enabling it resumes its pending
 * deliveries. In a cluster every instance runs a worker; the store's claims make each
 * delivery one instance's at a time.
 */
import { GatewayError } from '../errors.js'
import type { FastifyBaseLogger } from 'fastify'
import type { ClaimedDelivery, WebhookStore } from '../state/webhooks/index.js'
import { attempt, type AttemptOptions } from './delivery.js'
import { signatureHeaders } from './signature.js'

/** Failures in a row an endpoint needs, besides the time, to be disabled. */
export const DISABLE_MIN_FAILURES = 5
/** Default spacing of the retention sweeps. */
export const SWEEP_EVERY_MS = 60_000
/** Finished deliveries deleted per sweep at most (a full sweep runs again next round). */
const SWEEP_MAX = 1000
/** Longest delay between two attempts. */
export const MAX_RETRY_DELAY_MS = 6 * 60 * 60 * 1000

export interface WebhookWorkerOptions extends AttemptOptions {
  store: WebhookStore
  log: FastifyBaseLogger
  retryBaseMs: number
  retryForMs: number
  disableAfterMs: number
  /** Spacing of rounds when nothing kicks. Default 1000 ms. */
  intervalMs?: number
  /** Deliveries attempted per round at most. Default 50. */
  batch?: number
  /** Finished deliveries older than this are swept in the rounds; unset: the store is swept elsewhere. */
  retentionMs?: number
  /** Spacing of those sweeps. Default {@link SWEEP_EVERY_MS}. */
  sweepEveryMs?: number
  now?: () => number
}

/** The delay before attempt `n + 1`, after `n` failed ones. */
export function retryDelay (baseMs: number, failed: number, random: () => number = Math.random): number {
  const delay = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.min(30, failed - 1))
  return Math.round(delay * (0.8 + 0.4 * random()))
}

export class WebhookWorker {
  readonly #opts: WebhookWorkerOptions
  readonly #now: () => number
  #timer: NodeJS.Timeout | null = null
  #running: Promise<void> | null = null
  #again = false
  #stopped = true
  #nextSweepAt = 0

  constructor (opts: WebhookWorkerOptions) {
    this.#opts = opts
    this.#now = opts.now ?? Date.now
  }

  start (): void {
    this.#stopped = false
    this.kick()
  }

  /** Runs a round as soon as possible. */
  kick (): void {
    if (this.#stopped) return
    if (this.#running !== null) {
      this.#again = true
      return
    }
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#running = this.#round().catch((err: unknown) => {
      // Redis down: its link logged the outage once; rounds resume when it is back.
      if (err instanceof GatewayError && err.statusCode === 503) this.#opts.log.debug({ err }, 'webhook round skipped: state unreachable')
      else this.#opts.log.warn({ err }, 'webhook round failed')
      return false
    }).then((busy) => {
      this.#running = null
      if (this.#stopped) return
      if (busy === true || this.#again) {
        this.#again = false
        setImmediate(() => { this.kick() })
        return
      }
      this.#timer = setTimeout(() => { this.kick() }, this.#opts.intervalMs ?? 1000)
      this.#timer.unref()
    })
  }

  /** Stops scheduling rounds and waits for the current one. */
  async stop (): Promise<void> {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    await this.#running
  }

  /** One round; true when it was full (more may be due). */
  async #round (): Promise<boolean> {
    const { store } = this.#opts
    const batch = this.#opts.batch ?? 50
    while (await store.fanOut(this.#now(), 100) === 100);
    const claimed = await store.claimDue(this.#now(), this.#opts.timeoutMs + 5000, batch)
    await Promise.all(claimed.map(async (c) => { await this.#deliver(c) }))
    await this.#sweep()
    return claimed.length >= batch
  }

  /** The retention sweep, when one is due. */
  async #sweep (): Promise<void> {
    const { retentionMs } = this.#opts
    const now = this.#now()
    if (retentionMs === undefined || now < this.#nextSweepAt) return
    const swept = await this.#opts.store.sweepFinished(now - retentionMs, SWEEP_MAX)
    this.#nextSweepAt = swept.deliveries >= SWEEP_MAX ? now : now + (this.#opts.sweepEveryMs ?? SWEEP_EVERY_MS)
    if (swept.deliveries + swept.events > 0) this.#opts.log.debug(swept, 'finished webhook deliveries swept')
  }

  async #deliver ({ delivery, event, endpoint }: ClaimedDelivery): Promise<void> {
    const { store, log } = this.#opts
    const now = this.#now()
    const secrets = [endpoint.secret]
    if (endpoint.previousSecret !== null && (endpoint.previousSecretUntil ?? 0) > now) secrets.push(endpoint.previousSecret)
    const headers = signatureHeaders(secrets, event.id, Math.floor(now / 1000), event.body)
    const result = await attempt(endpoint.url, headers, event.body, this.#opts)
    const at = this.#now()
    let after
    if (result.ok) {
      after = await store.complete(delivery.id, { ok: true, status: result.status, at })
    } else {
      const retryAt = at + retryDelay(this.#opts.retryBaseMs, delivery.attempts + 1)
      const giveUp = retryAt > delivery.createdAt + this.#opts.retryForMs
      after = await store.complete(delivery.id, { ok: false, status: result.status, error: result.error, at, retryAt: giveUp ? null : retryAt })
      log.info({ endpoint: endpoint.id, delivery: delivery.id, attempts: delivery.attempts + 1, error: result.error, givenUp: giveUp }, 'webhook attempt failed')
    }
    if (after !== undefined && after.enabled && after.failures >= DISABLE_MIN_FAILURES && after.failingSince !== null && at - after.failingSince >= this.#opts.disableAfterMs) {
      const reason = `every attempt failed for ${Math.round((at - after.failingSince) / 60_000)} min (${after.failures} in a row); last: ${result.ok ? '' : result.error}`
      await store.updateEndpoint(after.id, { enabled: false, disabledReason: reason }, at)
      log.warn({ endpoint: after.id, reason }, 'webhook endpoint disabled')
    }
  }
}
