/**
 * Virtual time for simulations and deterministic tests: one clock can drive the
 * simulated upstream and the gateway's tracking code, so a simulated day runs in
 * seconds (the quota benchmark, the fair-share tests).
 *
 * Time moves only in {@link VirtualClock.runUntil}: timers fire in time order and,
 * after each one, every piece of work it set off — promise chains and the in-process
 * upstream calls registered with {@link VirtualClock.track} — completes before time
 * moves on. An upstream call therefore takes no virtual time.
 */
import type { Clock, TimerHandle } from '../../src/tracking/clock.js'

interface Timer {
  id: number
  at: number
  fn: () => void
}

/** A {@link Clock} whose time only moves when its owner runs it. */
export class VirtualClock implements Clock {
  #now: number
  #seq = 0
  #inflight = 0
  readonly #timers = new Map<number, Timer>()

  constructor (start: number) {
    this.#now = start
  }

  now (): number {
    return this.#now
  }

  setTimeout (fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), fn })
    return id
  }

  clearTimeout (handle: TimerHandle): void {
    this.#timers.delete(handle as number)
  }

  /** Runs `fn` at the absolute time `at` (at once if it is past). */
  at (at: number, fn: () => void): TimerHandle {
    return this.setTimeout(fn, at - this.#now)
  }

  /** Registers work time must wait for (e.g. an in-process upstream call); returns it. */
  track<T> (work: Promise<T>): Promise<T> {
    this.#inflight++
    const done = (): void => { this.#inflight-- }
    work.then(done, done)
    return work
  }

  /** Lets every promise chain and tracked piece of work started so far settle. */
  async settle (): Promise<void> {
    do {
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
    } while (this.#inflight > 0)
  }

  /** Fires, in time order, every timer due up to `until` (including those armed meanwhile), then sets the time to `until`. */
  async runUntil (until: number): Promise<void> {
    await this.settle()
    for (;;) {
      let next: Timer | undefined
      for (const timer of this.#timers.values()) {
        if (timer.at <= until && (next === undefined || timer.at < next.at || (timer.at === next.at && timer.id < next.id))) next = timer
      }
      if (next === undefined) break
      this.#timers.delete(next.id)
      this.#now = Math.max(this.#now, next.at)
      next.fn()
      await this.settle()
    }
    this.#now = Math.max(this.#now, until)
  }
}
