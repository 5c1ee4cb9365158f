/**
 * The orders of a simulated day: when each is created, paid and how its outputs are
 * delayed — drawn from a seeded generator, so trackgate and the baseline face exactly
 * the same day.
 *
 * Lifecycle mix (see {@link WorkloadShape}):
 * - created at a random instant of the creation window;
 * - paid 2–60 min after creation; a share pays part (50–90 %) first and tops up
 *   10–60 min later; a share never pays and its customer closes the page after
 *   `abandonAfterMs` (nothing is tracked any more, nothing changes meanwhile);
 * - 1–3 outputs, each delayed: 50 % 0–60 min, 30 % 1–12 h, 20 % 12–48 h (upstream's
 *   maximum). Upstream forgets an order 48 h after its creation, so an output delayed
 *   close to 48 h after a late start is never seen sent: the order goes `Gone`.
 * - the customer's page follows the order from its creation until `Done` or `Gone`.
 *
 * Every instant is kept off the upstream's refresh ticks (whole minutes), so what a
 * check shows at a tick is never ambiguous.
 */
import { randomInt, seededRandom } from './prng.js'

/** One payment: `fraction` of the deposit (1 = whatever is still missing). */
export interface PlannedPayment {
  /** Ms after the start of the day. */
  at: number
  fraction: number
}

/** One order of the day. */
export interface PlannedOrder {
  /** Ms after the start of the day. */
  createAt: number
  payments: PlannedPayment[]
  /** Output delays, minutes (upstream: at most 2880). */
  delaysMin: number[]
  /** Ms after the start of the day when the customer stops following it; `null`: until Done or Gone. */
  leaveAt: number | null
}

/** Parameters of the day. */
export interface WorkloadShape {
  /** Orders. */
  k: number
  seed: number
  /** Orders are created over this many ms from the start. */
  creationWindowMs: number
  /** Share of orders never paid. */
  neverPaidShare: number
  /** Share of paid orders paid in two parts. */
  partialShare: number
  /** How long the page of a never-paid order stays open. */
  abandonAfterMs: number
  /** Cap on output delays, minutes (2880 for the real day; small for a smoke run). */
  maxDelayMin: number
}

const MINUTE = 60_000

/** Moves `t` off a whole minute (upstream's refresh ticks). */
function offTick (t: number): number {
  return t % MINUTE === 0 ? t + 1 : t
}

/** A delay in minutes: 50 % short (0–60 min), 30 % hours (1–12 h), 20 % long (12–48 h); capped. */
function outputDelay (random: () => number, cap: number): number {
  const r = random()
  let minutes: number
  if (r < 0.5) minutes = randomInt(random, 0, 60)
  else if (r < 0.8) minutes = randomInt(random, 60, 720)
  else minutes = randomInt(random, 720, 2880)
  return Math.min(minutes, cap)
}

/** Draws the day's orders, sorted by creation time. */
export function planWorkload (shape: WorkloadShape): PlannedOrder[] {
  const random = seededRandom(shape.seed)
  const orders: PlannedOrder[] = []
  for (let i = 0; i < shape.k; i++) {
    const createAt = offTick(1 + Math.floor(random() * shape.creationWindowMs))
    const neverPaid = random() < shape.neverPaidShare
    const payments: PlannedPayment[] = []
    if (!neverPaid) {
      const first = offTick(createAt + randomInt(random, 2 * MINUTE, 60 * MINUTE))
      if (random() < shape.partialShare) {
        payments.push({ at: first, fraction: randomInt(random, 50, 90) / 100 })
        payments.push({ at: offTick(first + randomInt(random, 10 * MINUTE, 60 * MINUTE)), fraction: 1 })
      } else {
        payments.push({ at: first, fraction: 1 })
      }
    }
    const outputs = randomInt(random, 1, 3)
    const delaysMin = Array.from({ length: outputs }, () => outputDelay(random, shape.maxDelayMin))
    orders.push({ createAt, payments, delaysMin, leaveAt: neverPaid ? createAt + shape.abandonAfterMs : null })
  }
  return orders.sort((a, b) => a.createAt - b.createAt)
}
