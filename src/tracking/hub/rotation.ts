/**
 * Stream rotation: every stream is ended after its maximum lifetime (minus up to 20 %
 * jitter, so streams opened together do not rotate together) with a farewell's short
 * `retry:` (`farewell.ts`): the browser reconnects at once with `Last-Event-ID` and
 * gets no duplicate.
 *
 * One sweep timer serves every stream (like the heartbeat): a stream only carries the
 * moment it is due, and the sweep, every {@link Rotation.periodMs}, ends those whose
 * moment has come. A timer per stream would cost each of thousands of streams a
 * `Timeout`, a timer-list entry and a closure. Due moments are set one period early, so
 * that no stream outlives its maximum lifetime.
 */
import { performance } from 'node:perf_hooks'

/** Part of the maximum lifetime taken off at random, so that streams opened together rotate apart. */
export const LIFETIME_JITTER = 0.2

/** The sweep runs every 1/20 of the maximum lifetime, within these bounds, ms. */
const MIN_PERIOD_MS = 50
const MAX_PERIOD_MS = 60_000

/** Due moments of streams and the sweep that ends them, in real time. */
export class Rotation {
  readonly #maxLifetimeMs: number
  readonly #random: () => number
  readonly #sweep: (now: number) => void
  /** Time between two sweeps, ms (Infinity: streams live for ever). */
  readonly periodMs: number
  #timer: NodeJS.Timeout | null = null

  /**
   * `maxLifetimeMs` undefined or infinite: streams are never rotated. `sweep` is
   * called with the current time ({@link now}) and ends the streams due by then.
   */
  constructor (maxLifetimeMs: number | undefined, random: () => number, sweep: (now: number) => void) {
    this.#maxLifetimeMs = maxLifetimeMs === undefined || !Number.isFinite(maxLifetimeMs) ? Infinity : maxLifetimeMs
    this.#random = random
    this.#sweep = sweep
    this.periodMs = Number.isFinite(this.#maxLifetimeMs) ? Math.min(MAX_PERIOD_MS, Math.max(MIN_PERIOD_MS, Math.round(this.#maxLifetimeMs / 20))) : Infinity
  }

  /** The time the sweeps compare due moments with, ms. */
  now (): number {
    return performance.now()
  }

  /** When a stream opened now is due; Infinity when streams live for ever. */
  due (): number {
    if (!Number.isFinite(this.#maxLifetimeMs)) return Infinity
    const lifetime = this.#maxLifetimeMs * (1 - LIFETIME_JITTER * this.#random())
    return this.now() + Math.max(0, lifetime - this.periodMs)
  }

  /** Starts the sweep unless it runs (or streams live for ever). */
  start (): void {
    if (this.#timer !== null || !Number.isFinite(this.periodMs)) return
    this.#timer = setInterval(() => { this.#sweep(this.now()) }, this.periodMs)
    this.#timer.unref()
  }

  stop (): void {
    if (this.#timer === null) return
    clearInterval(this.#timer)
    this.#timer = null
  }
}
