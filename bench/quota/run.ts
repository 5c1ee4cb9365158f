/**
 * The quota-efficiency benchmark as a function: for each K (orders created per 24 h)
 * and each seed, the same run of several days (same orders, same refresh ticks, same
 * lags) once per tracker — trackgate's allocator and the baselines: round-robin at the
 * poll partition's rate, fixed intervals (the best one found with hindsight is the
 * baseline), the previous scheduler, and the unlimited 60 s poller (the reference of
 * demand). Figures pooled over the seeds, per kind of change and all kinds together.
 */
import { performance } from 'node:perf_hooks'
import { defaultConfig } from '../../src/config.js'
import { DAY_MS, DEFAULT_POLL_SHARE } from '../../src/state/quota/index.js'
import { ratio } from '../lib/stats.js'
import { fixedIntervalTracker, BASELINE_INTERVAL_MS } from './baselines/fixed-interval.js'
import { previousTracker } from './baselines/previous-tracker.js'
import { roundRobinTracker } from './baselines/round-robin.js'
import { CHANGE_KINDS, changeDelays, delayFigures, maxInWindow, type ChangeDelay, type ChangeKindName } from './detection.js'
import { randomInt, seededRandom } from './prng.js'
import { trackgateTracker } from './trackgate-tracker.js'
import { planWorkload, type WorkloadShape } from './workload.js'
import { pollLimit, runDay, T0, type Tracker, type WorldContext, type WorldSettings } from './world.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
/** A quota no run of these sizes reaches. */
const UNLIMITED = 100_000_000

/** Sizes of a run. */
export interface QuotaBenchOptions {
  ks: number[]
  seeds: number[]
  smoke: boolean
  /** The daily quota (the poll partition is `pollShare` of it). */
  quotaLimit?: number
  /** Poll share of the quota (default: the configuration's default, `DEFAULT_POLL_SHARE`). */
  pollShare?: number
}

/** The run's orders and world for `k` and `seed`. */
export function shapeFor (k: number, seed: number, smoke: boolean, quotaLimit = 1000, pollShare = DEFAULT_POLL_SHARE): { shape: WorkloadShape, settings: WorldSettings } {
  const random = seededRandom(seed ^ 0xC0FFEE)
  // Lags and the refresh phase vary from run to run.
  const confirmMs = randomInt(random, 10, 40) * MINUTE
  const outputConfirmMs = randomInt(random, 5, 30) * MINUTE
  const phaseMs = randomInt(random, 0, 59_999)
  // Creations have their own partition, large enough for K orders a day (Poisson: + margin).
  const quotaReserve = Math.min(quotaLimit - Math.floor(quotaLimit * pollShare), Math.max(50, Math.ceil(k * 1.5)))
  if (smoke) {
    return {
      shape: { k, seed, arrivalMs: 4 * HOUR, neverPaidShare: 0.1, partialShare: 0.3, abandonAfterMs: 30 * MINUTE, maxDelayMin: 30 },
      settings: { quotaLimit, quotaReserve, pollShare, confirmMs: 5 * MINUTE, outputConfirmMs: 3 * MINUTE, phaseMs, jitterMs: 5000, warmupMs: 0, horizonMs: 6 * HOUR }
    }
  }
  // Three days of arrivals; the first day (a fresh window) is not measured; orders
  // are forgotten 48 h after creation: all is over 50 h after the last arrival.
  return {
    shape: { k, seed, arrivalMs: 3 * DAY_MS, neverPaidShare: 0.1, partialShare: 0.2, abandonAfterMs: 2 * HOUR, maxDelayMin: 2880 },
    settings: { quotaLimit, quotaReserve, pollShare, confirmMs, outputConfirmMs, phaseMs, jitterMs: 5000, warmupMs: DAY_MS, horizonMs: 3 * DAY_MS + 50 * HOUR }
  }
}

/** Delay figures of a set of changes. */
export interface Delays {
  changes: number
  missed: number
  p50Ms: number
  p95Ms: number
}

/** Figures of one tracker at one K, over every seed. */
export interface SideFigures {
  name: string
  orders: number
  checks: number
  checksPerOrder: number
  /** Most checks in any rolling 24 h window, the worst seed. */
  maxChecksIn24h: number
  /** Checks the local quota refused + 429s from upstream. */
  refusals: number
  /** Creations refused by the `create` partition. */
  createRefusals: number
  /** Orders whose first check (the subscriber's) was refused: not followed, not measured. */
  failedFollows: number
  pooled: Delays
  byKind: Record<ChangeKindName, Delays>
  /** Pooled p95 of each seed. */
  p95BySeed: number[]
  /** [hours after start, checks in the trailing 24 h] every 15 simulated minutes (first seed). */
  windowSeries: Array<[number, number]>
  realMs: number
}

/** One K. */
export interface KFigures {
  k: number
  partition: number
  trackgate: SideFigures
  roundRobin: SideFigures
  previous: SideFigures
  /** Every fixed interval tried; `bestFixed` is the one of lowest pooled p95. */
  fixed: SideFigures[]
  bestFixed: SideFigures
  /** 60 s polling without quota (first seed only): the demand. */
  demand: SideFigures
  targets: Array<{ target: string, value: string, met: boolean }>
}

/** The whole result. */
export interface QuotaBenchResult {
  seeds: number[]
  smoke: boolean
  quotaLimit: number
  pollShare: number
  workload: Omit<WorkloadShape, 'k' | 'seed'>
  settings: Omit<WorldSettings, 'confirmMs' | 'outputConfirmMs' | 'phaseMs' | 'quotaReserve'> & { refreshMs: number, startIso: string, lagsPerSeed: Array<{ seed: number, confirmMs: number, outputConfirmMs: number, phaseMs: number }> }
  runs: KFigures[]
}

/** Formats ms as `1 h 05 min` / `4 min 02 s` / `42 s`. */
export function duration (ms: number | null): string {
  if (ms === null) return 'never'
  if (Number.isNaN(ms)) return '–'
  if (!Number.isFinite(ms)) return '∞'
  if (ms < MINUTE) return `${Math.round(ms / 1000)} s`
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min ${String(Math.round((ms % MINUTE) / 1000)).padStart(2, '0')} s`
  return `${Math.floor(ms / HOUR)} h ${String(Math.round((ms % HOUR) / MINUTE)).padStart(2, '0')} min`
}

type MakeTracker = (ctx: WorldContext, seed: number, settings: WorldSettings) => Tracker

interface Accumulator {
  name: string
  orders: number
  checks: number
  maxIn24h: number
  refusals: number
  createRefusals: number
  failedFollows: number
  delays: ChangeDelay[]
  p95BySeed: number[]
  windowSeries: Array<[number, number]>
  realMs: number
}

function figures (a: Accumulator): SideFigures {
  const byKind = Object.fromEntries(CHANGE_KINDS.map((k) => [k, delayFigures(a.delays.filter((d) => d.kind === k).map((d) => d.delay))])) as Record<ChangeKindName, Delays>
  return {
    name: a.name,
    orders: a.orders,
    checks: a.checks,
    checksPerOrder: a.orders === 0 ? Number.NaN : a.checks / a.orders,
    maxChecksIn24h: a.maxIn24h,
    refusals: a.refusals,
    createRefusals: a.createRefusals,
    failedFollows: a.failedFollows,
    pooled: delayFigures(a.delays.map((d) => d.delay)),
    byKind,
    p95BySeed: a.p95BySeed,
    windowSeries: a.windowSeries,
    realMs: Math.round(a.realMs)
  }
}

async function measure (name: string, k: number, seeds: readonly number[], opts: QuotaBenchOptions, make: MakeTracker, unlimited = false): Promise<SideFigures> {
  const a: Accumulator = { name, orders: 0, checks: 0, maxIn24h: 0, refusals: 0, createRefusals: 0, failedFollows: 0, delays: [], p95BySeed: [], windowSeries: [], realMs: 0 }
  for (const seed of seeds) {
    const { shape, settings } = shapeFor(k, seed, opts.smoke, opts.quotaLimit, opts.pollShare)
    const world = unlimited ? { ...settings, quotaLimit: UNLIMITED, quotaReserve: Math.floor(UNLIMITED * (1 - settings.pollShare) / 2) } : settings
    const started = performance.now()
    const out = await runDay(planWorkload(shape), world, (ctx) => make(ctx, seed, world), seed)
    a.realMs += performance.now() - started
    // An order whose first check was refused is not followed: counted as refused (its changes are not measured).
    a.failedFollows += out.failures.length
    if (out.simChecks !== out.checkTimes.length) throw new Error(`${name}: the simulator counted ${out.simChecks} checks, the world ${out.checkTimes.length}`)
    const delays = changeDelays(out.timelines.values())
    a.orders += out.orders
    a.checks += out.checkTimes.length
    a.maxIn24h = Math.max(a.maxIn24h, maxInWindow(out.checkTimes, DAY_MS))
    a.refusals += out.refusals + out.upstreamRefusals
    a.createRefusals += out.createRefusals
    a.delays.push(...delays)
    a.p95BySeed.push(delayFigures(delays.map((d) => d.delay)).p95Ms)
    if (a.windowSeries.length === 0) a.windowSeries = out.windowSeries.map(([t, n]) => [Math.round(t / HOUR * 100) / 100, n])
  }
  return figures(a)
}

/** Fixed intervals tried for the hindsight baseline, minutes. */
const FIXED_GRID_MIN = [2, 5, 10, 20, 40, 80, 160]

/** Runs every K; `onProgress` is told when each tracker of each K is done. */
export async function runQuotaBenchmark (opts: QuotaBenchOptions, onProgress: (line: string) => void = () => {}): Promise<QuotaBenchResult> {
  const config = defaultConfig()
  const timings = { pollIntervalMs: config.pollIntervalMs, pollWaitingPaymentMs: config.pollWaitingPaymentMs, pollMaxIntervalMs: config.pollMaxIntervalMs }
  const quotaLimit = opts.quotaLimit ?? 1000
  const pollShare = opts.pollShare ?? DEFAULT_POLL_SHARE
  const runs: KFigures[] = []
  const say = (s: SideFigures, k: number): SideFigures => {
    onProgress(`K=${k} ${s.name}: ${s.checks} checks, p95 ${duration(s.pooled.p95Ms)}, ${(s.realMs / 1000).toFixed(1)} s real time`)
    return s
  }
  for (const k of opts.ks) {
    const { settings } = shapeFor(k, opts.seeds[0] ?? 1, opts.smoke, quotaLimit, pollShare)
    const partition = pollLimit(settings)
    const trackgate = say(await measure('trackgate', k, opts.seeds, opts, (ctx, seed) => trackgateTracker(ctx, seed)), k)
    const spacing = DAY_MS / partition
    const roundRobin = say(await measure(`round-robin (1 check / ${Math.round(spacing / 1000)} s)`, k, opts.seeds, opts, (ctx) => roundRobinTracker(ctx, spacing)), k)
    const previous = say(await measure('previous scheduler', k, opts.seeds, opts, (ctx) => previousTracker(ctx, timings)), k)
    const fixed: SideFigures[] = []
    for (const m of opts.smoke ? [2, 10] : FIXED_GRID_MIN) fixed.push(say(await measure(`fixed ${m} min`, k, opts.seeds, opts, (ctx) => fixedIntervalTracker(ctx, m * MINUTE)), k))
    const bestFixed = fixed.reduce((best, f) => f.pooled.p95Ms < best.pooled.p95Ms ? f : best)
    const demand = say(await measure('60 s, no quota (demand)', k, opts.seeds.slice(0, 1), opts, (ctx) => fixedIntervalTracker(ctx, BASELINE_INTERVAL_MS), true), k)
    const p95 = trackgate.pooled.p95Ms
    const goal = k <= 5 ? 2 * MINUTE : k <= 20 ? 5 * MINUTE : 30 * MINUTE
    const rr = ratio(roundRobin.pooled.p95Ms, p95)
    const targets = [
      { target: `pooled detection p95 ≤ ${duration(goal)}`, value: duration(p95), met: p95 <= goal },
      { target: 'p95 ≥ ×3 better than round-robin', value: Number.isFinite(rr) ? `×${rr.toFixed(2)}` : '–', met: rr >= 3 },
      { target: `never over the partition (≤ ${partition} checks in any 24 h)`, value: `max ${trackgate.maxChecksIn24h}`, met: trackgate.maxChecksIn24h <= partition },
      { target: '0 refusals', value: `${trackgate.refusals} checks (${trackgate.failedFollows} first checks of new orders), ${trackgate.createRefusals} creations`, met: trackgate.refusals === 0 && trackgate.createRefusals === 0 }
    ]
    runs.push({ k, partition, trackgate, roundRobin, previous, fixed, bestFixed, demand, targets })
  }
  const { shape, settings } = shapeFor(opts.ks[0] ?? 1, opts.seeds[0] ?? 1, opts.smoke, quotaLimit, pollShare)
  const { k: _k, seed: _s, ...workload } = shape
  const { confirmMs: _c, outputConfirmMs: _o, phaseMs: _p, quotaReserve: _r, ...rest } = settings
  return {
    seeds: opts.seeds,
    smoke: opts.smoke,
    quotaLimit,
    pollShare,
    workload,
    settings: {
      ...rest,
      refreshMs: 60_000,
      startIso: new Date(T0).toISOString(),
      lagsPerSeed: opts.seeds.map((seed) => {
        const s = shapeFor(1, seed, opts.smoke, quotaLimit, pollShare).settings
        return { seed, confirmMs: s.confirmMs, outputConfirmMs: s.outputConfirmMs, phaseMs: s.phaseMs }
      })
    },
    runs
  }
}
