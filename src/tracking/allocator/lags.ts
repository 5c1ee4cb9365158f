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
 */

/** What is learned. */
export type LagKind = 'deposit' | 'output'

/** Observations kept per kind. */
const KEEP = 64
/** Observations needed before a distribution is used. */
const MIN_OBSERVATIONS = 3

/** The lags of both kinds; see the module comment. */
export class ConfirmationLags {
  readonly #lags: Record<LagKind, number[]> = { deposit: [], output: [] }

  /**
   * Records a lag: the state started in `(startFrom, startTo]` and ended in
   * `(endFrom, endTo]` (epoch ms). Observations wider than `maxWidthMs` on either end
   * are dropped (they say little).
   */
  record (kind: LagKind, start: [number, number], end: [number, number], maxWidthMs: number): void {
    if (start[1] - start[0] > maxWidthMs || end[1] - end[0] > maxWidthMs) return
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
    if (lo === undefined || hi === undefined || hi - lo > spreadMs) return undefined
    return hi
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
