/**
 * Confirmation lags, learned online: how long upstream takes from a payment seen to
 * the deposit confirmed (`deposit`), and from an output sent to its first confirmation
 * (`output`). Chains vary, so each kind keeps its recent observations and answers with
 * their distribution: a tight one makes an appointment (check once, when the lag has
 * surely passed), a loose or unknown one leaves the confirmation to the watch, with the
 * hazard the distribution gives.
 *
 * An observation is interval-censored on both ends (the start was seen between two
 * checks, the end too): it is recorded as the difference of the midpoints, and its
 * width is kept so that a wide observation does not pass for a precise one.
 *
 * Each observation also bounds the lag: it lies in `[end from − start to, end to −
 * start from]`. While the bounds of the recent observations all overlap (a chain whose
 * lag barely varies), their intersection is the lag, however wide each observation was
 * (a payment found late by the watch still bounds it): its upper end makes the
 * appointment. Observations too wide for the midpoints (`maxWidthMs`) still give bounds
 * up to {@link BOUND_WIDTH_FACTOR} times that width.
 */

/** What is learned. */
export type LagKind = 'deposit' | 'output'

/** Observations kept per kind. */
const KEEP = 64
/** Observations needed before a distribution is used. */
const MIN_OBSERVATIONS = 3
/** Observations up to this many times `maxWidthMs` wide still bound the lag. */
const BOUND_WIDTH_FACTOR = 15

/** The lags of both kinds; see the module comment. */
export class ConfirmationLags {
  readonly #lags: Record<LagKind, number[]> = { deposit: [], output: [] }
  readonly #bounds: Record<LagKind, Array<[number, number]>> = { deposit: [], output: [] }

  /**
   * Records a lag: the state started in `(startFrom, startTo]` and ended in
   * `(endFrom, endTo]` (epoch ms). Observations wider than `maxWidthMs` on either end
   * are dropped (they say little).
   */
  record (kind: LagKind, start: [number, number], end: [number, number], maxWidthMs: number): void {
    const width = Math.max(start[1] - start[0], end[1] - end[0])
    if (width <= BOUND_WIDTH_FACTOR * maxWidthMs && end[1] - start[0] >= 0) {
      const bounds = this.#bounds[kind]
      bounds.push([Math.max(0, end[0] - start[1]), end[1] - start[0]])
      if (bounds.length > KEEP) bounds.shift()
    }
    if (width > maxWidthMs) return
    const lag = (end[0] + end[1]) / 2 - (start[0] + start[1]) / 2
    if (!(lag >= 0)) return
    const list = this.#lags[kind]
    list.push(lag)
    if (list.length > KEEP) list.shift()
  }

  /** Observations of `kind` kept. */
  count (kind: LagKind): number {
    return this.#lags[kind].length
  }

  /** The `q`-quantile of the lags of `kind`, ms; undefined while too few are known. */
  quantile (kind: LagKind, q: number): number | undefined {
    const list = this.#lags[kind]
    if (list.length < MIN_OBSERVATIONS) return undefined
    const sorted = [...list].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
  }

  /**
   * The lag after which a confirmation of `kind` has almost surely happened, when the
   * lags are tight enough to plan on (their 10–90 % spread within `spreadMs`); else
   * undefined (leave it to the watch).
   */
  appointmentLag (kind: LagKind, spreadMs: number): number | undefined {
    const lo = this.quantile(kind, 0.1)
    const hi = this.quantile(kind, 0.9)
    if (lo !== undefined && hi !== undefined && hi - lo <= spreadMs) return hi
    const bounds = this.#bounds[kind]
    if (bounds.length >= MIN_OBSERVATIONS) {
      let lower = 0
      let upper = Infinity
      for (const [l, u] of bounds) {
        lower = Math.max(lower, l)
        upper = Math.min(upper, u)
      }
      if (lower <= upper && upper - lower <= spreadMs) return upper
    }
    return undefined
  }

  /**
   * Hazard of a confirmation of `kind`, per ms, `elapsedMs` after its start: the
   * learned distribution's (share of lags ending within the next `windowMs` among those
   * not ended yet, smoothed), else `1 ÷ fallbackMs`.
   */
  hazard (kind: LagKind, elapsedMs: number, windowMs: number, fallbackMs: number): number {
    const list = this.#lags[kind]
    if (list.length < MIN_OBSERVATIONS) return 1 / fallbackMs
    let surviving = 1
    let ending = 0.5 * windowMs / fallbackMs
    for (const lag of list) {
      if (lag >= elapsedMs) {
        surviving++
        if (lag < elapsedMs + windowMs) ending++
      }
    }
    return ending / surviving / windowMs
  }
}
