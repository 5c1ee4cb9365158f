/**
 * A built-in simulator of the SecretCryptos API v1 (see `/work/shared/upstream-api.md`):
 * the ten `/v1` endpoints with upstream's validation rules, error envelopes, arithmetic,
 * guarantee letters, quota and order lifecycle, plus a control API (`/_sim/…`, see
 * `control.ts`) for paying and expiring orders, reading call counters and injecting faults.
 *
 * ```ts
 * const clock = createManualClock(Date.UTC(2025, 7, 20))
 * const { app, control } = await buildSimulator({ clock })
 * await app.listen({ port: 0, host: '127.0.0.1' })
 * ```
 *
 * Default timings (simulated time, see {@link DEFAULT_TIMING}): payment seen → confirmed
 * 2 min; output sent → 1 confirmation 1 min; deposit address valid 48 h (`expires_at`, as in
 * the upstream examples); retention 48 h (`delete_in_sec`).
 *
 * Choices where the upstream contract is silent:
 * - Lifecycle (`orders.ts`): a partly funded order whose payments are confirmed reads
 *   `confirm_status: 2`, `is_fully_funded: false`, `status_reason: "INSUFFICIENT_FUNDS"`
 *   (as in the upstream's second check example); `status_reason` is omitted when nothing
 *   or everything was paid.
 * - `refreshIntervalMs` (default 0 = live): check and validate report order data as of
 *   `now` rounded down to this interval, like upstream's once-a-minute refresh; the
 *   `delete_in_sec` and `left_seconds` countdowns stay live.
 * - Masked addresses show the first 4 and last 2 characters (`35iM…EL`).
 * - Exchange limits and site fee are those of the `to_network`.
 * - Quota counts accepted authenticated calls (including `/v1/validate` when a key is
 *   sent) over a rolling 24 h of simulated time; a 429 uses no quota.
 * - Guarantee letters: Base64 of `iv(12) ‖ tag(16) ‖ AES-256-GCM(JSON)`, the JSON naming the
 *   order as `track` (as the upstream's sample letter does); validate accepts `trackcode` too.
 *   `route`: mixer `deposit` → `confirm` (payment seen) → `mixing` (started); exchange
 *   `exc-deposit` → `exc-send`.
 * - Destination tags/memos are kept only for XRP (integer ≤ 2^32−1) and TON (≤ 120
 *   printable characters) and ignored (`null`) elsewhere; an omitted mixer `delay` is 0;
 *   exchange orders accept an optional `delay` (default 10 min).
 * - Status codes: 400 for BAD_REQUEST, AMOUNT_TOO_LOW/HIGH and the signature errors, 401, 403,
 *   404, 429, 503 SERVICE_UNAVAILABLE, 500 SERVER_ERROR.
 * - Networks listed in `exhaustedNetworks` have no free deposit address: creating an order
 *   that deposits on them answers 503 SERVICE_UNAVAILABLE.
 */
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { systemClock, type SimClock } from './clock.js'
import type { SimContext } from './context.js'
import { createControl, registerControlRoutes, type SimulatorControl } from './control.js'
import { FaultQueue } from './faults.js'
import { DEFAULT_TIMING, OrderStore, type SimTiming } from './orders.js'
import { QuotaTracker } from './quota.js'
import { GuaranteeSigner } from './signature.js'
import { StatsRecorder } from './stats.js'

export { createManualClock, createScaledClock } from './clock.js'
export type { ManualClock, SimClock } from './clock.js'
export type { SimOrderView, SimulatorControl } from './control.js'
export { SimControlError } from './errors.js'
export type { SimTiming } from './orders.js'

/** Options of {@link buildSimulator}. */
export interface SimulatorOptions {
  /** Accepted Bearer keys. Default `['sim-key']`. */
  apiKeys?: string[]
  /** Keys that exist but are disabled (→ 403 FORBIDDEN). Default none. */
  disabledKeys?: string[]
  /** Calls per key per rolling 24 h of simulated time; beyond → 429 TOO_MANY_REQUESTS. Default 1000. */
  dailyQuota?: number
  /** Source of simulated time. Default real time. */
  clock?: SimClock
  /** Lifecycle durations in simulated ms; see {@link DEFAULT_TIMING}. */
  timing?: Partial<SimTiming>
  /**
   * Upstream refreshes order data "about once a minute": what `/v1/orders/check` and
   * `/v1/validate` report is the state at `now` rounded down to this many simulated ms.
   * Default 0: live.
   */
  refreshIntervalMs?: number
  /** Networks that never have a free deposit address (order creation → 503 SERVICE_UNAVAILABLE). Default none. */
  exhaustedNetworks?: string[]
  /** 32-byte AES-256-GCM key for guarantee letters. Default: random per simulator. */
  signatureKey?: Buffer
  /** Fastify `logger` option. Default false. */
  logger?: boolean | object
}

/** A simulator: its server (not yet listening) and its control API. */
export interface Simulator {
  app: FastifyInstance
  control: SimulatorControl
}

function nonNegative (value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number`)
  return value
}

/** Builds a simulator. Call `app.listen()` to serve it over HTTP, or use `app.inject()`. */
export async function buildSimulator (opts: SimulatorOptions = {}): Promise<Simulator> {
  const timing: SimTiming = { ...DEFAULT_TIMING }
  for (const [name, value] of Object.entries(opts.timing ?? {})) {
    if (value !== undefined && name in timing) timing[name as keyof SimTiming] = nonNegative(value, `timing.${name}`)
  }
  const dailyQuota = opts.dailyQuota ?? 1000
  if (!Number.isInteger(dailyQuota) || dailyQuota < 0) throw new RangeError('dailyQuota must be a non-negative integer')
  const ctx: SimContext = {
    clock: opts.clock ?? systemClock,
    timing,
    refreshIntervalMs: nonNegative(opts.refreshIntervalMs ?? 0, 'refreshIntervalMs'),
    store: new OrderStore(timing.retentionMs),
    signer: new GuaranteeSigner(opts.signatureKey),
    exhaustedNetworks: new Set((opts.exhaustedNetworks ?? []).map((n) => n.toLowerCase()))
  }
  const quota = new QuotaTracker(dailyQuota)
  const stats = new StatsRecorder()
  const faults = new FaultQueue()
  const app = buildApp({
    ctx,
    apiKeys: new Set(opts.apiKeys ?? ['sim-key']),
    disabledKeys: new Set(opts.disabledKeys ?? []),
    quota,
    stats,
    faults,
    logger: opts.logger ?? false
  })
  const control = createControl({ ctx, quota, stats, faults })
  registerControlRoutes(app, control)
  await app.ready()
  return { app, control }
}
