/**
 * Upstream's refresh schedule in the benchmark's world: "about once a minute", not on
 * whole minutes — a phase offset drawn per run, and each tick late by a jitter drawn
 * per tick (0 to `jitterMs`). Order data a check reports is as of the last tick.
 */
import { seededRandom } from './prng.js'

/** The refresh ticks of one run. */
export class RefreshTicks {
  readonly periodMs: number
  readonly phaseMs: number
  readonly jitterMs: number
  readonly #start: number
  readonly #seed: number

  constructor (start: number, periodMs: number, phaseMs: number, jitterMs: number, seed: number) {
    this.#start = start
    this.periodMs = periodMs
    this.phaseMs = phaseMs
    this.jitterMs = jitterMs
    this.#seed = seed
  }

  /** The instant of tick `n` (n ≥ 0). */
  tick (n: number): number {
    // A jitter per tick that does not depend on the order ticks are asked for.
    const jitter = Math.floor(seededRandom((this.#seed ^ Math.imul(n + 1, 0x9E3779B1)) >>> 0)() * this.jitterMs)
    return this.#start + this.phaseMs + n * this.periodMs + jitter
  }

  /** The last tick at or before `t` (the start when none yet). */
  lastTick (t: number): number {
    let n = Math.floor((t - this.#start - this.phaseMs) / this.periodMs)
    if (n < 0) return this.#start
    if (this.tick(n) > t) n--
    return n < 0 ? this.#start : this.tick(n)
  }

  /** The first tick after `t`. */
  nextTick (t: number): number {
    let n = Math.max(0, Math.floor((t - this.#start - this.phaseMs) / this.periodMs))
    while (this.tick(n) <= t) n++
    return this.tick(n)
  }
}
