/**
 * Upstream's refresh phase, learned online. Order data upstream is refreshed about once
 * a period (`periodMs`, a minute); a change that happened at `e` becomes visible at the
 * first refresh tick after `e`. The tick times are `phase + k × period`; the phase is
 * not assumed (not whole minutes): it is learned from what checks show.
 *
 * The period is cut into `bins` candidate phases, each with a penalty: an observation
 * "a tick happened in (a, b]" (a change seen at `b` that was not there at `a`, or a
 * planned send seen done at `b` while planned for `a`) penalizes the phases outside the
 * arc; "no tick in (a, b]" (a planned send at `a` still not done at `b`) penalizes those
 * inside. The phases with the least penalty are the feasible ones, so one odd
 * observation (upstream late once) does not lock the model on a wrong phase, and a
 * drifting upstream is followed. Observations spanning a whole period or more carry no
 * information and are ignored.
 */

/** Options of {@link RefreshPhase}. */
export interface RefreshPhaseOptions {
  /** Upstream's refresh period, ms. */
  periodMs: number
  /** Resolution of the phase (candidate phases per period). Default: one per second, at least 4. */
  bins?: number
}

/** Penalties decay by this factor per observation, so old evidence fades. */
const DECAY = 0.98

/** The phase model; see the module comment. */
export class RefreshPhase {
  readonly periodMs: number
  readonly #bins: number
  readonly #binMs: number
  readonly #penalty: Float64Array
  #observations = 0

  constructor (opts: RefreshPhaseOptions) {
    this.periodMs = Math.max(1, opts.periodMs)
    this.#bins = Math.max(4, Math.min(600, opts.bins ?? Math.round(this.periodMs / 1000)))
    this.#binMs = this.periodMs / this.#bins
    this.#penalty = new Float64Array(this.#bins)
  }

  /** Observations that narrowed the phase so far. */
  get observations (): number {
    return this.#observations
  }

  /** Width of one candidate phase, ms (the model's resolution). */
  get resolutionMs (): number {
    return this.#binMs
  }

  /** A tick happened in `(from, to]` (epoch ms). */
  tickIn (from: number, to: number): void {
    this.#observe(from, to, true)
  }

  /** No tick happened in `(from, to]`. */
  noTickIn (from: number, to: number): void {
    this.#observe(from, to, false)
  }

  /** The candidate phases (bin indexes) with the least penalty. */
  #feasible (): number[] {
    let best = Infinity
    for (const p of this.#penalty) best = Math.min(best, p)
    const out: number[] = []
    for (let i = 0; i < this.#bins; i++) if ((this.#penalty[i] as number) <= best + 1e-9) out.push(i)
    return out
  }

  /** Part of the period still feasible (1: nothing learned). */
  uncertainty (): number {
    return this.#feasible().length / this.#bins
  }

  /**
   * The first tick after `t` under each feasible phase, ascending (ms). A phase bin
   * covers `[i × bin, (i + 1) × bin)`: its tick is taken at the bin's end, so a check
   * at a returned time is after the tick whatever the phase within the bin.
   */
  ticksAfter (t: number): number[] {
    const out: number[] = []
    for (const i of this.#feasible()) out.push(firstAfter(t, (i + 1) * this.#binMs, this.periodMs))
    return out.sort((a, b) => a - b)
  }

  /** When a change made at `t` is surely visible: the latest feasible first tick after `t`. */
  surelyVisibleAfter (t: number): number {
    const ticks = this.ticksAfter(t)
    return ticks[ticks.length - 1] ?? t + this.periodMs
  }

  /**
   * When to look for a change made at `t`, learning the phase as it goes: the median
   * feasible first tick after `t` (a binary search over the phases still feasible: if
   * the change is not there yet, {@link noTickIn} halves them). Once the phase is known
   * this is the one tick after `t`.
   */
  probeAfter (t: number): number {
    const ticks = this.ticksAfter(t)
    if (ticks.length === 0) return t + this.periodMs
    return ticks[Math.floor((ticks.length - 1) / 2)] as number
  }

  /**
   * The next tick after `t` under the most likely phase (for pacing the watch, and the
   * freshness of every snapshot the polling fallback serves): the least of
   * {@link ticksAfter}, found in one pass without building and sorting the list.
   */
  nextTick (t: number): number {
    let best = Infinity
    for (const p of this.#penalty) best = Math.min(best, p)
    let next = Infinity
    for (let i = 0; i < this.#bins; i++) {
      if ((this.#penalty[i] as number) <= best + 1e-9) next = Math.min(next, firstAfter(t, (i + 1) * this.#binMs, this.periodMs))
    }
    return next === Infinity ? t + this.periodMs : next
  }

  #observe (from: number, to: number, inside: boolean): void {
    if (!(to > from) || to - from >= this.periodMs) return
    this.#observations++
    for (let i = 0; i < this.#bins; i++) {
      // The tick of bin i (at its end, as in ticksAfter) within (from, to]?
      const tick = firstAfter(from, (i + 1) * this.#binMs, this.periodMs)
      const hit = tick <= to
      this.#penalty[i] = (this.#penalty[i] as number) * DECAY + (hit === inside ? 0 : 1)
    }
  }
}

/** The first time strictly after `t` congruent to `phase` modulo `period`. */
function firstAfter (t: number, phase: number, period: number): number {
  const k = Math.floor((t - phase) / period) + 1
  return phase + k * period
}
