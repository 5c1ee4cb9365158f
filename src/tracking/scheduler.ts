/**
 * When to check an order next.
 *
 * The spacing of two checks of one trackcode is the largest of:
 *
 * 1. **the state-aware interval** ({@link stateInterval}): waiting for a payment is
 *    slow (`pollWaitingPaymentMs`); a payment being confirmed is watched at
 *    `pollIntervalMs`; a funded order sleeps until its earliest pending output's
 *    `send_at` (plus a little slack for upstream's once-a-minute refresh), capped at
 *    `pollMaxIntervalMs`, and is watched at `pollIntervalMs` while a sent output waits
 *    for its confirmation; Done and Gone are not checked at all. Never past the end of
 *    the order's retention, when it turns Gone.
 * 2. **the fair share of the quota** ({@link fairInterval}): the checks the rolling
 *    window still allows pollers (`limit − reserve −` what other callers used in the
 *    window) are split equally between active pollers, so that when the quota cannot
 *    serve everyone at `pollIntervalMs` every interval stretches by the same factor
 *    instead of the first pollers starving the last.
 *
 * After a failure the spacing is an exponential backoff with jitter
 * ({@link backoffDelay}); a refused quota slot waits for the moment the window frees.
 * The quota itself is enforced by `QuotaBudget.tryAcquire` in the upstream client:
 * this module only spaces checks so that refusals stay rare and fair.
 */
import type { QuotaBudget } from '../upstream/quota.js'
import type { TrackedOrder } from './status.js'

/** The poll settings of the configuration. */
export interface PollTimings {
  pollIntervalMs: number
  pollWaitingPaymentMs: number
  pollMaxIntervalMs: number
}

/** Added to a planned send time before checking, ms (upstream refreshes about once a minute). */
export const SEND_SLACK_MS = 2000

/**
 * State-aware spacing after a check that produced `order`, ms; `null` when the order
 * is finished and must not be checked again.
 */
export function stateInterval (order: TrackedOrder, nowMs: number, t: PollTimings): number | null {
  const slack = Math.min(SEND_SLACK_MS, t.pollIntervalMs)
  let delay: number
  switch (order.status) {
    case 'Done':
    case 'Gone':
      return null
    case 'WaitingForPayment':
      delay = t.pollWaitingPaymentMs
      break
    case 'Confirming':
      delay = t.pollIntervalMs
      break
    case 'WaitingForDelivery': {
      const awaitingConfirmation = order.outputs.some((o) => o.state === 2 && o.confirm !== 1)
      let earliest = Infinity
      for (const o of order.outputs) if (o.state !== 2 && typeof o.send_at === 'number' && o.send_at * 1000 < earliest) earliest = o.send_at * 1000
      if (awaitingConfirmation || earliest === Infinity) delay = t.pollIntervalMs
      else delay = Math.min(Math.max(earliest - nowMs + slack, t.pollIntervalMs), t.pollMaxIntervalMs)
      break
    }
  }
  const deleteAt = order.deposit.delete_at
  if (typeof deleteAt === 'number') delay = Math.min(delay, Math.max(deleteAt * 1000 - nowMs + slack, t.pollIntervalMs))
  return delay
}

/**
 * Spacing that lets `activePollers` share `pollBudget` checks per `windowMs` equally:
 * `activePollers × windowMs / pollBudget` (a budget of 0 counts as 1).
 */
export function fairInterval (activePollers: number, pollBudget: number, windowMs: number): number {
  if (activePollers <= 0) return 0
  return Math.ceil(activePollers * windowMs / Math.max(1, pollBudget))
}

/**
 * Delay before retrying after `failures` consecutive failed checks (1 = the first):
 * uniformly drawn between `pollIntervalMs` and `min(pollMaxIntervalMs,
 * pollIntervalMs × 2^(failures−1))` — exponential growth, jitter so pollers that failed
 * together do not retry together.
 */
export function backoffDelay (failures: number, t: PollTimings, random: () => number = Math.random): number {
  const base = t.pollIntervalMs
  const ceiling = Math.max(base, Math.min(t.pollMaxIntervalMs, base * 2 ** Math.min(Math.max(0, failures - 1), 30)))
  return Math.round(base + random() * (ceiling - base))
}

/**
 * Counts the checks pollers made in the rolling window, to tell them apart from the
 * other users of the shared quota (the REST pass-through). Memory is bounded by the
 * quota limit (no more checks can fit in the window).
 */
export class PollUsage {
  readonly #times: number[] = []
  #head = 0
  readonly #windowMs: number

  constructor (windowMs: number) {
    this.#windowMs = windowMs
  }

  /** Records a check made at `at` (epoch ms). */
  record (at: number): void {
    this.#times.push(at)
  }

  /** Checks made in the window ending at `now`. */
  count (now: number): number {
    const from = now - this.#windowMs
    while (this.#head < this.#times.length && (this.#times[this.#head] as number) <= from) this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head)
      this.#head = 0
    }
    return this.#times.length - this.#head
  }
}

/** Options of {@link PollScheduler}. */
export interface PollSchedulerOptions {
  timings: PollTimings
  quota: QuotaBudget
  /** Length of the quota's rolling window, ms. */
  windowMs: number
  /** Number of pollers sharing the budget right now. */
  activePollers: () => number
  now: () => number
  random?: () => number
}

/** Puts {@link stateInterval}, {@link fairInterval} and {@link backoffDelay} together with the live quota. */
export class PollScheduler {
  readonly timings: PollTimings
  readonly usage: PollUsage
  readonly #quota: QuotaBudget
  readonly #windowMs: number
  readonly #activePollers: () => number
  readonly #now: () => number
  readonly #random: () => number

  constructor (opts: PollSchedulerOptions) {
    this.timings = opts.timings
    this.#quota = opts.quota
    this.#windowMs = opts.windowMs
    this.#activePollers = opts.activePollers
    this.#now = opts.now
    this.#random = opts.random ?? Math.random
    this.usage = new PollUsage(opts.windowMs)
  }

  /** Checks the window still allows pollers: the general part of the quota minus what others used in it. */
  async pollBudget (): Promise<number> {
    const state = await this.#quota.state()
    const othersUsed = Math.max(0, state.used - this.usage.count(this.#now()))
    return state.limit - state.reserve - othersUsed
  }

  /** The current fair spacing of one poller's checks, ms (a lone check counts as one poller). */
  async fairInterval (): Promise<number> {
    return fairInterval(Math.max(1, this.#activePollers()), await this.pollBudget(), this.#windowMs)
  }

  /** Spacing after a successful check, made at `checkedAt`, that produced `order`; `null` → stop polling. */
  async afterSuccess (order: TrackedOrder, checkedAt: number): Promise<number | null> {
    const own = stateInterval(order, checkedAt, this.timings)
    if (own === null) return null
    return Math.max(own, await this.fairInterval())
  }

  /** Spacing after the `failures`-th consecutive failure. */
  afterFailure (failures: number): number {
    return backoffDelay(failures, this.timings, this.#random)
  }

  /**
   * Delay until a check refused by the quota can succeed: until `retryAt`, plus a
   * jitter of up to half an interval so refused pollers do not all return at once.
   */
  afterRefusal (retryAt: number): number {
    const jitter = this.#random() * this.timings.pollIntervalMs / 2
    return Math.max(retryAt - this.#now(), 0) + Math.round(jitter) + 1
  }

  /** When upstream's own TOO_MANY_REQUESTS pause ends (0 when none). */
  async pausedUntil (): Promise<number> {
    return (await this.#quota.state()).pausedUntil
  }
}
