/**
 * Admission: whether one more event stream may open, and the answers of those that may
 * not. Counted from admission (while the first snapshot is being fetched) until the
 * stream closes, so a burst of requests cannot slip past a limit while the first checks
 * run; memory is one map entry per client IP that has a stream open (entries go with
 * their last stream).
 *
 * - one stream too many from a client IP is refused *before* anything is checked, with
 *   a 429 envelope and `Retry-After`. A browser's EventSource does not retry a non-200
 *   answer: that is intended for a client that holds too many streams already (the
 *   bundled client probes the order and retries with its backoff);
 * - at the global cap, a new subscriber is *shed* without switching its EventSource off:
 *   200 `text/event-stream`, a long jittered `retry:`, a `tracking` event
 *   `{state:"degraded", reason:"OVERLOADED"}`, and the end — the browser comes back later
 *   by itself (a 503 would stop it for good);
 * - once the hub is closed (shutdown), a subscription is *turned away* with a farewell
 *   (`farewell.ts`): 200 + `retry:` + end, never a 503.
 */
import type { Clock } from '../clock.js'
import { GatewayError } from '../../errors.js'
import { epochSeconds, retryFrame, trackingFrame } from '../frames.js'
import type { SseStream } from '../sse-stream.js'
import type { HubCounters } from './counters.js'
import { farewellFrame } from './farewell.js'

/** `retry:` of a stream shed at the global cap: 10 s plus up to {@link OVERLOAD_JITTER_MS}. */
export const OVERLOAD_RETRY_MS = 10_000
/** Spread of the overload `retry:`. */
export const OVERLOAD_JITTER_MS = 10_000
/**
 * `Retry-After` of a stream refused for its client IP, seconds: a slot frees only when
 * one of that IP's streams ends, which nothing predicts; 30 s is the bundled client's
 * backoff cap.
 */
export const PER_IP_RETRY_AFTER_S = 30

/** Opens the client's stream (200 `text/event-stream`); `null` when the client already left. */
export type OpenStream = () => SseStream | null

/** Options of {@link Admission}. */
export interface AdmissionOptions {
  /** Most streams one client IP may hold. Default: no limit. */
  maxPerIp?: number | undefined
  /** Most streams the gateway may hold. Default: no limit. */
  maxTotal?: number | undefined
  clock: Clock
  /** Source of jitter. */
  random: () => number
  counters: HubCounters
}

/** Counts of open streams, and the answers to the streams refused; see the module comment. */
export class Admission {
  readonly #maxPerIp: number
  readonly #maxTotal: number
  readonly #perIp = new Map<string, number>()
  #total = 0
  readonly #clock: Clock
  readonly #random: () => number
  readonly #counters: HubCounters

  constructor (opts: AdmissionOptions) {
    this.#maxPerIp = opts.maxPerIp ?? Infinity
    this.#maxTotal = opts.maxTotal ?? Infinity
    this.#clock = opts.clock
    this.#random = opts.random
    this.#counters = opts.counters
  }

  /**
   * Admits (and counts) one more stream from `ip` (`undefined`: no per-IP limit): true,
   * and the caller {@link release}s it once the subscription fails or its stream closes.
   * Throws a 429 {@link GatewayError} for one stream too many from `ip`; sheds the
   * stream and returns false at the global cap.
   */
  admit (ip: string | undefined, open: OpenStream): boolean {
    const held = ip === undefined ? 0 : this.#perIp.get(ip) ?? 0
    if (held >= this.#maxPerIp) {
      this.#counters.streamsRefused++
      throw new GatewayError(429, 'TOO_MANY_REQUESTS', `Too many open event streams from this address (at most ${this.#maxPerIp}); close one, or retry in ${PER_IP_RETRY_AFTER_S} s`, {
        headers: { 'retry-after': String(PER_IP_RETRY_AFTER_S) }
      })
    }
    if (this.#total >= this.#maxTotal) {
      this.#shed(open)
      return false
    }
    this.#total++
    if (ip !== undefined) this.#perIp.set(ip, held + 1)
    return true
  }

  /** Uncounts a stream admitted for `ip`. */
  release (ip: string | undefined): void {
    if (this.#total > 0) this.#total--
    if (ip === undefined) return
    const held = this.#perIp.get(ip) ?? 0
    if (held <= 1) this.#perIp.delete(ip)
    else this.#perIp.set(ip, held - 1)
  }

  /** Answers a subscription while shutting down: 200, a farewell `retry:`, end (never a 503: EventSource would stop for good). */
  turnAway (open: OpenStream): void {
    const stream = open()
    if (stream === null || stream.closed) return
    stream.open(farewellFrame(this.#random))
    stream.hangUp()
    this.#counters.streamsFarewelled++
  }

  /** Answers a subscription past the global cap: 200, a long jittered `retry:`, `OVERLOADED`, end. */
  #shed (open: OpenStream): void {
    this.#counters.streamsShed++
    const stream = open()
    if (stream === null || stream.closed) return
    const retryMs = OVERLOAD_RETRY_MS + Math.round(this.#random() * OVERLOAD_JITTER_MS)
    stream.open(retryFrame(retryMs))
    stream.finish(trackingFrame({
      state: 'degraded',
      reason: 'OVERLOADED',
      message: `This gateway is following as many orders as it can; reconnecting in ${Math.round(retryMs / 1000)} s`,
      next_check_at: epochSeconds(this.#clock.now() + retryMs)
    }))
    this.#counters.eventsSent++
  }
}
