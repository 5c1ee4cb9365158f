/**
 * What counts as an upstream-visible change of an order: its deposit status, the
 * amount received, whether it is funded, and each output's `state` and `confirm` —
 * everything in a check but the ticking countdowns (and the send times, which appear
 * together with `can_start`). `GONE` once upstream no longer knows the order.
 */
import type { SimOrderView } from '../../src/simulator/index.js'

/** The signature of an order that upstream forgot. */
export const GONE = 'GONE'

/** The signature of an order as the simulator's control API shows it (live). */
export function signatureOfView (view: SimOrderView): string {
  return `cs=${view.confirmStatus}|rcv=${view.received}|funded=${String(view.fullyFunded)}|out=${view.outputs.map((o) => `${o.state}.${o.confirm}`).join(',')}`
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The signature of a check answer or of a trackgate snapshot (same fields);
 * `status: "Gone"` snapshots are {@link GONE}. Throws on a shape without the fields.
 */
export function signatureOfCheck (body: unknown): string {
  if (!isObject(body)) throw new TypeError('not an object')
  if (body.status === 'Gone') return GONE
  const deposit = body.deposit
  if (!isObject(deposit) || !isObject(deposit.funding) || !Array.isArray(body.outputs)) throw new TypeError('not a full check')
  const outputs = (body.outputs as unknown[]).map((o) => isObject(o) ? `${String(o.state)}.${String(o.confirm)}` : '?')
  return `cs=${String(deposit.confirm_status)}|rcv=${String(deposit.funding.received_balance)}|funded=${String(deposit.funding.is_fully_funded)}|out=${outputs.join(',')}`
}
