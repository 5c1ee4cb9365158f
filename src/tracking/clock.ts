/**
 * Time as the tracker sees it.
 *
 * Everything in `src/tracking/` reads the time and arms timers through a {@link Clock},
 * never through `Date.now()` or `setTimeout` directly, so a benchmark can run a
 * simulated day in accelerated time and tests can pair the tracker with a simulated
 * upstream clock.
 */

/** An armed timer, as returned by {@link Clock.setTimeout}. Opaque to callers. */
export type TimerHandle = unknown

/** A source of time and timers. */
export interface Clock {
  /** Current time, epoch milliseconds. */
  now (): number
  /** Calls `fn` once after `ms` milliseconds of this clock's time. Must not keep the process alive. */
  setTimeout (fn: () => void, ms: number): TimerHandle
  clearTimeout (handle: TimerHandle): void
}

/** Largest delay Node's timers accept (about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647

/** Wall-clock time and Node timers, unref'd: a pending check never holds the process open. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout (fn: () => void, ms: number): TimerHandle {
    const timer = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS))
    timer.unref()
    return timer
  },
  clearTimeout (handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout)
  }
})

/**
 * A clock whose time comes from `now` (e.g. a simulator's manual or scaled clock) and
 * whose timers run `scale` times faster than real time (1 = real-time timers).
 */
export function derivedClock (now: () => number, scale = 1): Clock {
  if (!Number.isFinite(scale) || scale <= 0) throw new RangeError('scale must be a positive number')
  return {
    now,
    setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms / scale),
    clearTimeout: (handle) => { systemClock.clearTimeout(handle) }
  }
}
