/**
 * The orders of a simulated run: when each is created, paid and how its outputs are
 * delayed — drawn from a seeded generator, so trackgate and every baseline face exactly
 * the same orders.
 *
 * Lifecycle mix (see {@link WorkloadShape}):
 * - a steady stream: `k` orders per 24 h on average (Poisson arrivals) over
 *   `arrivalMs` (several days), not a burst at the start of a fresh quota window;
 * - paid 2–60 min after creation; a share pays part (50–90 %) first and tops up
 *   10–60 min later; a share never pays and its customer closes the page after
 *   `abandonAfterMs` (nothing is tracked any more, nothing changes meanwhile);
 * - 1–3 outputs, each delayed: 50 % 0–60 min, 30 % 1–12 h, 20 % 12–48 h (upstream's
 *   maximum). Upstream forgets an order 48 h after its creation, so an output delayed
 *   close to 48 h after a late start is never seen sent: the order goes `Gone`;
 * - the customer's page follows the order from its creation until `Done` or `Gone`.
 */
import { randomInt, seededRandom } from './prng.js'

/** One payment: `fraction` of the deposit (1 = whatever is still missing). */
export interface PlannedPayment {
  /** Ms after the start of the run. */
  at: number
  fraction: number
}

/** One order of the run. */
export interface PlannedOrder {
  /** Ms after the start of the run. */
  createAt: number
  payments: PlannedPayment[]
  /** Output delays, minutes (upstream: at most 2880). */
  delaysMin: number[]
  /** Ms after the start when the customer stops following it; `null`: until Done or Gone. */
  leaveAt: number | null
}

/** Parameters of the run's orders. */
export interface WorkloadShape {
  /** Orders created per 24 h, on average. */
  k: number
  seed: number
  /** Orders keep arriving over this many ms from the start. */
  arrivalMs: number
  /** Share of orders never paid. */
  neverPaidShare: number
  /** Share of paid orders paid in two parts. */
  partialShare: number
  /** How long the page of a never-paid order stays open. */
  abandonAfterMs: number
  /** Cap on output delays, minutes (2880 for the real run; small for a smoke run). */
  maxDelayMin: number
}

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE

/** A delay in minutes: 50 % short (0–60 min), 30 % hours (1–12 h), 20 % long (12–48 h); capped. */
function outputDelay (random: () => number, cap: number): number {
  const r = random()
  let minutes: number
  if (r < 0.5) minutes = randomInt(random, 0, 60)
  else if (r < 0.8) minutes = randomInt(random, 60, 720)
  else minutes = randomInt(random, 720, 2880)
  return Math.min(minutes, cap)
}

/** Draws the run's orders, sorted by creation time. */
export function planWorkload (shape: WorkloadShape): PlannedOrder[] {
  const random = seededRandom(shape.seed)
  const orders: PlannedOrder[] = []
  const meanGap = DAY / shape.k
  // Poisson arrivals: exponential gaps (at least 1 ms apart).
  for (let createAt = Math.ceil(-Math.log(1 - random()) * meanGap); createAt < shape.arrivalMs; createAt += 1 + Math.floor(-Math.log(1 - random()) * meanGap)) {
    const neverPaid = random() < shape.neverPaidShare
    const payments: PlannedPayment[] = []
    if (!neverPaid) {
      const first = createAt + randomInt(random, 2 * MINUTE, 60 * MINUTE)
      if (random() < shape.partialShare) {
        payments.push({ at: first, fraction: randomInt(random, 50, 90) / 100 })
        payments.push({ at: first + randomInt(random, 10 * MINUTE, 60 * MINUTE), fraction: 1 })
      } else {
        payments.push({ at: first, fraction: 1 })
      }
    }
    const outputs = randomInt(random, 1, 3)
    const delaysMin = Array.from({ length: outputs }, () => outputDelay(random, shape.maxDelayMin))
    orders.push({ createAt, payments, delaysMin, leaveAt: neverPaid ? createAt + shape.abandonAfterMs : null })
  }
  return orders
}
