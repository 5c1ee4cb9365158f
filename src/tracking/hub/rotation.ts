/**
 * Stream rotation: every stream is ended after its maximum lifetime (minus up to 20 %
 * jitter, so streams opened together do not rotate together) with a farewell's short
 * `retry:` (`farewell.ts`): the browser reconnects at once with `Last-Event-ID` and
 * gets no duplicate.
 */

/** Part of the maximum lifetime taken off at random, so that streams opened together rotate apart. */
export const LIFETIME_JITTER = 0.2

/** Timers that end streams at their maximum lifetime, in real time. */
export class Rotation {
  readonly #maxLifetimeMs: number | undefined
  readonly #random: () => number

  /** `maxLifetimeMs` undefined or infinite: streams are never rotated. */
  constructor (maxLifetimeMs: number | undefined, random: () => number) {
    this.#maxLifetimeMs = maxLifetimeMs
    this.#random = random
  }

  /** Calls `rotate` once a new stream's lifetime (less a random part of it) is over; `null` when streams live for ever. */
  schedule (rotate: () => void): NodeJS.Timeout | null {
    const max = this.#maxLifetimeMs
    if (max === undefined || !Number.isFinite(max)) return null
    const timer = setTimeout(rotate, Math.max(0, Math.round(max * (1 - LIFETIME_JITTER * this.#random()))))
    timer.unref()
    return timer
  }

  /** Cancels a timer from {@link schedule} (the stream ended first). */
  cancel (timer: NodeJS.Timeout | null): void {
    if (timer !== null) clearTimeout(timer)
  }
}
