/**
 * Simulated time.
 *
 * The simulator never uses timers for its order lifecycle: every state is derived
 * from `clock.now()` when asked. Swapping the clock therefore speeds up, slows down or
 * freezes the whole upstream.
 */

/** A source of (simulated) time. */
export interface SimClock {
  /** Current simulated time, epoch milliseconds. */
  now (): number
}

/** A clock whose time only moves when told to (for deterministic tests). */
export interface ManualClock extends SimClock {
  /** Jumps to an absolute epoch-ms time. */
  set (ms: number): void
  /** Moves time forward by `ms` milliseconds. */
  advance (ms: number): void
}

/** A clock that runs `scale` times faster than real time. */
export interface ScaledClock extends SimClock {
  readonly scale: number
}

/** Real wall-clock time. */
export const systemClock: SimClock = Object.freeze({ now: () => Date.now() })

/**
 * Creates a clock that starts at `start` (default: now) and runs `scale`× faster than
 * real time: with `scale = 60` one real second is one simulated minute.
 */
export function createScaledClock (scale: number, start = Date.now()): ScaledClock {
  if (!Number.isFinite(scale) || scale <= 0) throw new RangeError('scale must be a positive number')
  const origin = performance.now()
  return {
    scale,
    now: () => Math.floor(start + (performance.now() - origin) * scale)
  }
}

/** Creates a manual clock starting at `start` (default: now). */
export function createManualClock (start = Date.now()): ManualClock {
  let current = start
  return {
    now: () => current,
    set (ms: number) { current = ms },
    advance (ms: number) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError('advance() needs a non-negative number of ms')
      current += ms
    }
  }
}

/** True when the clock can be moved by hand. */
export function isManualClock (clock: SimClock): clock is ManualClock {
  return typeof (clock as Partial<ManualClock>).advance === 'function' &&
    typeof (clock as Partial<ManualClock>).set === 'function'
}
