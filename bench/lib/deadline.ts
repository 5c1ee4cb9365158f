/**
 * A benchmark's time limit: what is left of it, and waits capped by it.
 */
import { monoMs } from './time.js'

/** Throws `<what>: time limit reached` once `ms` have passed since it was made. */
export class Deadline {
  readonly #at: number
  readonly #what: string
  constructor (ms: number, what: string) {
    this.#at = monoMs() + ms
    this.#what = what
  }

  /** Milliseconds left (throws when none). */
  left (): number {
    const left = this.#at - monoMs()
    if (left <= 0) throw new Error(`${this.#what}: time limit reached`)
    return left
  }

  /** `ms`, capped by what is left. */
  cap (ms: number): number {
    return Math.max(1, Math.min(ms, this.left()))
  }
}
